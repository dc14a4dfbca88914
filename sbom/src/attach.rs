//! Attaching an SBOM to a policy in a registry, as an OCI 1.1 referrer of the policy's manifest.
//!
//! The referrer is an image manifest whose `artifactType` and only layer are the SBOM's media type
//! (`application/spdx+json`, `application/vnd.cyclonedx+json`), with the empty config and the policy
//! manifest as `subject`. Registries without the referrers API get the fallback: the
//! `sha256-<hex>` tag holding an image index of the referrers, merged with what it listed before.

use std::collections::BTreeMap;

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types};
use artifact::reference::RegistryRef;
use chrono::{DateTime, Utc};
use client::remote::Remote;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, SbomError};
use crate::format::Format;

/// The content of the empty config (`application/vnd.oci.empty.v1+json`).
const EMPTY_JSON: &[u8] = b"{}";
/// The creation-time annotation of OCI manifests.
const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
/// The file-name annotation of OCI layers.
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// What an attachment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attached {
    /// The policy manifest the SBOM is attached to.
    pub subject: Digest,
    /// The referrer manifest pushed.
    pub referrer: Digest,
    /// Its artifact type.
    pub artifact_type: &'static str,
    /// The fallback tag written, when the registry does not list referrers itself.
    pub fallback_tag: Option<String>,
}

/// Which format an SBOM document is in, from its content.
pub fn detect_format(document: &[u8]) -> Result<Format> {
    let value: Value = serde_json::from_slice(document)
        .map_err(|err| SbomError::NotAnSbom(format!("not JSON: {err}")))?;
    if value.get("spdxVersion").is_some() {
        Ok(Format::SpdxJson)
    } else if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        Ok(Format::CycloneDxJson)
    } else {
        Err(SbomError::NotAnSbom(
            "neither an SPDX JSON document (`spdxVersion`) nor a CycloneDX one (`bomFormat`)"
                .to_string(),
        ))
    }
}

/// The referrer manifest of `document` (in `format`) about `subject`, created at `created`.
pub fn referrer_manifest(
    document: &[u8],
    format: Format,
    subject: Descriptor,
    created: DateTime<Utc>,
) -> Result<Vec<u8>> {
    let config = Descriptor::of(media_types::OCI_EMPTY, EMPTY_JSON);
    let mut layer = Descriptor::of(format.media_type(), document);
    let title = match format {
        Format::SpdxJson => "sbom.spdx.json",
        Format::CycloneDxJson => "sbom.cdx.json",
    };
    layer.annotations = Some(BTreeMap::from([(
        TITLE_ANNOTATION.to_string(),
        title.to_string(),
    )]));
    let mut manifest = ImageManifest::new(config, vec![layer]);
    manifest.artifact_type = Some(format.media_type().to_string());
    manifest.subject = Some(Descriptor {
        artifact_type: None,
        annotations: None,
        urls: None,
        ..subject
    });
    manifest.annotations = Some(BTreeMap::from([(
        CREATED_ANNOTATION.to_string(),
        created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )]));
    Ok(serde_json::to_vec(&manifest)?)
}

/// Adds `referrer` to the fallback index (`existing`, the fallback tag's content if any).
pub fn merge_fallback_index(existing: Option<&[u8]>, referrer: &Descriptor) -> Result<Vec<u8>> {
    let mut index = match existing {
        Some(bytes) => serde_json::from_slice::<Value>(bytes)?,
        None => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_INDEX,
            "manifests": [],
        }),
    };
    let digest = referrer.digest.to_string();
    let entry = serde_json::to_value(referrer)?;
    let Some(manifests) = index
        .as_object_mut()
        .map(|object| {
            object
                .entry("manifests")
                .or_insert_with(|| Value::Array(Vec::new()))
        })
        .and_then(Value::as_array_mut)
    else {
        return Err(SbomError::NotAnSbom(
            "the fallback referrers tag does not hold an image index".to_string(),
        ));
    };
    if !manifests
        .iter()
        .any(|m| m.get("digest").and_then(Value::as_str) == Some(digest.as_str()))
    {
        manifests.push(entry);
    }
    Ok(serde_json::to_vec(&index)?)
}

/// Pushes `document` as a referrer of the policy `reference` points to (resolved to its digest now).
pub async fn attach(
    remote: &Remote,
    reference: &RegistryRef,
    document: &[u8],
    created: DateTime<Utc>,
) -> Result<Attached> {
    let format = detect_format(document)?;
    let repository = remote.repository(reference).await?;
    let policy = repository.resolve().await?;
    let subject = policy.digest();
    let manifest = referrer_manifest(document, format, policy.descriptor(), created)?;
    let config = Digest::sha256_of(EMPTY_JSON);
    repository.push_blob(&config, EMPTY_JSON).await?;
    repository
        .push_blob(&Digest::sha256_of(document), document)
        .await?;
    let referrer = Digest::sha256_of(&manifest);
    repository
        .push_manifest(&referrer.to_string(), &manifest, media_types::OCI_MANIFEST)
        .await?;
    let listed = repository.referrers(&subject, None).await?;
    let mut fallback_tag = None;
    if !listed.iter().any(|d| d.digest == referrer) {
        let tag = format!("{}-{}", subject.algorithm(), subject.hex());
        let existing = repository.manifest(&tag).await?;
        let mut descriptor = Descriptor::of(media_types::OCI_MANIFEST, &manifest);
        descriptor.artifact_type = Some(format.media_type().to_string());
        let index =
            merge_fallback_index(existing.as_ref().map(|m| m.bytes.as_slice()), &descriptor)?;
        repository
            .push_manifest(&tag, &index, media_types::OCI_INDEX)
            .await?;
        fallback_tag = Some(tag);
    }
    Ok(Attached {
        subject,
        referrer,
        artifact_type: format.media_type(),
        fallback_tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_content() {
        assert_eq!(
            detect_format(br#"{"spdxVersion": "SPDX-2.3"}"#).ok(),
            Some(Format::SpdxJson)
        );
        assert_eq!(
            detect_format(br#"{"bomFormat": "CycloneDX"}"#).ok(),
            Some(Format::CycloneDxJson)
        );
        assert!(matches!(detect_format(b"{}"), Err(SbomError::NotAnSbom(_))));
        assert!(matches!(
            detect_format(b"not json"),
            Err(SbomError::NotAnSbom(_))
        ));
    }

    #[test]
    fn the_fallback_index_keeps_what_it_had() {
        let first = Descriptor::of(media_types::OCI_MANIFEST, b"one");
        let second = Descriptor::of(media_types::OCI_MANIFEST, b"two");
        let index = merge_fallback_index(None, &first).ok();
        let index = index.and_then(|i| merge_fallback_index(Some(&i), &second).ok());
        let again = index
            .as_deref()
            .and_then(|i| merge_fallback_index(Some(i), &second).ok());
        let value: Value = serde_json::from_slice(&again.unwrap_or_default()).unwrap_or_default();
        assert_eq!(value["manifests"].as_array().map(Vec::len), Some(2));
        assert_eq!(value["mediaType"], media_types::OCI_INDEX);
    }
}
