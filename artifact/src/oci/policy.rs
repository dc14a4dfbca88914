//! A policy as an OCI artifact, in the shape Kubewarden pushes: one layer holding the module bytes
//! (`application/vnd.wasm.content.layer.v1+wasm`), the config blob `{}` (`application/vnd.wasm.config.v1+json`),
//! and manifest annotations taken from the policy metadata.

use std::collections::BTreeMap;

use super::manifest::{Descriptor, ImageManifest};
use super::{Digest, media_types};
use crate::error::{ArtifactError, Result};
use crate::metadata::{Metadata, WellKnown};

/// The config blob of a policy artifact.
pub const POLICY_CONFIG: &[u8] = b"{}";

/// Which metadata annotation becomes which OCI annotation (on push; the hub reads them back the same way).
pub const OCI_ANNOTATIONS: [(WellKnown, &str); 7] = [
    (WellKnown::Source, "org.opencontainers.image.source"),
    (WellKnown::Title, "org.opencontainers.image.title"),
    (
        WellKnown::Description,
        "org.opencontainers.image.description",
    ),
    (WellKnown::License, "org.opencontainers.image.licenses"),
    (WellKnown::Version, "org.opencontainers.image.version"),
    (WellKnown::Url, "org.opencontainers.image.url"),
    (WellKnown::Author, "org.opencontainers.image.authors"),
];
/// The OCI annotation for the creation time.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// A policy artifact: manifest, config and module, consistent with each other (the config and module
/// match the manifest's digests, the module layer has the Wasm media type and magic number).
#[derive(Debug, Clone)]
pub struct PolicyArtifact {
    /// The manifest document.
    pub manifest: ImageManifest,
    /// The manifest as stored and pushed; its digest names the artifact.
    pub manifest_bytes: Vec<u8>,
    /// The config blob.
    pub config: Vec<u8>,
    /// The Wasm module.
    pub module: Vec<u8>,
    /// The module's digest, as the manifest's layer names it (checked).
    pub module_digest: Digest,
}

impl PolicyArtifact {
    /// Builds the artifact of `module`. Manifest annotations are the metadata's single-line annotations
    /// (registries and clients expect no line breaks there; `kwctl push` drops the others too), the
    /// `org.opencontainers.image.*` ones derived from them, and `created` when given.
    pub fn build(
        module: Vec<u8>,
        metadata: Option<&Metadata>,
        created: Option<&str>,
    ) -> Result<Self> {
        let mut annotations = BTreeMap::new();
        if let Some(metadata) = metadata {
            for (key, value) in &metadata.annotations {
                if is_single_line(value) {
                    annotations.insert(key.clone(), value.clone());
                }
            }
            for (key, oci_key) in OCI_ANNOTATIONS {
                if let Some(value) = metadata.well_known(key).filter(|v| is_single_line(v)) {
                    annotations.insert(oci_key.to_string(), value.to_string());
                }
            }
        }
        if let Some(created) = created {
            annotations.insert(CREATED_ANNOTATION.to_string(), created.to_string());
        }
        let layer = Descriptor::of(media_types::WASM_LAYER, &module);
        let module_digest = layer.digest.clone();
        let mut manifest = ImageManifest::new(
            Descriptor::of(media_types::WASM_CONFIG, POLICY_CONFIG),
            vec![layer],
        );
        manifest.annotations = (!annotations.is_empty()).then_some(annotations);
        let manifest_bytes = serde_json::to_vec(&manifest)
            .map_err(|err| ArtifactError::NotAPolicy(err.to_string()))?;
        Ok(PolicyArtifact {
            manifest,
            manifest_bytes,
            config: POLICY_CONFIG.to_vec(),
            module,
            module_digest,
        })
    }

    /// Assembles an artifact from pieces fetched from somewhere (a registry, a layout, the store) and
    /// checks that they belong together. `origin` names where they came from, for messages.
    pub fn from_parts(
        origin: &str,
        manifest_bytes: Vec<u8>,
        config: Vec<u8>,
        module: Vec<u8>,
    ) -> Result<Self> {
        let manifest = parse_manifest(origin, &manifest_bytes)?;
        let layer = policy_layer(&manifest)
            .map_err(|err| ArtifactError::NotAPolicy(format!("{origin}: {}", err.problem())))?;
        for (what, descriptor, bytes) in [
            ("config", &manifest.config, &config),
            ("module", layer, &module),
        ] {
            if !descriptor.digest.matches(bytes) {
                return Err(ArtifactError::DigestMismatch {
                    what: format!("the {what} {} of {origin}", descriptor.digest),
                    actual: Digest::compute(descriptor.digest.algorithm(), bytes).to_string(),
                });
            }
        }
        if !module.starts_with(b"\0asm") {
            return Err(ArtifactError::NotAPolicy(format!(
                "{origin}: the layer {} is not a WebAssembly module",
                layer.digest
            )));
        }
        let module_digest = layer.digest.clone();
        Ok(PolicyArtifact {
            manifest,
            manifest_bytes,
            config,
            module,
            module_digest,
        })
    }

