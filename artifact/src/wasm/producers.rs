//! The `producers` custom section: the languages, tools and SDKs that built a module.

use std::collections::BTreeMap;

use serde::Serialize;
use wasmparser::KnownCustom;

use super::sections::SectionMap;
use crate::error::{ArtifactError, Result};

/// One producer entry: a name and, where recorded, a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Producer {
    /// `Rust`, `rustc`, `walrus`, `tinygo`…
    pub name: String,
    /// As recorded; may be empty.
    pub version: String,
}

/// The producers section by field (`language`, `processed-by`, `sdk`…), empty when absent.
pub type Producers = BTreeMap<String, Vec<Producer>>;

/// Reads the producers section; fails only if one is present and malformed.
pub fn read_producers(map: &SectionMap<'_>) -> Result<Producers> {
    let mut producers = Producers::new();
    for section in map.custom_sections("producers") {
        let KnownCustom::Producers(reader) = section.as_known() else {
            continue;
        };
        for field in reader {
            let field = field.map_err(malformed_producers)?;
            let entries = producers.entry(field.name.to_string()).or_default();
            for value in field.values {
                let value = value.map_err(malformed_producers)?;
                entries.push(Producer {
                    name: value.name.to_string(),
                    version: value.version.to_string(),
                });
            }
        }
    }
    Ok(producers)
}

fn malformed_producers(err: wasmparser::BinaryReaderError) -> ArtifactError {
    ArtifactError::Malformed {
        offset: err.offset(),
        reason: format!("malformed `producers` section: {}", err.message()),
    }
}
