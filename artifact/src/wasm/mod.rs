//! Reading and rewriting Wasm modules: sections, the metadata section, producers, names, exports.

mod exports;
mod metadata_section;
mod names;
mod producers;
mod sections;
mod splice;
mod validate;

pub use exports::{DetectedAbi, detect_abi};
pub use metadata_section::{METADATA_SECTION, read_metadata, strip_metadata, write_metadata};
pub use names::{NameSummary, read_names};
pub use producers::{Producer, Producers, read_producers};
pub use sections::{Section, SectionMap};
pub use splice::Spliced;
pub use validate::validate_module;
