//! Media types of the OCI image specification and of Docker's schema 2, as registries and clients exchange them.

/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index (a list of manifests).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image configuration.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The empty JSON descriptor content (`{}`) that artifacts without a config point to.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The content of an empty descriptor ([`OCI_EMPTY`]): the JSON `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";
/// An uncompressed tar layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// A gzip-compressed tar layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A Docker image manifest, schema 2 (still pushed by docker and skopeo).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker manifest list, the Docker counterpart of the OCI index.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// A Docker container configuration.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The config of a Wasm artifact, as Kubewarden policies are pushed.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v1+json";
/// The Wasm module layer of a Wasm artifact, as Kubewarden policies are pushed.
pub const WASM_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";

/// The manifest media types a registry stores: OCI manifest and index, Docker manifest and list.
pub const MANIFEST_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// Whether `media_type` lists other manifests (an OCI index or a Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// The layer of a precompiled module: wasmtime's serialised compilation of one Wasm module, loadable only by
/// the wasmtime version and engine configuration its referrer's `artifactType` names.
pub const PRECOMPILED_LAYER: &str = "application/vnd.palisade.wasmtime.module.v1";

/// The `artifactType` of a precompiled module referrer: wasmtime's module format version, the target and a
/// short engine-configuration hash, each reduced to the characters RFC 6838 allows in a subtype
/// (`application/vnd.palisade.wasmtime.48.x86_64-linux.1a2b3c4d5e6f`).
pub fn precompiled_artifact_type(wasmtime: &str, target: &str, engine_hash: &str) -> String {
    let restricted = |part: &str| -> String {
        part.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "!#$&-^_".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!(
        "application/vnd.palisade.wasmtime.{}.{}.{}",
        restricted(wasmtime),
        restricted(target),
        restricted(engine_hash)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precompiled_artifact_types_keep_to_rfc_6838_characters() {
        assert_eq!(
            precompiled_artifact_type("48", "x86_64-linux", "1a2b3c"),
            "application/vnd.palisade.wasmtime.48.x86_64-linux.1a2b3c"
        );
        let odd = precompiled_artifact_type("48.0 beta", "a/b", "c+d");
        assert_eq!(odd, "application/vnd.palisade.wasmtime.48-0-beta.a-b.c-d");
        let subtype = odd.trim_start_matches("application/");
        assert!(subtype.len() <= 127);
    }
}
