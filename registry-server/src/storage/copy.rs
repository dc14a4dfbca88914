//! Copying a registry's content from one storage to another (a folder into object storage and PostgreSQL, and
//! back): every tag, the manifests it reaches (an index's entries, referrers) and their blobs, each checked against
//! its digest on the way. Whatever the target already holds is skipped, so an interrupted copy resumes where it
//! stopped. Content no tag reaches is what garbage collection would remove, and is not copied.

use std::collections::HashSet;

use artifact::oci::Digest;
use serde::Serialize;

use super::backend::{Storage, StoredManifest, Upload};
use crate::errors::{RegistryError, Result};
use crate::manifest;
use crate::names::{Reference, RepoName, Tag};

/// What a copy did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// Repositories copied.
    pub repositories: usize,
    /// Tags set in the target.
    pub tags: usize,
    /// Manifests stored in the target.
    pub manifests: usize,
    /// Blobs copied.
    pub blobs: usize,
    /// Bytes of the blobs copied.
    pub bytes: u64,
    /// Blobs the target already held (from an earlier, interrupted copy).
    pub blobs_already_there: usize,
}

/// Copies every repository of `from` into `to`; `progress` is told each repository as it starts.
pub async fn copy_all<F: Storage, T: Storage>(
    from: &F,
    to: &T,
    progress: impl Fn(&str),
) -> Result<CopyReport> {
    let mut report = CopyReport::default();
    for name in from.repositories().await? {
        let repo = RepoName::parse(&name)?;
        progress(&name);
        let mut copy = RepositoryCopy {
            from,
            to,
            repo: &repo,
            done: HashSet::new(),
            blobs_done: HashSet::new(),
            report: &mut report,
        };
        for tag in from.tags(&repo).await?.unwrap_or_default() {
            let tag = Tag::parse(&tag)?;
            let Some(stored) = from
                .get_manifest(&repo, &Reference::Tag(tag.clone()))
                .await?
            else {
                continue;
            };
            copy.manifest(stored.digest, Some(&tag)).await?;
        }
        report.repositories += 1;
    }
    Ok(report)
}

/// One repository being copied.
struct RepositoryCopy<'a, F, T> {
    from: &'a F,
    to: &'a T,
    repo: &'a RepoName,
    /// Manifests stored already, so that a graph with shared parts is walked once.
    done: HashSet<Digest>,
    /// Blobs the target holds, copied or found.
    blobs_done: HashSet<Digest>,
    report: &'a mut CopyReport,
}

impl<F: Storage, T: Storage> RepositoryCopy<'_, F, T> {
    /// Copies the manifest `digest` (an index's entries and every blob first, so that the target accepts it), tags
    /// it with `tag`, then copies its referrers.
    async fn manifest(&mut self, digest: Digest, tag: Option<&Tag>) -> Result<()> {
        // (manifest, tag, whether what it needs is copied already)
        let mut pending = vec![(digest, tag.cloned(), false)];
        while let Some((digest, tag, needs_copied)) = pending.pop() {
            if self.done.contains(&digest) && tag.is_none() {
                continue;
            }
            let stored = self.source_manifest(&digest).await?;
            let checked = manifest::check(Some(&stored.media_type), &stored.bytes)?;
            if !needs_copied && !self.done.contains(&digest) {
                pending.push((digest, tag, true));
                pending.extend(
                    checked
                        .manifests
                        .iter()
                        .map(|child| (child.clone(), None, false)),
                );
                continue;
            }
            for blob in &checked.blobs {
                self.blob(blob).await?;
            }
            let descriptor = checked.descriptor(digest.clone(), stored.bytes.len() as u64);
            let referrer_of = checked
                .subject
                .as_ref()
                .map(|subject| (subject, &descriptor));
            self.to
                .put_manifest(self.repo, &stored, referrer_of, tag.as_ref())
                .await?;
            self.report.tags += usize::from(tag.is_some());
            if self.done.insert(digest.clone()) {
                self.report.manifests += 1;
                for referrer in self.from.referrers(self.repo, &digest).await? {
                    pending.push((referrer.digest, None, false));
                }
            }
        }
        Ok(())
    }

    /// The manifest `digest` of the source, checked against its digest.
    async fn source_manifest(&self, digest: &Digest) -> Result<StoredManifest> {
        let stored = self
            .from
            .get_manifest(self.repo, &Reference::Digest(digest.clone()))
            .await?
            .ok_or_else(|| RegistryError::ManifestUnknown {
                reference: format!("{}@{digest}", self.repo),
            })?;
        if !digest.matches(&stored.bytes) {
            return Err(RegistryError::Corrupt {
                path: format!("{}@{digest}", self.repo).into(),
                reason: "the source's manifest does not hash to its digest".into(),
            });
        }
        Ok(stored)
    }

    /// Copies a blob unless the target holds it; the target checks it against its digest as it arrives.
    async fn blob(&mut self, digest: &Digest) -> Result<()> {
        if !self.blobs_done.insert(digest.clone()) {
            return Ok(());
        }
        if self.to.keep_blob(self.repo, digest).await?.is_some() {
            self.report.blobs_already_there += 1;
            return Ok(());
        }
        let size = self
            .from
            .blob_size(self.repo, digest)
            .await?
            .ok_or_else(|| RegistryError::ManifestBlobUnknown {
                digest: digest.to_string(),
            })?;
        let content = self.from.read_blob(self.repo, digest, 0, size).await?;
        let upload = Upload {
            body: content.stream,
            declared_len: Some(size),
        };
        self.to.put_blob(self.repo, digest, upload).await?;
        self.report.blobs += 1;
        self.report.bytes += size;
        Ok(())
    }
}
