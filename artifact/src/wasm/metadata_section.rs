//! The `io.kubewarden.metadata` custom section: read, write (replacing any old one) and strip.

use super::sections::SectionMap;
use super::splice::Spliced;
use crate::error::{ArtifactError, Result};
use crate::metadata::Metadata;

/// The name of the custom section that holds policy metadata, as Kubewarden defines it.
pub const METADATA_SECTION: &str = "io.kubewarden.metadata";

/// The policy metadata embedded in the module, if there is any.
pub fn read_metadata(map: &SectionMap<'_>) -> Result<Option<Metadata>> {
    let sections: Vec<_> = map.custom_sections(METADATA_SECTION).collect();
    match sections.as_slice() {
        [] => Ok(None),
        [section] => Metadata::from_section_data(section.data()).map(Some),
        _ => Err(ArtifactError::DuplicateMetadataSection {
            count: sections.len(),
        }),
    }
}

/// The module with `metadata` as its one metadata section.
pub fn write_metadata<'a>(map: &SectionMap<'a>, metadata: &Metadata) -> Result<Spliced<'a>> {
    let data = metadata.to_section_data()?;
    Ok(Spliced::replace_custom(map, METADATA_SECTION, Some(&data)))
}

/// The module without any metadata section.
pub fn strip_metadata<'a>(map: &SectionMap<'a>) -> Spliced<'a> {
    Spliced::replace_custom(map, METADATA_SECTION, None)
}
