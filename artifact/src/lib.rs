//! Policy artifacts: Wasm modules that carry their own policy metadata.
//!
//! - [`metadata`]: the Kubewarden-compatible metadata model and its validation;
//! - [`wasm`]: the section scanner, the `io.kubewarden.metadata` section, producers and names;
//! - [`oci`]: digests, media types and the name grammar of the OCI specifications;
//! - [`reference`]: where a policy lives (registry or OCI layout folder);
//! - [`store`]: the local content-addressed store of pulled policies, and the archives that carry them
//!   across an air gap (palisade's and kwctl's);
//! - [`layout`]: OCI image layout folders;
//! - [`remote`]: push and pull with registries (credentials, sources, transports, retries);
//! - [`annotate`], [`inspect`], [`strip`]: the operations on module files;
//! - [`distribute`]: push a module, pull a policy into the store, save policies to an archive.

pub mod annotate;
pub mod blobs;
pub mod cosign;
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
