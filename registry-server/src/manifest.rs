//! Checking pushed manifests: JSON shape, media type, the digests they reference, and their subject.

use std::collections::BTreeMap;

use artifact::oci::{Digest, media_types};
use serde::Deserialize;

use crate::errors::{RegistryError, Result};

pub use artifact::oci::manifest::Descriptor;

/// The fields of a manifest or index the registry looks at; everything else is kept verbatim in the stored bytes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    schema_version: Option<u32>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// A manifest that passed the registry's checks.
#[derive(Debug)]
pub struct CheckedManifest {
    /// The media type it is stored and served with.
    pub media_type: String,
    /// Blobs that must be in the repository (config and layers).
    pub blobs: Vec<Digest>,
    /// Manifests that must be in the repository (an index's entries).
    pub manifests: Vec<Digest>,
    /// The manifest this one refers to, if any.
    pub subject: Option<Digest>,
    /// The artifact type a referrers listing shows: `artifactType`, else the config's media type.
    pub artifact_type: Option<String>,
    /// The manifest's annotations, shown in referrers listings.
    pub annotations: Option<BTreeMap<String, String>>,
}

impl CheckedManifest {
    /// The descriptor of this manifest as a referrers listing shows it.
    pub fn descriptor(&self, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest,
            size,
            artifact_type: self.artifact_type.clone(),
            annotations: self.annotations.clone(),
            urls: None,
        }
    }
}

/// Checks `bytes`, pushed with `content_type`, as an OCI or Docker schema 2 manifest or index.
pub fn check(content_type: Option<&str>, bytes: &[u8]) -> Result<CheckedManifest> {
    let invalid = |reason: String| RegistryError::ManifestInvalid(reason);
    let doc: Document =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a JSON manifest: {e}")))?;
    if doc.schema_version != Some(2) {
        return Err(invalid("`schemaVersion` must be 2".into()));
    }
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    let media_type = match (content_type, doc.media_type.as_deref()) {
        (Some(header), Some(field)) if header != field => {
            return Err(invalid(format!(
                "the Content-Type header {header:?} differs from the manifest's `mediaType` {field:?}"
            )));
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type.to_string(),
        (None, None) if doc.manifests.is_some() => media_types::OCI_INDEX.to_string(),
        (None, None) => media_types::OCI_MANIFEST.to_string(),
    };
    if !media_types::MANIFEST_TYPES.contains(&media_type.as_str()) {
        return Err(invalid(format!(
            "unsupported media type {media_type:?}: expected one of {}",
            media_types::MANIFEST_TYPES.join(", ")
        )));
    }
    let (blobs, manifests, artifact_type) = if media_types::is_index(&media_type) {
        let entries = doc
            .manifests
            .ok_or_else(|| invalid("an index needs a `manifests` list".into()))?;
        (
            Vec::new(),
            entries.into_iter().map(|d| d.digest).collect(),
            doc.artifact_type,
        )
    } else {
        let config = doc
            .config
            .ok_or_else(|| invalid("a manifest needs a `config` descriptor".into()))?;
        let layers = doc
            .layers
            .ok_or_else(|| invalid("a manifest needs a `layers` list".into()))?;
        let artifact_type = doc
            .artifact_type
            .or_else(|| Some(config.media_type.clone()));
        let hosted = layers
            .into_iter()
            .filter(|l| l.urls.is_none())
            .map(|l| l.digest);
        (
            std::iter::once(config.digest).chain(hosted).collect(),
            Vec::new(),
            artifact_type,
        )
    };
    Ok(CheckedManifest {
        media_type,
        blobs,
        manifests,
        subject: doc.subject.map(|s| s.digest),
        artifact_type,
        annotations: doc.annotations,
    })
}

/// The subject of stored manifest bytes, if they have one; used when deleting, so it never fails.
pub fn subject_of(bytes: &[u8]) -> Option<Digest> {
    #[derive(Deserialize)]
    struct WithSubject {
        subject: Option<Descriptor>,
    }
    serde_json::from_slice::<WithSubject>(bytes)
        .ok()?
        .subject
        .map(|s| s.digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn image() -> serde_json::Value {
        json!({
            "schemaVersion": 2,
            "mediaType": media_types::OCI_MANIFEST,
            "config": { "mediaType": "application/vnd.example.config", "digest": digest('a'), "size": 2 },
            "layers": [
                { "mediaType": media_types::OCI_LAYER_TAR, "digest": digest('b'), "size": 3 },
                { "mediaType": media_types::OCI_LAYER_TAR, "digest": digest('c'), "size": 3, "urls": ["https://x"] }
            ],
            "subject": { "mediaType": media_types::OCI_MANIFEST, "digest": digest('d'), "size": 9 },
        })
    }

    #[test]
    fn lists_hosted_blobs_subject_and_artifact_type() {
        let bytes = serde_json::to_vec(&image()).unwrap();
        let checked = check(Some(media_types::OCI_MANIFEST), &bytes).unwrap();
        let names: Vec<String> = checked.blobs.iter().map(|d| d.to_string()).collect();
        assert_eq!(names, [digest('a'), digest('b')]);
        assert_eq!(checked.subject.unwrap().to_string(), digest('d'));
        assert_eq!(
            checked.artifact_type.as_deref(),
            Some("application/vnd.example.config")
        );
        assert_eq!(subject_of(&bytes).unwrap().to_string(), digest('d'));
    }

    #[test]
    fn indexes_reference_manifests() {
        let index = json!({ "schemaVersion": 2, "manifests": [
            { "mediaType": media_types::OCI_MANIFEST, "digest": digest('e'), "size": 1 }
        ]});
        let checked = check(None, &serde_json::to_vec(&index).unwrap()).unwrap();
        assert_eq!(checked.media_type, media_types::OCI_INDEX);
        assert_eq!(checked.manifests.len(), 1);
    }

    #[test]
    fn refuses_what_is_not_a_manifest() {
        let mut wrong_type = image();
        wrong_type["mediaType"] =
            json!("application/vnd.docker.distribution.manifest.v1+prettyjws");
        let mut bad_digest = image();
        bad_digest["layers"][0]["digest"] = json!("sha256:xyz");
        let cases: [(Option<&str>, Vec<u8>, &str); 5] = [
            (None, b"not json".to_vec(), "not a JSON manifest"),
            (
                None,
                serde_json::to_vec(&wrong_type).unwrap(),
                "unsupported media type",
            ),
            (
                Some(media_types::OCI_INDEX),
                serde_json::to_vec(&image()).unwrap(),
                "differs",
            ),
            (
                None,
                serde_json::to_vec(&bad_digest).unwrap(),
                "invalid digest",
            ),
            (None, br#"{"schemaVersion":1}"#.to_vec(), "schemaVersion"),
        ];
        for (content_type, bytes, expected) in cases {
            let message = check(content_type, &bytes).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
    }
}
