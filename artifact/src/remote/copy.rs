//! Copying a policy between registries with everything attached to it: cosign's `sha256-<hex>.sig`,
//! `.att` and `.sbom` tags, the referrers-tag index, and the OCI 1.1 referrers (signature bundles, SBOMs).
//! Manifests and blobs are copied byte for byte, so digests, and the signatures made on them, hold.

use serde::Deserialize;

use super::{Remote, Session};
use crate::error::{ArtifactError, Result};
use crate::oci::manifest::Descriptor;
use crate::oci::{Digest, media_types};
use crate::reference::RegistryRef;

/// Every manifest media type a copy carries over.
const MANIFEST_TYPES: [&str; 4] = [
    media_types::OCI_MANIFEST,
    media_types::OCI_INDEX,
    media_types::DOCKER_MANIFEST,
    media_types::DOCKER_MANIFEST_LIST,
];

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
#[serde(rename_all = "camelCase")]
struct AnyManifest {
    media_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Remote {
    /// Copies the policy at `source` to `target`, with its signatures, attestations and referrers.
    pub async fn copy(&self, source: &RegistryRef, target: &RegistryRef) -> Result<Copied> {
        let from = self.connect(source).await?;
        let to = self.connect(target).await?;
        let digest = copy_manifest(&from, &to, source, target).await?;
        let pinned = source.with_digest(digest.clone());
        let mut attached = Vec::new();
        for suffix in ATTACHED_TAG_SUFFIXES {
            let tag = format!("{}-{}{suffix}", digest.algorithm(), digest.hex());
            let tagged = |reference: &RegistryRef| RegistryRef {
                tag: Some(tag.clone()),
                digest: None,
                ..reference.clone()
            };
            match copy_manifest(&from, &to, &tagged(source), &tagged(target)).await {
                Ok(_) => attached.push(tag),
                Err(ArtifactError::NotFound { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        let referrers = from
            .call_at(&pinned, |client, reference| async move {
                client.pull_referrers(&reference, None).await
            })
            .await;
        match referrers {
            Ok(index) => {
                for referrer in index.manifests {
                    let referrer_digest: Digest = referrer.digest.parse()?;
                    let at = |reference: &RegistryRef| RegistryRef {
                        tag: None,
                        digest: Some(referrer_digest.clone()),
                        ..reference.clone()
                    };
                    copy_manifest(&from, &to, &at(source), &at(target)).await?;
                    attached.push(referrer_digest.to_string());
                }
            }
            Err(ArtifactError::NotFound { .. }) => {}
            Err(err) => return Err(err),
        }
        Ok(Copied { digest, attached })
    }
}

/// Copies one manifest (an index with its manifests) and its blobs; returns its digest.
async fn copy_manifest(
    from: &Session,
    to: &Session,
    source: &RegistryRef,
    target: &RegistryRef,
) -> Result<Digest> {
    let (bytes, media_type) = fetch_manifest(from, source).await?;
    let parsed: AnyManifest =
        serde_json::from_slice(&bytes).map_err(|err| ArtifactError::Registry {
            registry: source.registry.clone(),
            reason: format!("{source} is not a manifest: {err}"),
        })?;
    for child in &parsed.manifests {
        let at = |reference: &RegistryRef| RegistryRef {
            tag: None,
            digest: Some(child.digest.clone()),
            ..reference.clone()
        };
        let (child_bytes, child_type) = fetch_manifest(from, &at(source)).await?;
        let child_manifest: AnyManifest =
            serde_json::from_slice(&child_bytes).map_err(|err| ArtifactError::Registry {
                registry: source.registry.clone(),
                reason: format!("{} is not a manifest: {err}", at(source)),
            })?;
        copy_blobs(from, to, source, target, &child_manifest).await?;
        push_manifest(to, &at(target), child_bytes, &child_type).await?;
    }
    copy_blobs(from, to, source, target, &parsed).await?;
    let digest = Digest::sha256_of(&bytes);
    push_manifest(
        to,
        target,
        bytes,
        parsed.media_type.as_deref().unwrap_or(&media_type),
    )
    .await?;
    Ok(digest)
}

/// The manifest at `source`, checked against its digest when pinned, with its media type.
async fn fetch_manifest(from: &Session, source: &RegistryRef) -> Result<(Vec<u8>, String)> {
    let (bytes, _) = from
        .call_at(source, |client, reference| async move {
            client
                .pull_manifest_raw(
                    &reference,
                    &oci_client::secrets::RegistryAuth::Anonymous,
                    &MANIFEST_TYPES,
                )
                .await
        })
        .await?;
    let bytes = bytes.to_vec();
    if let Some(expected) = &source.digest
        && !expected.matches(&bytes)
    {
        return Err(ArtifactError::DigestMismatch {
            what: format!("the manifest of {source}"),
            actual: Digest::compute(expected.algorithm(), &bytes),
        });
    }
    let media_type = serde_json::from_slice::<AnyManifest>(&bytes)
        .ok()
        .and_then(|m| m.media_type)
        .unwrap_or_else(|| media_types::OCI_MANIFEST.to_string());
    Ok((bytes, media_type))
}

async fn copy_blobs(
    from: &Session,
    to: &Session,
    source: &RegistryRef,
    target: &RegistryRef,
    manifest: &AnyManifest,
) -> Result<()> {
    for descriptor in manifest.config.iter().chain(&manifest.layers) {
        let digest = descriptor.digest.to_string();
        let exists = to
            .call_at(target, |client, reference| {
                let digest = digest.clone();
                async move { client.blob_exists(&reference, &digest).await }
            })
            .await?;
        if exists {
            continue;
        }
        let bytes = from.pull_blob_at(source, &descriptor.digest).await?;
        if !descriptor.digest.matches(&bytes) {
            return Err(ArtifactError::DigestMismatch {
                what: format!("blob {} of {source}", descriptor.digest),
                actual: Digest::compute(descriptor.digest.algorithm(), &bytes),
            });
        }
        to.call_at(target, |client, reference| {
            let (bytes, digest) = (bytes.clone(), digest.clone());
            async move { client.push_blob(&reference, bytes, &digest).await }
        })
        .await?;
    }
    Ok(())
}

async fn push_manifest(
    to: &Session,
    target: &RegistryRef,
    bytes: Vec<u8>,
    media_type: &str,
) -> Result<()> {
    let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| {
        ArtifactError::Registry {
            registry: target.registry.clone(),
            reason: format!("media type {media_type:?} cannot be sent as a header"),
        }
    })?;
    to.call_at(target, |client, reference| {
        let (bytes, content_type) = (bytes.clone(), content_type.clone());
        async move {
            client
                .push_manifest_raw(&reference, bytes, content_type)
                .await
        }
    })
    .await?;
    Ok(())
}
