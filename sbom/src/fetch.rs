//! Fetching the SBOM attached to a policy in a registry: its referrers of an SBOM artifact type,
//! the newest first, with every byte checked against its digest.

use artifact::oci::Digest;
use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::reference::RegistryRef;
use artifact::remote::Remote;

use crate::Format;
use crate::error::{Result, SbomError};

/// The creation-time annotation that orders referrers.
const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// An SBOM found in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The policy manifest it describes.
    pub subject: Digest,
    /// The referrer manifest that carries it.
    pub referrer: Digest,
    /// Its format.
    pub format: Format,
    /// The document.
    pub document: Vec<u8>,
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
    let formats = match format {
        Some(format) => vec![format],
        None => vec![Format::SpdxJson, Format::CycloneDxJson],
    };
    let mut candidates: Vec<(Format, Descriptor)> = Vec::new();
    for format in formats {
        for descriptor in repository
            .referrers(&subject, Some(format.media_type()))
            .await?
        {
            // Registries may ignore the filter: check the type again.
            if descriptor.artifact_type.as_deref() == Some(format.media_type()) {
                candidates.push((format, descriptor));
            }
        }
    }
    let newest = candidates.into_iter().max_by(|(fa, a), (fb, b)| {
        created(a)
            .cmp(&created(b))
            .then_with(|| (*fb == Format::SpdxJson).cmp(&(*fa == Format::SpdxJson)))
            .then_with(|| a.digest.to_string().cmp(&b.digest.to_string()))
    });
    let Some((format, descriptor)) = newest else {
        return Err(SbomError::NoSbom(reference.to_string()));
    };
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
    let document = repository.blob(&layer.digest).await?;
    Ok(Fetched {
        subject,
        referrer: descriptor.digest,
        format,
        document,
    })
}

fn created(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(CREATED_ANNOTATION))
        .map(String::as_str)
}
