//! A scanner over a module's section stream: where each section lies, and the names of custom ones.
//!
//! It reads only section headers and custom-section names, so it is cheap on large modules and
//! lets writers copy every other byte as it is.

use std::ops::Range;

use wasmparser::{BinaryReader, BinaryReaderError, CustomSectionReader};

use crate::error::{ArtifactError, Result};

/// The Wasm magic number.
const MAGIC: &[u8; 4] = b"\0asm";
/// The version word of a core module (a component has another).
const CORE_MODULE_VERSION: u32 = 1;
/// Length of the magic number plus the version word.
pub(super) const HEADER_LEN: usize = 8;
/// The id of custom sections.
const CUSTOM_SECTION_ID: u8 = 0;

/// One section of a module.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    /// The section id (0 for custom sections).
    pub id: u8,
    /// The whole section: id byte, size and payload.
    pub range: Range<usize>,
    /// Name and data, for a custom section.
    pub custom: Option<CustomSectionReader<'a>>,
}

impl Section<'_> {
    /// The custom section's name, if this is one.
    pub fn custom_name(&self) -> Option<&str> {
        self.custom.as_ref().map(CustomSectionReader::name)
    }
}

/// A core Wasm module seen as its list of sections.
#[derive(Debug, Clone)]
pub struct SectionMap<'a> {
    bytes: &'a [u8],
    sections: Vec<Section<'a>>,
}

impl<'a> SectionMap<'a> {
    /// Reads the header and every section header; fails on anything that is not a well-formed
    /// core module section stream (a bad magic, a component, a length that runs past the end).
    pub fn scan(bytes: &'a [u8]) -> Result<Self> {
        check_header(bytes)?;
        let mut reader = BinaryReader::new(&bytes[HEADER_LEN..], HEADER_LEN);
        let mut sections = Vec::new();
        while !reader.eof() {
            let start = reader.original_position();
            let id = reader.read_u8().map_err(malformed)?;
            let size = reader.read_var_u32().map_err(malformed)? as usize;
            let payload_start = reader.original_position();
            if size > reader.bytes_remaining() {
                return Err(ArtifactError::Malformed {
                    offset: start,
                    reason: format!(
                        "section {id} declares {size} bytes but only {} remain in the file (truncated?)",
                        reader.bytes_remaining()
                    ),
                });
            }
            let payload = reader.read_bytes(size).map_err(malformed)?;
            let custom = if id == CUSTOM_SECTION_ID {
                Some(
                    CustomSectionReader::new(BinaryReader::new(payload, payload_start))
                        .map_err(malformed)?,
                )
            } else {
                None
            };
            sections.push(Section {
                id,
                range: start..payload_start + size,
                custom,
            });
        }
        Ok(SectionMap { bytes, sections })
    }

    /// The module's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every section, in file order.
    pub fn sections(&self) -> &[Section<'a>] {
        &self.sections
    }

    /// The custom sections called `name`, in file order.
    pub fn custom_sections<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s CustomSectionReader<'a>> + 's {
        self.sections
            .iter()
            .filter_map(|section| section.custom.as_ref())
            .filter(move |custom| custom.name() == name)
    }
}

fn check_header(bytes: &[u8]) -> Result<()> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] || bytes.is_empty() {
        return Err(ArtifactError::NotWasm);
    }
    let Some(version) = bytes.get(MAGIC.len()..HEADER_LEN) else {
        return Err(ArtifactError::Malformed {
            offset: bytes.len(),
            reason: "the file ends inside the 8-byte module header (truncated?)".into(),
        });
    };
    let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
    if version != CORE_MODULE_VERSION {
        return Err(ArtifactError::UnsupportedVersion { version });
    }
    Ok(())
}

fn malformed(err: BinaryReaderError) -> ArtifactError {
    ArtifactError::Malformed {
        offset: err.offset(),
        reason: err.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(sections: &[u8]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend_from_slice(sections);
        bytes
    }

    #[test]
    fn lists_sections_with_their_ranges() {
        // A custom section "ab" holding "xy", then an empty type section.
        let bytes = module(b"\x00\x05\x02abxy\x01\x01\x00");
        let map = SectionMap::scan(&bytes).unwrap();
        let sections = map.sections();
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].range, 8..15);
        assert_eq!(sections[0].custom_name(), Some("ab"));
        assert_eq!(sections[0].custom.as_ref().unwrap().data(), b"xy");
        assert_eq!((sections[1].id, sections[1].range.clone()), (1, 15..18));
        assert_eq!(map.custom_sections("ab").count(), 1);
    }

    #[test]
    fn refuses_what_is_not_a_module() {
        assert!(matches!(SectionMap::scan(b""), Err(ArtifactError::NotWasm)));
        assert!(matches!(
            SectionMap::scan(b"PK\x03\x04zip"),
            Err(ArtifactError::NotWasm)
        ));
        assert!(matches!(
            SectionMap::scan(b"\0asm\x01"),
            Err(ArtifactError::Malformed { .. })
        ));
        assert!(matches!(
            SectionMap::scan(b"\0asm\x0d\0\x01\0"),
            Err(ArtifactError::UnsupportedVersion { version: 0x1000d })
        ));
    }

    #[test]
    fn a_length_past_the_end_names_the_section() {
        let err = SectionMap::scan(&module(b"\x00\x7f\x02ab")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("offset 8") && text.contains("127 bytes"),
            "{text}"
        );
    }

    #[test]
    fn a_custom_name_longer_than_its_section_is_malformed() {
        let err = SectionMap::scan(&module(b"\x00\x02\x09a")).unwrap_err();
        assert!(matches!(err, ArtifactError::Malformed { .. }), "{err}");
    }
}
