//! What the hub knows of a repository: the tags that name policies, each with its description and what is attached
//! to it (cosign signatures and attestations, Sigstore bundles, SBOMs), read from the storage. The storage's catalog
//! keeps one [`Repository`] per repository; a repository is read again only when it changes.

use std::collections::HashMap;

use artifact::cosign::{
    ATTESTATION_TAG_SUFFIX, CYCLONEDX_JSON, SBOM_TAG_SUFFIX, SIGNATURE_TAG_SUFFIX,
    SIGSTORE_BUNDLE_PREFIX, SPDX_JSON, referrers_tag,
};
use artifact::oci::Digest;
use serde::{Deserialize, Serialize};

use super::module::{self, Policy};
use crate::errors::{RegistryError, Result};
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};
use crate::storage::{Storage, StoredManifest};
use crate::trust::{self, TrustPolicy, Verdict};

/// A signature or an SBOM attached to a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// What it is.
    pub kind: AttachmentKind,
    /// The digest of the manifest that carries it.
    pub manifest: Digest,
    /// The tag that names it, for cosign's tag layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The blob holding the document itself (bundle, SBOM), to download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Digest>,
}

/// What an [`Attachment`] is; its name is what the pages and the API show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttachmentKind {
    /// A cosign signature (a `.sig` tag).
    Cosign,
    /// A cosign attestation (an `.att` tag).
    CosignAttestation,
    /// A Sigstore bundle referrer.
    SigstoreBundle,
    /// An SPDX document referrer.
    Spdx,
    /// A CycloneDX document referrer.
    Cyclonedx,
    /// An SBOM attached by cosign (a `.sbom` tag).
    CosignSbom,
}

impl AttachmentKind {
    /// The name shown: `cosign`, `cosign-attestation`, `sigstore-bundle`, `spdx`, `cyclonedx`, `cosign-sbom`.
    pub fn name(self) -> &'static str {
        match self {
            AttachmentKind::Cosign => "cosign",
            AttachmentKind::CosignAttestation => "cosign-attestation",
            AttachmentKind::SigstoreBundle => "sigstore-bundle",
            AttachmentKind::Spdx => "spdx",
            AttachmentKind::Cyclonedx => "cyclonedx",
            AttachmentKind::CosignSbom => "cosign-sbom",
        }
    }

    /// Whether it is a signature (else an SBOM).
    fn is_signature(self) -> bool {
        matches!(
            self,
            AttachmentKind::Cosign
                | AttachmentKind::CosignAttestation
                | AttachmentKind::SigstoreBundle
        )
    }
}

/// A tag that names a policy, with what is attached to the policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaggedPolicy {
    /// The tag.
    pub tag: String,
    /// The policy it names.
    pub policy: Policy,
    /// Its signatures: cosign `.sig` and `.att` tags, Sigstore bundle referrers.
    pub signatures: Vec<Attachment>,
    /// Its SBOMs: SPDX and CycloneDX referrers, cosign `.sbom` tags.
    pub sboms: Vec<Attachment>,
    /// Its signatures checked against the trust rule of the repository's prefix; `None` outside every trust prefix.
    #[serde(default)]
    pub trust: Option<Verdict>,
}

/// A repository that holds at least one policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repository {
    /// The repository name.
    pub name: String,
    /// Its policy tags, in natural order (`v2` before `v10`).
    pub policies: Vec<TaggedPolicy>,
}

impl Repository {
    /// The tag a page shows first: `latest` if it names a policy, else the last in natural order.
    pub fn default_policy(&self) -> Option<&TaggedPolicy> {
        self.tagged("latest").or_else(|| self.policies.last())
    }

    /// The policy `tag` names, if it names one.
    pub fn tagged(&self, tag: &str) -> Option<&TaggedPolicy> {
        self.policies.iter().find(|p| p.tag == tag)
    }

    /// The policy `tag` names, or the default one if `tag` is `None`; `MANIFEST_UNKNOWN` if `tag` names none.
    pub fn shown(&self, tag: Option<&str>) -> Result<&TaggedPolicy> {
        match tag {
            Some(tag) => self.tagged(tag),
            None => self.default_policy(),
        }
        .ok_or_else(|| RegistryError::ManifestUnknown {
            reference: tag.unwrap_or_default().to_string(),
        })
    }
}

