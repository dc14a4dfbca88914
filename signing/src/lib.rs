//! Cosign-compatible signing and verification of policy artifacts.
//!
//! Everything here is pure: functions take bytes or JSON fetched by the caller and return what to push, so the
//! registry I/O stays in `artifact::remote` and the CLI.
//!
//! - [`keys`]: cosign key files (encrypted `ENCRYPTED SIGSTORE PRIVATE KEY`, PKCS#8, SEC1, PKIX public keys);
//! - [`simple_signing`]: cosign's simple-signing payload and the `sha256-<hex>.sig` signature image, with merging;
//! - [`bundle`]: Sigstore bundle v0.3 with a DSSE envelope over an in-toto statement, and its OCI 1.1 referrer;
//! - [`config`]: Kubewarden's verification config file (`apiVersion: v1`, `allOf`, `anyOf`);
//! - [`verify`]: composable verifiers and [`verify::VerifiedArtifact`], obtainable only by passing verification.

pub mod bundle;
pub mod config;
pub mod error;
pub mod keys;
pub mod media_types;
pub mod simple_signing;
pub mod verify;

pub use error::{Result, SigningError};

/// A blob to push before the manifest that names it: its descriptor and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Media type, digest and size.
    pub descriptor: artifact::oci::manifest::Descriptor,
    /// The content.
    pub content: Vec<u8>,
}
