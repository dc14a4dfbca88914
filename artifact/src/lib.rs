//! Policy artifacts: Wasm modules that carry their own policy metadata.
//!
//! - [`metadata`]: the Kubewarden-compatible metadata model and its validation;
//! - [`wasm`]: the section scanner, the `io.kubewarden.metadata` section, producers and names;
//! - [`oci`]: digests, media types and the name grammar of the OCI specifications;
//! - [`reference`]: where a policy lives (registry or OCI layout folder);
//! - [`store`]: the local content-addressed store of pulled policies;
//! - [`layout`]: OCI image layout folders and their tarballs (bundles);
//! - [`remote`]: push and pull with registries (credentials, sources, transports, retries);
//! - [`annotate`], [`inspect`], [`strip`]: the operations on module files;
//! - [`distribute`]: push a module, pull a policy into the store.

pub mod annotate;
pub mod blobs;
pub mod distribute;
pub mod error;
pub mod files;
pub mod inspect;
pub mod layout;
pub mod metadata;
pub mod oci;
pub mod reference;
pub mod remote;
pub mod store;
pub mod strip;
pub mod wasm;

pub use error::{ArtifactError, Result};
