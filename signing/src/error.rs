//! The one error type of the crate. Messages say which check failed and what to do about it; the caller adds the
//! file name or reference it was working on when it has one.

/// Everything that can go wrong while reading keys, building or checking signatures, bundles and configs.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A key file is not PEM, or its content is not a key of the format its PEM label names.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// The key is well-formed but not one Palisade signs or verifies with (only ECDSA P-256 is).
    #[error(
        "unsupported key: {0}; Palisade uses ECDSA P-256 keys, the kind `cosign generate-key-pair` and `palisade key generate` make"
    )]
    UnsupportedKey(String),
    /// The password does not open the encrypted private key.
    #[error(
        "wrong password for the encrypted private key (the secretbox did not open): check COSIGN_PASSWORD or the password typed"
    )]
    WrongPassword,
    /// The key could not be generated or encrypted.
    #[error("cannot create the key: {0}")]
    KeyGeneration(String),
    /// A signature is not base64 or not an ASN.1 DER ECDSA signature.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// A signature does not verify with the key.
    #[error("signature check failed: {0}")]
    BadSignature(String),
    /// A simple-signing payload is not the JSON cosign writes.
    #[error("malformed simple-signing payload: {0}")]
    MalformedPayload(String),
    /// A signature manifest (the `sha256-<hex>.sig` tag) or a referrer manifest is not what cosign writes.
    #[error("malformed signature manifest: {0}")]
    MalformedManifest(String),
    /// A layer's content does not hash to the digest its manifest names.
    #[error(
        "layer {digest} does not match its content (the registry returned other bytes than the manifest names)"
    )]
    LayerDigestMismatch {
        /// The digest the manifest names.
        digest: String,
    },
    /// A Sigstore bundle, its DSSE envelope or its in-toto statement is malformed.
    #[error("malformed Sigstore bundle: {0}")]
    MalformedBundle(String),
    /// An attestation's predicate type is neither a known name nor a URI.
    #[error(
        "unknown predicate type {0:?}: expected spdx, cyclonedx or a URI (such as https://slsa.dev/provenance/v1)"
    )]
    PredicateType(String),
    /// An attestation's predicate is not a JSON document.
    #[error("the predicate is not JSON: {0}")]
    MalformedPredicate(String),
    /// A Sigstore trusted root is unreadable or unusable.
    #[error("invalid trust root: {0}")]
    TrustRoot(String),
    /// A verification config file is invalid.
    #[error("invalid verification config: {0}")]
    Config(String),
    /// A file, digest or reference that cannot be read or used.
    #[error(transparent)]
    Artifact(#[from] artifact::ArtifactError),
    /// Talking to a registry, or reading a layout or the local store, failed.
    #[cfg(feature = "registry")]
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// Verification ran and its requirements were not met.
    #[error("{reference} is not verified: {reason}")]
    NotVerified {
        /// The reference (or digest) that was verified.
        reference: String,
        /// Which requirement failed, and why each signature did not meet it.
        reason: String,
    },
}

impl SigningError {
    /// Whether the caller's input is what is wrong, not the operation: an unknown predicate type, or such an
    /// error of the crates below. A command line reports it as a usage error. Keys, trust roots and verification
    /// configs are content the checks read (a trust root fetched through TUF fails as an invalid one does): the
    /// caller, which knows which of them it was handed as arguments, decides for those.
    pub fn is_usage(&self) -> bool {
        match self {
            SigningError::PredicateType(_) => true,
            SigningError::Artifact(error) => error.is_usage(),
            #[cfg(feature = "registry")]
            SigningError::Client(error) => error.is_usage(),
            _ => false,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = SigningError> = std::result::Result<T, E>;
