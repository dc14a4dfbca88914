//! Manifests, tags, referrers and the repository catalog.
//!
//! A manifest's bytes go to the blob store first, then its link, then its referrer entry, then its tag: each step
//! is one atomic file, and none points at something not yet written.

use std::path::Path;

use artifact::oci::Digest;
use bytes::Bytes;

use super::catalog;
use super::folder::LocalStorage;
use super::pending;
use crate::errors::{RegistryError, Result};
use crate::manifest::{Descriptor, subject_of};
use crate::names::{Reference, RepoName, Tag};
use crate::storage::backend::StoredManifest;

/// Stores a manifest, its referrer entry and its tag, in that order.
pub async fn put(
    storage: &LocalStorage,
    repo: &RepoName,
    manifest: &StoredManifest,
    referrer_of: Option<(&Digest, &Descriptor)>,
    tag: Option<&Tag>,
) -> Result<()> {
    let fs = &storage.fs;
    let layout = &storage.layout;
    fs.write_atomic(&layout.blob(&manifest.digest), &manifest.bytes)
        .await?;
    fs.write_atomic(
        &layout.manifest_link(repo, &manifest.digest),
        manifest.media_type.as_bytes(),
    )
    .await?;
    if let Some((subject, descriptor)) = referrer_of {
        let json = serde_json::to_vec(descriptor)
            .map_err(|e| RegistryError::ManifestInvalid(e.to_string()))?;
        fs.write_atomic(&layout.referrer(repo, subject, &manifest.digest), &json)
            .await?;
    }
    if let Some(tag) = tag {
        fs.write_atomic(
            &layout.tag(repo, tag),
            manifest.digest.to_string().as_bytes(),
        )
        .await?;
    }
    catalog::changed(&storage.catalog, repo).await
}

/// The manifest a tag or digest names in `repo`.
pub async fn get(
    storage: &LocalStorage,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<StoredManifest>> {
    let Some(digest) = resolve(storage, repo, reference).await? else {
        return Ok(None);
    };
    let link = storage.layout.manifest_link(repo, &digest);
    let Some(media_type) = storage.fs.read_optional(&link).await? else {
        return Ok(None);
    };
    let media_type = String::from_utf8(media_type).map_err(|_| RegistryError::Corrupt {
        path: link.clone(),
        reason: "the media type is not UTF-8".into(),
    })?;
    let Some(bytes) = storage
        .fs
        .read_optional(&storage.layout.blob(&digest))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredManifest {
        bytes: Bytes::from(bytes),
        media_type,
        digest,
    }))
}

/// The digest a reference stands for, reading the tag file for tags.
async fn resolve(
    storage: &LocalStorage,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<Digest>> {
    match reference {
        Reference::Digest(digest) => Ok(Some(digest.clone())),
        Reference::Tag(tag) => {
            let path = storage.layout.tag(repo, tag);
            match storage.fs.read_optional(&path).await? {
                None => Ok(None),
                Some(bytes) => parse_tag_file(&path, &bytes).map(Some),
            }
        }
    }
}

fn parse_tag_file(path: &Path, bytes: &[u8]) -> Result<Digest> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RegistryError::Corrupt {
            path: path.to_path_buf(),
            reason: "a tag file must hold one digest".into(),
        })
}

/// Deletes a tag, or a manifest together with its tags and referrer entry.
pub async fn delete(
    storage: &LocalStorage,
    repo: &RepoName,
    reference: &Reference,
) -> Result<bool> {
    let digest = match reference {
        Reference::Tag(tag) => {
            let waited = pending::forget(storage, repo, tag).await?;
            let deleted = storage
                .fs
                .remove_file(&storage.layout.tag(repo, tag))
                .await?
                || waited;
            if deleted {
                catalog::changed(&storage.catalog, repo).await?;
            }
            return Ok(deleted);
        }
        Reference::Digest(digest) => digest,
    };
    let Some(manifest) = get(storage, repo, reference).await? else {
        return Ok(false);
    };
    pending::forget_digest(storage, repo, digest).await?;
    for tag in storage.fs.list_dir(&storage.layout.tags(repo)).await? {
        let path = storage.layout.tags(repo).join(&tag);
        let points_here = storage
            .fs
            .read_optional(&path)
            .await?
            .is_some_and(|bytes| bytes == digest.to_string().as_bytes());
        if points_here {
            storage.fs.remove_file(&path).await?;
        }
    }
    if let Some(subject) = subject_of(&manifest.bytes) {
        storage
            .fs
            .remove_file(&storage.layout.referrer(repo, &subject, digest))
            .await?;
    }
    let deleted = storage
        .fs
        .remove_file(&storage.layout.manifest_link(repo, digest))
        .await?;
    catalog::changed(&storage.catalog, repo).await?;
    Ok(deleted)
}

/// The tags of a repository, or `None` if the repository does not exist.
pub async fn tags(storage: &LocalStorage, repo: &RepoName) -> Result<Option<Vec<String>>> {
    let dir = storage.layout.repo(repo);
    let exists = tokio::fs::try_exists(&dir)
        .await
        .map_err(|e| storage.fs.err("checking", &dir, e))?;
    if !exists {
        return Ok(None);
    }
    storage
        .fs
        .list_dir(&storage.layout.tags(repo))
        .await
        .map(Some)
}

/// The descriptors of the manifests of `repo` whose subject is `subject`.
pub async fn referrers(
    storage: &LocalStorage,
    repo: &RepoName,
    subject: &Digest,
) -> Result<Vec<Descriptor>> {
    let dir = storage.layout.referrers(repo, subject);
    let mut found = Vec::new();
    for name in storage.fs.list_dir(&dir).await? {
        let path = dir.join(name);
        let Some(bytes) = storage.fs.read_optional(&path).await? else {
            continue;
        };
        let descriptor: Descriptor =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
                path: path.clone(),
                reason: format!("not a descriptor: {e}"),
            })?;
        found.push(descriptor);
    }
    Ok(found)
}
