//! Media types, annotation keys and fixed strings of cosign and Sigstore that `artifact::oci::media_types` does not
//! have (it keeps the OCI and Docker ones, which this crate uses from there).

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
/// The OCI annotation with the creation time, which cosign sets on referrer manifests.
pub const OCI_CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// The `critical.type` of a cosign simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The content of the empty OCI config blob (`application/vnd.oci.empty.v1+json`).
pub const EMPTY_JSON: &[u8] = b"{}";
