#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod attestation;
pub mod bundle;
pub mod config;
pub mod error;
pub mod file;
pub mod identity;
#[cfg(feature = "registry")]
pub mod inventory;
pub mod keys;
pub mod local;
#[cfg(feature = "registry")]
pub mod registry;
pub mod sigstore_verifier;
pub mod simple_signing;
pub mod trust;
pub mod tuf;
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
