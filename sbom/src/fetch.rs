//! Fetching the SBOM of a policy in a registry: its referrers of an SBOM artifact type, the newest
//! first, with every byte checked against its digest; or, verified, only an SBOM a key vouches for
//! through an attestation.

use artifact::cosign::{CYCLONEDX_PREDICATE, SPDX_PREDICATE};
use artifact::oci::Digest;
use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::reference::RegistryRef;
use client::remote::{Remote, Repository};
use serde_json::Value;
use signing::attestation::registry::check;
use signing::keys::PublicKey;

use crate::error::{Result, SbomError};
use crate::format::Format;

/// The creation-time annotation that orders referrers.
const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// An SBOM found in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The policy manifest it describes.
    pub subject: Digest,
    /// The referrer manifest that carries it; `None` when the document is an attestation's predicate.
    pub referrer: Option<Digest>,
    /// Its format.
    pub format: Format,
    /// The document.
    pub document: Vec<u8>,
    /// When verified: the key that signed the attestation vouching for it (`sha256:` and 16 hex digits of its fingerprint).
    pub signed_by: Option<String>,
    /// When verified: the attestation (`.att layer …` or `bundle referrer …`).
    pub attestation: Option<String>,
}

/// The in-toto predicate type of an SBOM format.
pub fn predicate_type(format: Format) -> &'static str {
    match format {
        Format::SpdxJson => SPDX_PREDICATE,
        Format::CycloneDxJson => CYCLONEDX_PREDICATE,
    }
}

/// The newest SBOM attached to the policy `reference` points to, in `format` (either format when
/// `None`, SPDX first on a tie).
pub async fn fetch(
    remote: &Remote,
    reference: &RegistryRef,
    format: Option<Format>,
) -> Result<Fetched> {
    let repository = remote.repository(reference).await?;
    let subject = repository.resolve().await?.digest();
    let attached = attached(&repository, &subject, format).await?;
    let Some((format, descriptor)) = attached.into_iter().next() else {
        return Err(SbomError::NoSbom(reference.to_string()));
    };
    let document = read_attached(&repository, reference, format, &descriptor).await?;
    Ok(Fetched {
        subject,
        referrer: Some(descriptor.digest),
        format,
        document,
        signed_by: None,
        attestation: None,
    })
}

/// The SBOM of the policy `reference` points to that one of `keys` vouches for: an attestation of
/// an SBOM predicate type (in `format`, or either) must verify (DSSE signature by the key, statement
/// about the policy's manifest digest). The document returned is the newest attached referrer whose
/// content is that attested predicate (the same JSON, whatever its layout), else the predicate
/// itself (pretty JSON).
pub async fn fetch_verified(
    remote: &Remote,
    reference: &RegistryRef,
    format: Option<Format>,
    keys: &[PublicKey],
) -> Result<Fetched> {
    let formats = match format {
        Some(format) => vec![format],
        None => vec![Format::SpdxJson, Format::CycloneDxJson],
    };
    let report = check(remote, reference, keys, None).await?;
    let verified: Vec<(Format, &Value, String, String)> = report
        .verified()
        .filter_map(|checked| {
            let statement = checked.statement.as_ref()?;
            let format = formats
                .iter()
                .copied()
                .find(|f| predicate_type(*f) == statement.predicate_type)?;
            Some((
                format,
                statement.predicate.as_ref()?,
                checked.signed_by.clone().unwrap_or_default(),
                checked.source.to_string(),
            ))
        })
        .collect();
    if verified.is_empty() {
        let reasons: Vec<String> = report
            .attestations
            .iter()
            .map(|a| {
                format!(
                    "{} ({}): {}",
                    a.source,
                    a.predicate_type.as_deref().unwrap_or("unreadable"),
                    a.reason
                        .as_deref()
                        .unwrap_or("not an SBOM of the format asked for")
                )
            })
            .collect();
        return Err(SbomError::NotVerified {
            reference: reference.to_string(),
            reason: if reasons.is_empty() {
                "it has no attestation".to_string()
            } else {
                reasons.join("; ")
            },
        });
    }
    let repository = remote.repository(reference).await?;
    let subject = report.manifest_digest.clone();
    for (format, descriptor) in attached(&repository, &subject, format).await? {
        let document = read_attached(&repository, reference, format, &descriptor).await?;
        let Ok(content) = serde_json::from_slice::<Value>(&document) else {
            continue;
        };
        if let Some((_, _, signed_by, attestation)) = verified
            .iter()
            .find(|(f, predicate, _, _)| *f == format && **predicate == content)
        {
            return Ok(Fetched {
                subject,
                referrer: Some(descriptor.digest),
                format,
                document,
                signed_by: Some(signed_by.clone()),
                attestation: Some(attestation.clone()),
            });
        }
    }
    // The newest attestation: the last one appended to the `.att` image, else the last referrer.
    let (format, predicate, signed_by, attestation) = verified[verified.len() - 1].clone();
    let mut document = serde_json::to_vec_pretty(predicate)?;
    document.push(b'\n');
    Ok(Fetched {
        subject,
        referrer: None,
        format,
        document,
        signed_by: Some(signed_by),
        attestation: Some(attestation),
    })
}

/// The SBOM referrers of `subject` in `format` (or either), newest first (SPDX first on a tie).
async fn attached(
    repository: &Repository,
    subject: &Digest,
    format: Option<Format>,
) -> Result<Vec<(Format, Descriptor)>> {
    let formats = match format {
        Some(format) => vec![format],
        None => vec![Format::SpdxJson, Format::CycloneDxJson],
    };
    let mut candidates: Vec<(Format, Descriptor)> = Vec::new();
    for format in formats {
        for descriptor in repository
            .referrers(subject, Some(format.media_type()))
            .await?
        {
            // Registries may ignore the filter: check the type again.
            if descriptor.artifact_type.as_deref() == Some(format.media_type()) {
                candidates.push((format, descriptor));
            }
        }
    }
    candidates.sort_by(|(fa, a), (fb, b)| {
        created(b)
            .cmp(&created(a))
            .then_with(|| (*fb == Format::SpdxJson).cmp(&(*fa == Format::SpdxJson)))
            .then_with(|| b.digest.to_string().cmp(&a.digest.to_string()))
    });
    Ok(candidates)
}

/// The document of an SBOM referrer, its manifest and layer checked against their digests.
async fn read_attached(
    repository: &Repository,
    reference: &RegistryRef,
    format: Format,
    descriptor: &Descriptor,
) -> Result<Vec<u8>> {
    let manifest = repository
        .manifest(&descriptor.digest.to_string())
        .await?
        .ok_or_else(|| {
            SbomError::NoSbom(format!(
                "{reference} (referrer {} is gone)",
                descriptor.digest
            ))
        })?;
    let parsed: ImageManifest = serde_json::from_slice(&manifest.bytes)?;
    let Some(layer) = parsed
        .layers
        .iter()
        .find(|layer| layer.media_type == format.media_type())
    else {
        return Err(SbomError::NoSbom(format!(
            "{reference} (referrer {} has no {} layer)",
            descriptor.digest,
            format.media_type()
        )));
    };
    Ok(repository.blob(&layer.digest).await?)
}

fn created(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(CREATED_ANNOTATION))
        .map(String::as_str)
}
