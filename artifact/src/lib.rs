//! Policy artifacts: Wasm modules that carry their own policy metadata.
//!
//! - [`metadata`]: the Kubewarden-compatible metadata model and its validation;
//! - [`wasm`]: the section scanner, the `io.kubewarden.metadata` section, producers and names;
//! - [`oci`]: digests, media types and the name grammar of the OCI specifications;
//! - [`reference`]: where a policy lives (a file, an OCI layout folder or a registry);
//! - [`cosign`]: cosign's and Sigstore's names (tags, media types, annotations, predicate types);
//! - [`annotate`], [`inspect`], [`strip`]: the operations on module files;
//! - [`scaffold`]: the Kubewarden documents made from metadata (policy resources, Artifact Hub packages).
//!
//! Pure formats only: no network, no async runtime. Moving policies is the `client` crate's job.

pub mod annotate;
pub mod cosign;
pub mod error;
pub mod files;
pub mod inspect;
pub mod metadata;
pub mod oci;
pub mod reference;
pub mod scaffold;
pub mod strip;
pub mod wasm;

pub use error::{ArtifactError, Result};
