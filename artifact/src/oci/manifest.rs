//! OCI image manifests, indexes and descriptors: the JSON documents registries store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Digest;
use super::media_types;

/// A content descriptor: what a manifest says about a blob or another manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the described content.
    pub media_type: String,
    /// The digest of the described content.
    pub digest: Digest,
    /// The size of the described content, in bytes.
    pub size: u64,
    /// The artifact type, for manifests that describe artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Where a non-distributable layer can be fetched instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

impl Descriptor {
    /// Describes `content` of `media_type`, by its sha256.
    pub fn of(media_type: &str, content: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::sha256_of(content),
            size: content.len() as u64,
            artifact_type: None,
            annotations: None,
            urls: None,
        }
    }
}

/// What any manifest or index links to: its config and layers (blobs) and, for an index, its manifests.
/// Enough to copy or keep everything a manifest needs, whatever its kind.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ManifestLinks {
    /// The document's own media type, when it says.
    #[serde(default, rename = "mediaType")]
    pub media_type: Option<String>,
    /// The config blob (manifests only).
    pub config: Option<Descriptor>,
    /// The layers (manifests only).
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifests (indexes only).
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs, attestations).
    #[serde(default)]
    pub subject: Option<Descriptor>,
    /// The artifact type, when not a container image.
    #[serde(default, rename = "artifactType")]
    pub artifact_type: Option<String>,
    /// Free-form annotations.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ManifestLinks {
    /// The blobs the manifest names: config, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(&self.layers)
    }
}

/// An OCI image manifest (also the shape of a Docker schema 2 manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What kind of artifact this is, when not a container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The configuration blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageManifest {
    /// An OCI image manifest of `config` and `layers`.
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: Some(media_types::OCI_MANIFEST.to_string()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: None,
        }
    }
}
