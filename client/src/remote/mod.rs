//! Pushing and pulling policies to and from OCI registries, on the `oci-client` crate.
//!
//! Nothing of `oci-client` shows outside this module: callers deal in
//! [`RegistryRef`](artifact::reference::RegistryRef), [`PolicyArtifact`](artifact::oci::policy::PolicyArtifact)
//! and [`Digest`](artifact::oci::Digest). Every manifest and blob fetched is checked against its digest before
//! it is returned.

mod catalog;
mod client;
mod copy;
pub mod credentials;
mod progress;
mod repository;
mod session;
mod signatures;
pub mod sources;
mod transport;
mod upload;

pub use client::{Remote, RemoteOptions};
pub use copy::{Attachments, Copied};
pub use progress::{Progress, Silent};
pub use repository::{FetchedManifest, Repository};
pub use upload::Chunking;

/// Parses `text` as a registry reference, panicking on anything else: a shorthand for unit tests.
#[cfg(test)]
pub(crate) fn registry_ref(text: &str) -> artifact::reference::RegistryRef {
    text.parse().unwrap_or_else(|err| panic!("{text}: {err}"))
}