/// The policies of `repository`; `None` if it holds none.
pub async fn index_repository<S: Storage>(
    storage: &S,
    repository: &RepoName,
    trust: &TrustPolicy,
) -> Result<Option<Repository>> {
    let rule = trust.rule_for(repository.as_str());
    let Some(mut tags) = storage.tags(repository).await? else {
        return Ok(None);
    };
    tags.sort_by(|a, b| natural_order(a, b));
    // Tags often name the same manifest (`latest` and a version): each is described once.
    let mut described: HashMap<Digest, Option<Policy>> = HashMap::new();
    let mut policies = Vec::new();
    for tag in &tags {
        let Some(stored) = tagged_manifest(storage, repository, tag).await? else {
            continue;
        };
        let policy = match described.get(&stored.digest) {
            Some(policy) => policy.clone(),
            None => {
                let policy = module::describe(storage, repository, &stored).await?;
                described.insert(stored.digest.clone(), policy.clone());
                policy
            }
        };
        let Some(policy) = policy else {
            continue;
        };
        let (signatures, sboms) = attachments(storage, repository, &tags, &policy.digest).await?;
        let trust = match rule {
            Some(rule) => Some(Verdict::of(
                rule,
                trust::evaluate(storage, rule, repository, &policy.digest).await?,
            )),
            None => None,
        };
        policies.push(TaggedPolicy {
            tag: tag.clone(),
            policy,
            signatures,
            sboms,
            trust,
        });
    }
    Ok((!policies.is_empty()).then(|| Repository {
        name: repository.to_string(),
        policies,
    }))
}

/// The manifest a tag names; none when the tag is not a valid tag name or names nothing.
async fn tagged_manifest<S: Storage>(
    storage: &S,
    repository: &RepoName,
    tag: &str,
) -> Result<Option<StoredManifest>> {
    let Ok(parsed) = Tag::parse(tag) else {
        return Ok(None);
    };
    storage
        .get_manifest(repository, &Reference::Tag(parsed))
        .await
}

/// The signatures and SBOMs attached to `digest`: cosign's `<alg>-<hex>.sig`, `.att` and `.sbom` tags, and the
/// referrers whose artifact type is a Sigstore bundle or an SBOM.
async fn attachments<S: Storage>(
    storage: &S,
    repository: &RepoName,
    tags: &[String],
    digest: &Digest,
) -> Result<(Vec<Attachment>, Vec<Attachment>)> {
    let mut signatures = Vec::new();
    let mut sboms = Vec::new();
    let base = referrers_tag(digest);
    for (suffix, kind) in [
        (SIGNATURE_TAG_SUFFIX, AttachmentKind::Cosign),
        (ATTESTATION_TAG_SUFFIX, AttachmentKind::CosignAttestation),
        (SBOM_TAG_SUFFIX, AttachmentKind::CosignSbom),
    ] {
        let tag = format!("{base}{suffix}");
        if !tags.contains(&tag) {
            continue;
        }
        let Some(stored) = tagged_manifest(storage, repository, &tag).await? else {
            continue;
        };
        let document = (!kind.is_signature())
            .then(|| first_layer(&stored))
            .flatten();
        let attachment = Attachment {
            kind,
            manifest: stored.digest,
            tag: Some(tag),
            document,
        };
        if kind.is_signature() {
            signatures.push(attachment);
        } else {
            sboms.push(attachment);
        }
    }
    for referrer in storage.referrers(repository, digest).await? {
        let Some(kind) = referrer_kind(&referrer) else {
            continue;
        };
        let document = storage
            .get_manifest(repository, &Reference::Digest(referrer.digest.clone()))
            .await?
            .and_then(|stored| first_layer(&stored));
        let attachment = Attachment {
            kind,
            manifest: referrer.digest,
            tag: None,
            document,
        };
        if kind.is_signature() {
            signatures.push(attachment);
        } else {
            sboms.push(attachment);
        }
    }
    Ok((signatures, sboms))
}

/// What a referrer is, by its artifact type: a Sigstore bundle, SPDX, CycloneDX; `None` for anything else.
fn referrer_kind(referrer: &Descriptor) -> Option<AttachmentKind> {
    match referrer.artifact_type.as_deref()? {
        t if t.starts_with(SIGSTORE_BUNDLE_PREFIX) => Some(AttachmentKind::SigstoreBundle),
        SPDX_JSON => Some(AttachmentKind::Spdx),
        CYCLONEDX_JSON => Some(AttachmentKind::Cyclonedx),
        _ => None,
    }
}

fn first_layer(stored: &StoredManifest) -> Option<Digest> {
    module::image_manifest(stored)?
        .layers
        .into_iter()
        .next()
        .map(|layer| layer.digest)
}

/// Compares tags as people read versions: runs of digits by value (`v2` < `v10`), the rest as text.
pub fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (left, right) = (chunks(a), chunks(b));
    for ((a_digits, a), (b_digits, b)) in left.iter().zip(&right) {
        let order = if *a_digits && *b_digits {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        } else {
            a.cmp(b)
        };
        if order.is_ne() {
            return order;
        }
    }
    left.len().cmp(&right.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_sort_as_versions() {
        let mut tags = vec!["v10.0.0", "v2.0.0", "latest", "v2.0.10", "v2.0.9", "1", ""];
        tags.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            tags,
            ["", "1", "latest", "v2.0.0", "v2.0.9", "v2.0.10", "v10.0.0"]
        );
    }
}
