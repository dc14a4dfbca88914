//! Stripping a module of its policy metadata.

use std::path::Path;

use crate::error::Result;
use crate::files;
use crate::wasm::{self, SectionMap};

/// What stripping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stripped {
    /// Whether the module had metadata to remove.
    pub had_metadata: bool,
    /// The size of the written module.
    pub size: usize,
}

/// Writes `module` without its metadata section to `output` (atomically; may be the same file).
pub fn strip_file(module: &Path, output: &Path) -> Result<Stripped> {
    let bytes = files::read(module)?;
    let map = SectionMap::scan(&bytes).map_err(|err| err.in_file(module))?;
    let had_metadata = map.custom_sections(wasm::METADATA_SECTION).next().is_some();
    let spliced = wasm::strip_metadata(&map);
    files::write_atomic(output, |out| spliced.write_to(out))?;
    Ok(Stripped {
        had_metadata,
        size: spliced.len(),
    })
}
