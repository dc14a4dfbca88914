//! The document formats, and the names this crate writes into every document: the creating tool
//! and the prefix of its properties.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, SbomError};

/// The name and version written as the creating tool.
pub const TOOL_NAME: &str = "palisade";
/// The version of the creating tool.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Prefix of the properties this crate writes.
pub const PROPERTY_PREFIX: &str = "palisade:policy:";

/// An SBOM document format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// SPDX 2.3, JSON serialization.
    #[default]
    SpdxJson,
    /// CycloneDX 1.6, JSON serialization.
    CycloneDxJson,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::SpdxJson => "spdx-json",
            Format::CycloneDxJson => "cyclonedx-json",
        }
    }

    /// The media type of the document (the `artifactType` of an attached SBOM).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::SpdxJson => artifact::cosign::SPDX_JSON,
            Format::CycloneDxJson => artifact::cosign::CYCLONEDX_JSON,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = SbomError;

    fn from_str(name: &str) -> Result<Format> {
        match name {
            "spdx-json" | "spdx" => Ok(Format::SpdxJson),
            "cyclonedx-json" | "cyclonedx" => Ok(Format::CycloneDxJson),
            other => Err(SbomError::UnknownFormat(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in [Format::SpdxJson, Format::CycloneDxJson] {
            assert_eq!(format.name().parse::<Format>().ok(), Some(format));
        }
    }

    #[test]
    fn unknown_format_is_named() {
        let err = "spdx-xml".parse::<Format>().err().map(|e| e.to_string());
        let message = err.unwrap_or_default();
        assert!(message.contains("spdx-xml"), "{message}");
        assert!(message.contains("cyclonedx-json"), "{message}");
    }
}
