//! Rewriting a module's section stream without re-encoding it: every section but the one replaced
//! is copied byte for byte.

use std::borrow::Cow;
use std::io::{self, Write};

use wasm_encoder::{CustomSection, Encode, Section};

use super::sections::{HEADER_LEN, SectionMap};

/// A module made of pieces of another plus new sections, ready to be written out.
#[derive(Debug, Clone)]
pub struct Spliced<'a> {
    parts: Vec<Cow<'a, [u8]>>,
}

impl<'a> Spliced<'a> {
    /// The module with every custom section called `name` removed, and, when `data` is given, one
    /// section of that name holding it: where the first old one stood, or else at the end.
    pub fn replace_custom(map: &SectionMap<'a>, name: &str, data: Option<&[u8]>) -> Self {
        let bytes = map.bytes();
        let mut replacement = data.map(|data| encode_custom(name, data));
        let mut parts = Vec::new();
        let mut kept = 0..HEADER_LEN;
        for section in map.sections() {
            if section.custom_name() == Some(name) {
                parts.push(Cow::Borrowed(&bytes[kept.clone()]));
                if let Some(new_section) = replacement.take() {
                    parts.push(Cow::Owned(new_section));
                }
                kept = section.range.end..section.range.end;
            } else {
                kept.end = section.range.end;
            }
        }
        parts.push(Cow::Borrowed(&bytes[kept]));
        if let Some(new_section) = replacement {
            parts.push(Cow::Owned(new_section));
        }
        parts.retain(|part| !part.is_empty());
        Spliced { parts }
    }

    /// The total size in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|part| part.len()).sum()
    }

    /// Whether there is nothing to write (never the case for a module).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the module out.
    pub fn write_to(&self, mut out: impl Write) -> io::Result<()> {
        for part in &self.parts {
            out.write_all(part)?;
        }
        Ok(())
    }

    /// The module as one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts.concat()
    }
}

/// A whole custom section: id, size, name and data.
fn encode_custom(name: &str, data: &[u8]) -> Vec<u8> {
    let custom = CustomSection {
        name: Cow::Borrowed(name),
        data: Cow::Borrowed(data),
    };
    let mut section = vec![custom.id()];
    custom.encode(&mut section);
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"\0asm\x01\0\0\0";
    const TYPES: &[u8] = b"\x01\x01\x00";
    const CUSTOM_AB: &[u8] = b"\x00\x05\x02abxy";
    const CUSTOM_CD: &[u8] = b"\x00\x03\x02cd";

    fn module(sections: &[&[u8]]) -> Vec<u8> {
        [HEADER]
            .iter()
            .chain(sections)
            .flat_map(|s| s.iter().copied())
            .collect()
    }

    fn splice(bytes: &[u8], data: Option<&[u8]>) -> Vec<u8> {
        let map = SectionMap::scan(bytes).unwrap();
        Spliced::replace_custom(&map, "ab", data).to_vec()
    }

    #[test]
    fn appends_when_absent() {
        let bytes = module(&[TYPES, CUSTOM_CD]);
        assert_eq!(
            splice(&bytes, Some(b"xy")),
            module(&[TYPES, CUSTOM_CD, CUSTOM_AB])
        );
    }

    #[test]
    fn replaces_in_place_and_drops_duplicates() {
        let bytes = module(&[CUSTOM_AB, TYPES, CUSTOM_AB, CUSTOM_CD]);
        assert_eq!(
            splice(&bytes, Some(b"zz")),
            module(&[b"\x00\x05\x02abzz", TYPES, CUSTOM_CD])
        );
    }

    #[test]
    fn removes_every_copy() {
        let bytes = module(&[CUSTOM_AB, TYPES, CUSTOM_AB, CUSTOM_CD]);
        assert_eq!(splice(&bytes, None), module(&[TYPES, CUSTOM_CD]));
        let map = SectionMap::scan(&bytes).unwrap();
        assert_eq!(
            Spliced::replace_custom(&map, "ab", None).len(),
            HEADER.len() + TYPES.len() + CUSTOM_CD.len()
        );
    }

    #[test]
    fn leaves_a_module_without_the_section_alone() {
        let bytes = module(&[TYPES, CUSTOM_CD]);
        assert_eq!(splice(&bytes, None), bytes);
    }
}
