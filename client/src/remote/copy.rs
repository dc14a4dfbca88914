//! Copying a policy between registries with everything attached to it: cosign's `sha256-<hex>.sig`,
//! `.att` and `.sbom` tags, the referrers-tag index, and the OCI 1.1 referrers (signature bundles, SBOMs).
//! Manifests and blobs are copied byte for byte, so digests, and the signatures made on them, hold.
//! The same walk gathers them in memory ([`Remote::attachments`]), for archives that carry them.

use std::collections::BTreeMap;

use super::client::Remote;
use super::repository::{FetchedManifest, Repository};
use crate::error::{ClientError, Result};
use artifact::cosign::{ATTACHED_TAG_SUFFIXES, referrers_tag};
use artifact::oci::Digest;
use artifact::oci::manifest::ManifestLinks;
use artifact::reference::RegistryRef;

/// What a copy carried over.
#[derive(Debug, Clone)]
pub struct Copied {
    /// The policy's manifest digest (the same on both sides).
    pub digest: Digest,
    /// What came along: attached tags and referrer digests.
    pub attached: Vec<String>,
}

/// Everything attached to a policy, gathered: each manifest under the tag or digest it had in its
/// repository (an index's manifests under their digests, before it), and every blob they name.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    /// The manifests, each with its tag (`sha256-<hex>.sig`…) or digest, in the order they were found.
    pub manifests: Vec<(String, FetchedManifest)>,
    /// The blobs of those manifests, by digest.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
}

/// Where a walk puts what it finds: a repository of a registry, or [`Attachments`] in memory.
trait Sink {
    async fn has_blob(&mut self, digest: &Digest) -> Result<bool>;
    async fn put_blob(&mut self, digest: &Digest, bytes: Vec<u8>) -> Result<()>;
    async fn put_manifest(&mut self, tag_or_digest: &str, manifest: &FetchedManifest)
    -> Result<()>;
}

impl Sink for &Repository {
    async fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        Repository::has_blob(self, digest).await
    }

    async fn put_blob(&mut self, digest: &Digest, bytes: Vec<u8>) -> Result<()> {
        self.upload_blob(digest, bytes).await
    }

    async fn put_manifest(
        &mut self,
        tag_or_digest: &str,
        manifest: &FetchedManifest,
    ) -> Result<()> {
        self.push_manifest(tag_or_digest, &manifest.bytes, &manifest.media_type)
            .await
            .map(drop)
    }
}

impl Sink for Attachments {
    async fn has_blob(&mut self, digest: &Digest) -> Result<bool> {
        Ok(self.blobs.contains_key(digest))
    }

    async fn put_blob(&mut self, digest: &Digest, bytes: Vec<u8>) -> Result<()> {
        self.blobs.insert(digest.clone(), bytes);
        Ok(())
    }

    async fn put_manifest(
        &mut self,
        tag_or_digest: &str,
        manifest: &FetchedManifest,
    ) -> Result<()> {
        self.manifests
            .push((tag_or_digest.to_string(), manifest.clone()));
        Ok(())
    }
}

impl Remote {
    /// Copies the policy at `source` to `target`, with its signatures, attestations and referrers.
    pub async fn copy(&self, source: &RegistryRef, target: &RegistryRef) -> Result<Copied> {
        let from = self.repository(source).await?;
        let to = self.repository(target).await?;
        let policy = from.resolve().await?;
        let digest = policy.digest();
        let tag_or_digest = target.tag.clone().unwrap_or_else(|| digest.to_string());
        copy_manifest(&from, &mut &to, &policy, &tag_or_digest).await?;
        let attached = copy_attached(&from, &mut &to, &digest).await?;
        Ok(Copied { digest, attached })
    }

    /// Everything attached to the policy with manifest `digest` in the repository of `source`: what
    /// [`Remote::copy`] would carry along with it.
    pub async fn attachments(&self, source: &RegistryRef, digest: &Digest) -> Result<Attachments> {
        let from = self.repository(source).await?;
        let mut attachments = Attachments::default();
        copy_attached(&from, &mut attachments, digest).await?;
        Ok(attachments)
    }
}

/// Copies the attached tags and referrers of `digest` into `to`; returns their tags and digests.
async fn copy_attached(
    from: &Repository,
    to: &mut impl Sink,
    digest: &Digest,
) -> Result<Vec<String>> {
    let mut attached = Vec::new();
    for suffix in ATTACHED_TAG_SUFFIXES {
        let tag = format!("{}{suffix}", referrers_tag(digest));
        if let Some(manifest) = from.manifest(&tag).await? {
            copy_manifest(from, to, &manifest, &tag).await?;
            attached.push(tag);
        }
    }
    for referrer in from.referrers(digest, None).await? {
        let name = referrer.digest.to_string();
        if let Some(manifest) = from.manifest(&name).await? {
            copy_manifest(from, to, &manifest, &name).await?;
            attached.push(name);
        }
    }
    Ok(attached)
}

/// Copies one manifest (an index with its manifests) and its blobs to `tag_or_digest` of `to`.
async fn copy_manifest(
    from: &Repository,
    to: &mut impl Sink,
    manifest: &FetchedManifest,
    tag_or_digest: &str,
) -> Result<()> {
    let parsed = parse(from, manifest)?;
    for child in &parsed.manifests {
        let name = child.digest.to_string();
        let child_manifest = from
            .manifest(&name)
            .await?
            .ok_or_else(|| ClientError::NotFound {
                what: from.at(&name).to_string(),
            })?;
        copy_blobs(from, to, &parse(from, &child_manifest)?).await?;
        to.put_manifest(&name, &child_manifest).await?;
    }
    copy_blobs(from, to, &parsed).await?;
    to.put_manifest(tag_or_digest, manifest).await
}

fn parse(from: &Repository, manifest: &FetchedManifest) -> Result<ManifestLinks> {
    serde_json::from_slice(&manifest.bytes).map_err(|err| ClientError::Registry {
        registry: from.reference().registry.clone(),
        reason: format!("manifest {} is not a manifest: {err}", manifest.digest()),
    })
}

async fn copy_blobs(from: &Repository, to: &mut impl Sink, manifest: &ManifestLinks) -> Result<()> {
    for descriptor in manifest.blobs() {
        if !to.has_blob(&descriptor.digest).await? {
            let bytes = from.blob(&descriptor.digest).await?;
            to.put_blob(&descriptor.digest, bytes).await?;
        }
    }
    Ok(())
}
