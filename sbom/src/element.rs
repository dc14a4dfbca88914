//! The elements a standard asks of every component of an SBOM: what the conformance check looks
//! for, and what a document's note may declare unknown.

use serde::Serialize;

/// An element of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Element {
    /// Who supplies it.
    Supplier,
    /// Its name.
    Name,
    /// Its version.
    Version,
    /// An identifier that names it outside the document (package URL, digest).
    UniqueIdentifier,
    /// A cryptographic hash of it.
    Hash,
    /// How it relates to the other components.
    Relationships,
    /// Its license.
    License,
    /// Its copyright notice.
    Copyright,
}

impl Element {
    /// Its name in a report.
    pub fn name(self) -> &'static str {
        match self {
            Element::Supplier => "supplier",
            Element::Name => "name",
            Element::Version => "version",
            Element::UniqueIdentifier => "unique identifier",
            Element::Hash => "hash",
            Element::Relationships => "relationships",
            Element::License => "license",
            Element::Copyright => "copyright notice",
        }
    }
}
