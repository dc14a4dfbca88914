//! The local content-addressed store of pulled policies.
//!
//! Layout under the store folder: `blobs/<algorithm>/<hex>` holds every blob (manifests, configs, modules)
//! named by its digest; `index.json` maps references to manifest digests; `index.lock` serializes writers.
//! Every file is written to a temporary name, synced and renamed, and an import either lands whole (blobs
//! and index entry) or leaves the store as it was, so two concurrent pulls, or a pull that fails half-way,
//! never leave a reference that points at missing or partial content.
//!
//! Policies loaded from an archive ([`archive`]) are kept with the manifests attached to them (signatures,
//! attestations, SBOMs), and a client given the store serves them from here ([`StoredRepository`]).

pub mod archive;
mod attached;
mod folder;
mod index;
mod listing;

pub use attached::{ArchiveImport, StoredRepository};
pub use folder::{Store, StoreEntry};
pub use listing::PolicySummary;
