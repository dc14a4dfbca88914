//! Copying a policy between registries with everything attached to it: cosign's `sha256-<hex>.sig`,
//! `.att` and `.sbom` tags, the referrers-tag index, and the OCI 1.1 referrers (signature bundles, SBOMs).
//! Manifests and blobs are copied byte for byte, so digests, and the signatures made on them, hold.

use serde::Deserialize;

use super::{FetchedManifest, Remote, Repository};
use crate::error::{ArtifactError, Result};
use crate::oci::Digest;
use crate::oci::manifest::Descriptor;
use crate::reference::RegistryRef;

/// The tag suffixes cosign and the referrers tag schema attach to `sha256-<hex>`.
const ATTACHED_TAG_SUFFIXES: [&str; 4] = ["", ".sig", ".att", ".sbom"];

/// What a copy carried over.
#[derive(Debug, Clone)]
pub struct Copied {
    /// The policy's manifest digest (the same on both sides).
    pub digest: Digest,
    /// What came along: attached tags and referrer digests.
    pub attached: Vec<String>,
}

/// The parts of any manifest or index a copy needs.
#[derive(Deserialize)]
struct AnyManifest {
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Remote {
    /// Copies the policy at `source` to `target`, with its signatures, attestations and referrers.
    pub async fn copy(&self, source: &RegistryRef, target: &RegistryRef) -> Result<Copied> {
        let from = self.repository(source).await?;
        let to = self.repository(target).await?;
        let policy = from.resolve().await?;
        let digest = policy.digest();
        let tag_or_digest = target.tag.clone().unwrap_or_else(|| digest.to_string());
        copy_manifest(&from, &to, &policy, &tag_or_digest).await?;
        let mut attached = Vec::new();
        for suffix in ATTACHED_TAG_SUFFIXES {
            let tag = format!("{}-{}{suffix}", digest.algorithm(), digest.hex());
            if let Some(manifest) = from.manifest(&tag).await? {
                copy_manifest(&from, &to, &manifest, &tag).await?;
                attached.push(tag);
            }
        }
        for referrer in from.referrers(&digest, None).await? {
            let name = referrer.digest.to_string();
            if let Some(manifest) = from.manifest(&name).await? {
                copy_manifest(&from, &to, &manifest, &name).await?;
                attached.push(name);
            }
        }
        Ok(Copied { digest, attached })
    }
}

/// Copies one manifest (an index with its manifests) and its blobs to `tag_or_digest` of `to`.
async fn copy_manifest(
    from: &Repository,
    to: &Repository,
    manifest: &FetchedManifest,
    tag_or_digest: &str,
) -> Result<()> {
    let parsed = parse(from, manifest)?;
    for child in &parsed.manifests {
        let name = child.digest.to_string();
        let child_manifest =
            from.manifest(&name)
                .await?
                .ok_or_else(|| ArtifactError::NotFound {
                    what: from.at(&name).to_string(),
                })?;
        copy_blobs(from, to, &parse(from, &child_manifest)?).await?;
        to.push_manifest(&name, &child_manifest.bytes, &child_manifest.media_type)
            .await?;
    }
    copy_blobs(from, to, &parsed).await?;
    to.push_manifest(tag_or_digest, &manifest.bytes, &manifest.media_type)
        .await?;
    Ok(())
}

fn parse(from: &Repository, manifest: &FetchedManifest) -> Result<AnyManifest> {
    serde_json::from_slice(&manifest.bytes).map_err(|err| ArtifactError::Registry {
        registry: from.reference().registry.clone(),
        reason: format!("manifest {} is not a manifest: {err}", manifest.digest()),
    })
}

async fn copy_blobs(from: &Repository, to: &Repository, manifest: &AnyManifest) -> Result<()> {
    for descriptor in manifest.config.iter().chain(&manifest.layers) {
        if !to.has_blob(&descriptor.digest).await? {
            let bytes = from.blob(&descriptor.digest).await?;
            to.upload_blob(&descriptor.digest, bytes).await?;
        }
    }
    Ok(())
}
