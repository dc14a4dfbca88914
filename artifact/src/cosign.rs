//! cosign's and Sigstore's vocabulary, in one place for every crate: the tags cosign attaches beside a manifest
//! (`sha256-<hex>.sig`, `.att`, `.sbom`, and the referrers fallback tag), the media types of signatures,
//! bundles, envelopes, trust roots and SBOMs, the in-toto predicate types, the annotation keys, and which
//! attached manifests are signatures. The OCI and Docker media types are in [`crate::oci::media_types`].

use crate::oci::Digest;
use crate::oci::manifest::Descriptor;

/// The tag of the referrers fallback index of `digest` (`sha256-<hex>`), for registries without the OCI 1.1
/// referrers API; cosign's other tags add a suffix to it.
pub fn referrers_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm(), digest.hex())
}

/// The tag of cosign's signature image of `digest`: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}{SIGNATURE_TAG_SUFFIX}", referrers_tag(digest))
}

/// The tag of cosign's attestation image of `digest`: `sha256-<hex>.att`.
pub fn attestation_tag(digest: &Digest) -> String {
    format!("{}{ATTESTATION_TAG_SUFFIX}", referrers_tag(digest))
}

/// The suffix of cosign's signature image tag.
pub const SIGNATURE_TAG_SUFFIX: &str = ".sig";
/// The suffix of cosign's attestation image tag.
pub const ATTESTATION_TAG_SUFFIX: &str = ".att";
/// The suffix of the SBOM image tag of `cosign attach sbom`.
pub const SBOM_TAG_SUFFIX: &str = ".sbom";
/// Every tag suffix attached to `sha256-<hex>`, the referrers fallback tag (no suffix) first.
pub const ATTACHED_TAG_SUFFIXES: [&str; 4] = [
    "",
    SIGNATURE_TAG_SUFFIX,
    ATTESTATION_TAG_SUFFIX,
    SBOM_TAG_SUFFIX,
];

/// What is appended to a file's name to name its Sigstore bundle: `policy.wasm` → `policy.wasm.sigstore.json`.
pub const BUNDLE_FILE_SUFFIX: &str = ".sigstore.json";

/// The media types of Sigstore bundles, any version and spelling, start with this.
pub const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// A Sigstore trusted root document (the `trusted_root.json` of `cosign verify --trusted-root`).
pub const SIGSTORE_TRUSTED_ROOT: &str = "application/vnd.dev.sigstore.trustedroot.v0.1+json";
/// Sigstore trusted roots, up to their version.
pub const SIGSTORE_TRUSTED_ROOT_PREFIX: &str = "application/vnd.dev.sigstore.trustedroot";
/// Sigstore's `ClientTrustConfig` (a trusted root and a signing config), up to its version.
pub const SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX: &str =
    "application/vnd.dev.sigstore.clienttrustconfig";
/// An SPDX JSON document.
pub const SPDX_JSON: &str = "application/spdx+json";
/// A CycloneDX JSON document.
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";

/// The layer of a cosign simple-signing signature.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// A Sigstore bundle, version 0.3 (cosign v3's default output), as a referrer's `artifactType` and layer.
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// A Sigstore bundle, version 0.1 (cosign's `.sig` keyless annotations make one: a message signature and its
/// Rekor entry with an inclusion promise).
pub const SIGSTORE_BUNDLE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// The DSSE payload type of in-toto statements.
pub const IN_TOTO_JSON: &str = "application/vnd.in-toto+json";
/// The `_type` of an in-toto v1 statement.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The layer of a cosign attestation in the `sha256-<hex>.att` image: a DSSE envelope on its own.
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation naming an attestation's predicate type in the `.att` image, as cosign writes it.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The in-toto predicate type of SPDX documents (`cosign attest --type spdx`).
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// The in-toto predicate type of CycloneDX documents (`cosign attest --type cyclonedx`).
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
/// The predicate type cosign v3 uses for plain signatures in bundles.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// The annotation of a simple-signing layer holding the base64 DER signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The annotation holding the signing certificate (PEM), for keyless signatures.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The annotation holding the certificate chain (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The annotation holding the Rekor bundle (JSON) of a simple-signing layer.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// The annotation holding the RFC 3161 timestamp (JSON) of a simple-signing layer.
pub const RFC3161_TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";

/// The referrer manifest annotation naming what the bundle holds (`dsse-envelope`).
pub const BUNDLE_CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// The referrer manifest annotation naming the bundle's in-toto predicate type.
pub const BUNDLE_PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The value of [`BUNDLE_CONTENT_ANNOTATION`] for DSSE bundles.
pub const BUNDLE_CONTENT_DSSE: &str = "dsse-envelope";

/// The `critical.type` of a cosign simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// The signatures among what is attached to a manifest: its `.sig` image, if any, then the bundle
/// referrers that are signatures (not attestations).
pub fn signature_digests(image: Option<Digest>, referrers: Vec<Descriptor>) -> Vec<Digest> {
    let is_signature = |referrer: &Descriptor| {
        let predicate = referrer
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION));
        referrer.artifact_type.as_deref() == Some(SIGSTORE_BUNDLE_V03)
            && predicate.is_none_or(|predicate| predicate == COSIGN_SIGN_PREDICATE)
    };
    image
        .into_iter()
        .chain(
            referrers
                .into_iter()
                .filter(is_signature)
                .map(|referrer| referrer.digest),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_cosigns() {
        let digest: Digest =
            "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"
                .parse()
                .unwrap();
        let hex = "f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b";
        assert_eq!(referrers_tag(&digest), format!("sha256-{hex}"));
        assert_eq!(signature_tag(&digest), format!("sha256-{hex}.sig"));
        assert_eq!(attestation_tag(&digest), format!("sha256-{hex}.att"));
        let sha512: Digest = format!("sha512:{}", "a".repeat(128)).parse().unwrap();
        assert_eq!(
            signature_tag(&sha512),
            format!("sha512-{}.sig", "a".repeat(128))
        );
    }

    #[test]
    fn signatures_are_the_sig_image_and_the_signature_bundles() {
        let digest = |n: u8| Digest::sha256_of(&[n]);
        let referrer = |n: u8, artifact_type: &str, predicate: Option<&str>| {
            let mut descriptor = Descriptor::of(artifact_type, &[n]);
            descriptor.artifact_type = Some(artifact_type.to_string());
            descriptor.annotations = predicate.map(|predicate| {
                [(
                    BUNDLE_PREDICATE_TYPE_ANNOTATION.to_string(),
                    predicate.to_string(),
                )]
                .into()
            });
            descriptor
        };
        let referrers = vec![
            referrer(1, SIGSTORE_BUNDLE_V03, Some(COSIGN_SIGN_PREDICATE)),
            referrer(2, SIGSTORE_BUNDLE_V03, Some(SPDX_PREDICATE)),
            referrer(3, SIGSTORE_BUNDLE_V03, None),
            referrer(4, SPDX_JSON, None),
        ];
        assert_eq!(
            signature_digests(Some(digest(0)), referrers.clone()),
            [digest(0), digest(1), digest(3)]
        );
        assert_eq!(signature_digests(None, referrers), [digest(1), digest(3)]);
    }
}