    /// Every blob with its digest: manifest, config, module.
    pub fn blobs(&self) -> Vec<(Digest, Vec<u8>)> {
        vec![
            (self.digest(), self.manifest_bytes.clone()),
            (self.manifest.config.digest.clone(), self.config.clone()),
            (self.module_digest.clone(), self.module.clone()),
        ]
    }

    /// The manifest digest, which names the artifact immutably.
    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.manifest_bytes)
    }
}

/// Parses an image manifest; an index or anything else is refused with what it is.
pub fn parse_manifest(origin: &str, bytes: &[u8]) -> Result<ImageManifest> {
    let manifest: ImageManifest = serde_json::from_slice(bytes).map_err(|err| {
        ArtifactError::NotAPolicy(format!(
            "{origin}: the manifest is not an OCI image manifest ({err})"
        ))
    })?;
    Ok(manifest)
}

fn is_single_line(value: &str) -> bool {
    !value.contains(['\n', '\r'])
}

/// The module layer of a manifest, if the manifest is that of a policy; the error says what else it is.
pub fn policy_layer(manifest: &ImageManifest) -> Result<&Descriptor> {
    let wasm_layers: Vec<&Descriptor> = manifest
        .layers
        .iter()
        .filter(|layer| layer.media_type == media_types::WASM_LAYER)
        .collect();
    match wasm_layers.as_slice() {
        [layer] => Ok(layer),
        [] => {
            let kinds: Vec<&str> = manifest
                .layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect();
            Err(ArtifactError::NotAPolicy(format!(
                "it has no `{}` layer (layers: {}; config: {}): is it a container image?",
                media_types::WASM_LAYER,
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds.join(", ")
                },
                manifest.config.media_type
            )))
        }
        _ => Err(ArtifactError::NotAPolicy(format!(
            "it has {} Wasm layers where a policy has one",
            wasm_layers.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::MetadataFile;

    fn metadata() -> Metadata {
        let text = "rules: []\nmutating: false\npolicyType: raw\nannotations:\n  io.kubewarden.policy.title: t\n  io.kubewarden.policy.source: https://example.com/src\n  io.kubewarden.policy.usage: \"line one\\nline two\"\n";
        MetadataFile::parse(text).unwrap().metadata
    }

    #[test]
    fn builds_the_kubewarden_shape() {
        let artifact = PolicyArtifact::build(
            b"\0asm\x01\0\0\0".to_vec(),
            Some(&metadata()),
            Some("2026-01-02T03:04:05Z"),
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&artifact.manifest_bytes).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], media_types::OCI_MANIFEST);
        assert_eq!(
            json["config"]["mediaType"],
            "application/vnd.wasm.config.v1+json"
        );
        assert_eq!(json["config"]["size"], 2);
        assert_eq!(
            json["config"]["digest"],
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(
            json["layers"][0]["mediaType"],
            "application/vnd.wasm.content.layer.v1+wasm"
        );
        assert_eq!(json["layers"][0]["size"], 8);
        let annotations = &json["annotations"];
        assert_eq!(annotations["io.kubewarden.policy.title"], "t");
        assert_eq!(annotations["org.opencontainers.image.title"], "t");
        assert_eq!(
            annotations["org.opencontainers.image.source"],
            "https://example.com/src"
        );
        assert_eq!(
            annotations["org.opencontainers.image.created"],
            "2026-01-02T03:04:05Z"
        );
        assert!(
            annotations.get("io.kubewarden.policy.usage").is_none(),
            "multi-line values are left out"
        );
        assert_eq!(
            artifact.digest(),
            Digest::sha256_of(&artifact.manifest_bytes)
        );
        assert_eq!(
            policy_layer(&artifact.manifest).unwrap().digest,
            Digest::sha256_of(&artifact.module)
        );
    }

    #[test]
    fn the_same_module_builds_the_same_manifest() {
        let a =
            PolicyArtifact::build(b"\0asm\x01\0\0\0".to_vec(), Some(&metadata()), None).unwrap();
        let b =
            PolicyArtifact::build(b"\0asm\x01\0\0\0".to_vec(), Some(&metadata()), None).unwrap();
        assert_eq!(a.manifest_bytes, b.manifest_bytes);
    }

    #[test]
    fn a_container_image_is_not_a_policy() {
        let image = ImageManifest::new(
            Descriptor::of(media_types::OCI_CONFIG, b"{}"),
            vec![Descriptor::of(media_types::OCI_LAYER_TAR_GZIP, b"layer")],
        );
        let err = policy_layer(&image).unwrap_err().to_string();
        assert!(
            err.contains("container image") && err.contains("tar+gzip"),
            "{err}"
        );
    }
}
