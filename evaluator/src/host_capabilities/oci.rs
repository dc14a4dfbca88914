//! `oci/v1/manifest_digest`, `oci/v1/oci_manifest` and `oci/v1/oci_manifest_config`: what a
//! registry holds for an image, through `client::remote` (credentials, `sources.yaml`,
//! every manifest and blob checked against its digest).
//!
//! Payload of each: the image as a JSON string (`ghcr.io/org/app:1.0`, `busybox` meaning
//! `docker.io/library/busybox:latest`). Answers, as Kubewarden's: `{"digest": "sha256:…"}`; the
//! manifest (image manifest or index) as the registry serves it; `{"manifest", "digest",
//! "config"}` for an image manifest.

use artifact::oci::Digest;
use artifact::reference::RegistryRef;
use client::remote::credentials::DockerConfig;
use client::remote::{FetchedManifest, Remote, RemoteOptions};
use serde::Deserialize;
use serde_json::{Value, json};
use signing::trust::TrustRoot;

use super::payload;

/// The capability answering the manifest digest of an image.
pub const MANIFEST_DIGEST: &str = "oci/v1/manifest_digest";
/// The capability answering an image's manifest.
pub const OCI_MANIFEST: &str = "oci/v1/oci_manifest";
/// The capability answering an image's manifest, digest and configuration.
pub const OCI_MANIFEST_CONFIG: &str = "oci/v1/oci_manifest_config";

/// How the `oci` capabilities reach registries: the registry client, and the trust root that
/// keyless signatures are checked against (without one, keyless verification never succeeds).
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) remote: Remote,
    pub(crate) trust_root: Option<TrustRoot>,
}

impl Default for Registry {
    /// No credentials, no `sources.yaml`, no trust root.
    fn default() -> Self {
        Registry::new(
            Remote::new(RemoteOptions {
                docker_config: DockerConfig::none(),
                sources: Default::default(),
            }),
            None,
        )
    }
}

impl Registry {
    /// Reaches registries through `remote`; keyless signatures are checked against `trust_root`.
    pub fn new(remote: Remote, trust_root: Option<TrustRoot>) -> Registry {
        Registry { remote, trust_root }
    }
}

/// Parses an image reference as container tools write them: a first component that is not a
/// host (no `.` or `:`, not `localhost`) means Docker Hub, and a single name `library/NAME`.
pub(crate) fn image_reference(image: &str) -> Result<RegistryRef, String> {
    let first = image.split('/').next().unwrap_or_default();
    let has_host =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = match (has_host, image.contains('/')) {
        (true, _) => image.to_owned(),
        (false, true) => format!("docker.io/{image}"),
        (false, false) => format!("docker.io/library/{image}"),
    };
    format!("registry://{full}")
        .parse::<RegistryRef>()
        .map_err(|err| err.to_string())
}

fn requested_image(payload: &[u8]) -> Result<RegistryRef, String> {
    let image: String = payload::parse(payload, "an image reference as a JSON string")?;
    image_reference(&image)
}

async fn fetch_manifest(remote: &Remote, image: &RegistryRef) -> Result<FetchedManifest, String> {
    let repository = remote
        .repository(image)
        .await
        .map_err(|err| err.to_string())?;
    repository.resolve().await.map_err(|err| err.to_string())
}

/// `oci/v1/manifest_digest`.
pub fn manifest_digest(registry: &Registry, payload: &[u8]) -> Result<Vec<u8>, String> {
    let image = requested_image(payload)?;
    let remote = registry.remote.clone();
    let digest = super::blocking::run(async move { remote.manifest_digest(&image).await })?
        .map_err(|err| err.to_string())?;
    payload::answer(&json!({ "digest": digest.to_string() }))
}

/// `oci/v1/oci_manifest`.
pub fn manifest(registry: &Registry, payload: &[u8]) -> Result<Vec<u8>, String> {
    let image = requested_image(payload)?;
    let (remote, requested) = (registry.remote.clone(), image.clone());
    let fetched = super::blocking::run(async move { fetch_manifest(&remote, &requested).await })??;
    // Checked to be JSON, passed on as the registry served it.
    serde_json::from_slice::<Value>(&fetched.bytes)
        .map_err(|err| format!("the manifest of {image} is not JSON: {err}"))?;
    Ok(fetched.bytes)
}

#[derive(Deserialize)]
struct ConfigOnly {
    config: ConfigDescriptor,
}

#[derive(Deserialize)]
struct ConfigDescriptor {
    digest: String,
}

/// `oci/v1/oci_manifest_config`.
pub fn manifest_and_config(registry: &Registry, payload: &[u8]) -> Result<Vec<u8>, String> {
    let image = requested_image(payload)?;
    let (remote, requested) = (registry.remote.clone(), image.clone());
    let (fetched, config) = super::blocking::run(async move {
        let image = requested;
        let repository = remote
            .repository(&image)
            .await
            .map_err(|err| err.to_string())?;
        let fetched = repository.resolve().await.map_err(|err| err.to_string())?;
        let described: ConfigOnly = serde_json::from_slice(&fetched.bytes).map_err(|err| {
            format!(
                "{image} is not an image manifest ({}): {err}",
                fetched.media_type
            )
        })?;
        let digest: Digest = described
            .config
            .digest
            .parse()
            .map_err(|err| format!("the config digest of {image}: {err}"))?;
        let config = repository
            .blob(&digest)
            .await
            .map_err(|err| err.to_string())?;
        Ok::<_, String>((fetched, config))
    })??;
    let manifest: Value = serde_json::from_slice(&fetched.bytes)
        .map_err(|err| format!("the manifest of {image} is not JSON: {err}"))?;
    let config: Value = serde_json::from_slice(&config)
        .map_err(|err| format!("the configuration of {image} is not JSON: {err}"))?;
    payload::answer(&json!({
        "manifest": manifest,
        "digest": fetched.digest().to_string(),
        "config": config,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_read_as_container_tools_do() -> Result<(), String> {
        let hub = image_reference("busybox")?;
        assert_eq!(
            (
                hub.registry.as_str(),
                hub.repository.as_str(),
                hub.tag.as_deref()
            ),
            ("docker.io", "library/busybox", Some("latest"))
        );
        let org = image_reference("kubewarden/policy-server:v1.0")?;
        assert_eq!(org.repository, "kubewarden/policy-server");
        assert_eq!(org.tag.as_deref(), Some("v1.0"));
        let local = image_reference("127.0.0.1:5000/app/web:2")?;
        assert_eq!(local.registry, "127.0.0.1:5000");
        assert!(image_reference("UPPER/Case").is_err());
        Ok(())
    }

    #[test]
    fn malformed_payloads_are_refused_before_any_network() {
        let registry = Registry::default();
        assert!(
            manifest_digest(&registry, b"{\"image\": 1}")
                .is_err_and(|err| err.contains("an image reference as a JSON string"))
        );
        assert!(manifest(&registry, b"\"not a reference!\"").is_err());
    }
}
