//! Reading and rewriting Wasm modules: sections, the metadata section, producers, names, exports.

mod exports;
mod metadata_section;
mod names;
mod producers;
mod sections;
mod splice;

pub use exports::{DetectedAbi, detect_abi};
pub use metadata_section::{METADATA_SECTION, read_metadata, strip_metadata, write_metadata};
pub use names::{NameSummary, read_names};
pub use producers::{Producer, Producers, read_producers};
pub use sections::{Section, SectionMap};
pub use splice::Spliced;

use crate::error::{ArtifactError, Result};

/// Runs the WebAssembly validator over the whole module.
pub fn validate_module(bytes: &[u8]) -> Result<()> {
    wasmparser::Validator::new()
        .validate_all(bytes)
        .map(|_| ())
        .map_err(|err| ArtifactError::Invalid(err.to_string()))
}
