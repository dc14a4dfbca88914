//! Policies pushed to a registry under test, as `palisade push` pushes them, and things attached to them.

use artifact::metadata::{Metadata, MetadataFile};
use artifact::oci::policy::PolicyArtifact;
use artifact::wasm::{SectionMap, write_metadata};
use serde_json::{Value, json};

use super::{Client, OCI_MANIFEST, sha256};

/// The smallest valid module: the header alone.
pub const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

/// The metadata of a YAML metadata file.
pub fn metadata(yaml: &str) -> Metadata {
    MetadataFile::parse(yaml).unwrap().metadata
}

/// A module carrying `metadata` in its `io.kubewarden.metadata` section, as `palisade annotate` writes it.
pub fn annotated(metadata: &Metadata) -> Vec<u8> {
    let map = SectionMap::scan(EMPTY_MODULE).unwrap();
    write_metadata(&map, metadata).unwrap().to_vec()
}

/// Pushes `module` as a policy artifact (manifest annotations from `metadata`, as `palisade push` does).
pub async fn push_policy(
    registry: &Client,
    repo: &str,
    tag: &str,
    module: &[u8],
    metadata: Option<&Metadata>,
) -> String {
    push_policy_created(registry, repo, tag, module, metadata, None).await
}

/// [`push_policy`], with the manifest's `org.opencontainers.image.created` annotation when `created` is given.
pub async fn push_policy_created(
    registry: &Client,
    repo: &str,
    tag: &str,
    module: &[u8],
    metadata: Option<&Metadata>,
    created: Option<&str>,
) -> String {
    let artifact = PolicyArtifact::build(module.to_vec(), metadata, created).unwrap();
    registry.push_blob(repo, &artifact.config).await;
    registry.push_blob(repo, &artifact.module).await;
    let manifest: Value = serde_json::from_slice(&artifact.manifest_bytes).unwrap();
    registry
        .put_manifest(repo, tag, OCI_MANIFEST, &manifest)
        .await
        .0
}

/// Pushes a manifest with one layer (`document`) whose subject is `subject`; returns (manifest, layer) digests.
pub async fn push_referrer(
    registry: &Client,
    repo: &str,
    subject: &str,
    artifact_type: &str,
    document: &[u8],
) -> (String, String) {
    let config = registry.push_blob(repo, b"{}").await;
    let layer = registry.push_blob(repo, document).await;
    let subject_size = registry
        .get(&format!("/v2/{repo}/manifests/{subject}"))
        .await
        .body
        .len();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2 },
        "layers": [{ "mediaType": artifact_type, "digest": layer, "size": document.len() }],
        "subject": { "mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size },
    });
    let digest = sha256(&serde_json::to_vec(&manifest).unwrap());
    registry
        .put_manifest(repo, &digest, OCI_MANIFEST, &manifest)
        .await;
    (digest, layer)
}
