//! Inspecting a module: what it is, who built it and what its metadata says.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::files;
use crate::metadata::Metadata;
use crate::wasm::{self, NameSummary, Producers, SectionMap};

/// Everything `inspect` reports about a module. Its JSON form is a stable interface.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    /// Hex sha256 of the module's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
    /// The custom sections, by name, in file order.
    pub custom_sections: Vec<String>,
    /// The `producers` section.
    pub producers: Producers,
    /// The `name` section, summarized.
    pub names: Option<NameSummary>,
    /// The embedded policy metadata; `None` for a module that was never annotated.
    pub metadata: Option<Metadata>,
}

/// Reads and reports on the module at `path`.
pub fn inspect_file(path: &Path) -> Result<ModuleReport> {
    let bytes = files::read(path)?;
    inspect(&bytes).map_err(|err| err.in_file(path))
}

/// Reports on a module's bytes.
pub fn inspect(bytes: &[u8]) -> Result<ModuleReport> {
    let map = SectionMap::scan(bytes)?;
    Ok(ModuleReport {
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len(),
        custom_sections: map
            .sections()
            .iter()
            .filter_map(|section| section.custom_name().map(str::to_string))
            .collect(),
        producers: wasm::read_producers(&map)?,
        names: wasm::read_names(&map),
        metadata: wasm::read_metadata(&map)?,
    })
}
