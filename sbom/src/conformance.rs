//! Whether an SBOM has the elements a standard asks of every component, component by component:
//! what an auditor would find missing.
//!
//! Two standards, one check with two rule sets ([`Standard::elements`]):
//!
//! - **NTIA** ("The Minimum Elements For a Software Bill of Materials", 2021): supplier, name,
//!   version, a unique identifier (a package URL, or for the policy its digest) and a relationship
//!   to the rest; the document's author and timestamp.
//! - **FSCT3** (CISA, "Framing Software Component Transparency", third edition, 2024, its minimum
//!   expected baseline attributes): the NTIA elements plus a cryptographic hash, the license and the
//!   copyright notice; the document's author, timestamp, type and primary component. FSCT lets an
//!   author declare an attribute unknown ("known unknowns"): an element the document declares
//!   unknown, with the reason ([`Note`]), is reported as such rather than as missing.
//!
//! The document-level elements (author, timestamp, type, the policy as primary component) are
//! always written by this crate; the report gives the author and the types for the record.

use serde::Serialize;

pub use crate::element::Element;
use crate::lockfile::{Dependency, Note, Subject};
use crate::model::Sbom;

/// A standard the check measures against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standard {
    /// The NTIA minimum elements (2021).
    Ntia,
    /// CISA's "Framing Software Component Transparency" (2024), minimum expected.
    Fsct3,
}

impl Standard {
    /// What it is called in a report.
    pub fn title(self) -> &'static str {
        match self {
            Standard::Ntia => "NTIA minimum elements",
            Standard::Fsct3 => "FSCT3 baseline attributes (minimum expected)",
        }
    }

    /// The elements it asks of every component, in report order.
    pub fn elements(self) -> &'static [Element] {
        match self {
            Standard::Ntia => &[
                Element::Supplier,
                Element::Name,
                Element::Version,
                Element::UniqueIdentifier,
                Element::Relationships,
            ],
            Standard::Fsct3 => &[
                Element::Supplier,
                Element::Name,
                Element::Version,
                Element::UniqueIdentifier,
                Element::Hash,
                Element::Relationships,
                Element::License,
                Element::Copyright,
            ],
        }
    }

    /// Whether an element the document declares unknown satisfies it (FSCT's "known unknowns";
    /// NTIA's checkers count NOASSERTION as missing).
    fn accepts_declared_unknowns(self) -> bool {
        matches!(self, Standard::Fsct3)
    }
}

/// An element the document declares unknown, and why (the document's note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// The element.
    pub element: Element,
    /// The document's note that declares it unknown.
    pub reason: String,
}

/// A component that lacks some elements, or declares them unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// What the component is: `policy`, `toolchain` or `dependency`.
    pub role: &'static str,
    /// Its name and version as far as known.
    pub component: String,
    /// Its package URL, when it has one.
    pub purl: Option<String>,
    /// The elements it lacks.
    pub missing: Vec<Element>,
    /// The elements the document declares unknown, with the reason (FSCT3 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<Unknown>,
}

/// The result of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The standard checked against.
    pub standard: Standard,
    /// How many components the document describes.
    pub components: usize,
    /// The author of the SBOM data (the document's creator).
    pub author: String,
    /// The SBOM types the document declares.
    pub types: Vec<&'static str>,
    /// The components that lack elements or declare them unknown, in document order.
    pub gaps: Vec<Gap>,
}

impl Report {
    /// Whether every component has every element (or, where the standard allows, declares it
    /// unknown).
    pub fn passes(&self) -> bool {
        self.gaps.iter().all(|gap| gap.missing.is_empty())
    }

    /// The elements every component declares unknown (a summary says them once).
    pub fn unknown_everywhere(&self) -> Vec<Element> {
        if self.gaps.len() < self.components {
            return Vec::new();
        }
        self.standard
            .elements()
            .iter()
            .copied()
            .filter(|element| {
                self.gaps
                    .iter()
                    .all(|gap| gap.unknown.iter().any(|u| u.element == *element))
            })
            .collect()
    }

    /// How many components lack an element.
    pub fn incomplete(&self) -> usize {
        self.gaps
            .iter()
            .filter(|gap| !gap.missing.is_empty())
            .count()
    }
}

/// Whether a component has an element: present, declared unknown (by the note), or neither.
enum Presence<'a> {
    Present,
    Unknown(&'a Note),
    Missing,
}

/// One component as the check sees it: what it is and which elements it has.
struct Component<'a> {
    role: &'static str,
    subject: Subject,
    name: &'a str,
    version: Option<&'a str>,
    purl: Option<String>,
    /// Elements besides the name and version, with whether the component has them.
    has: [(Element, bool); 6],
}

/// Checks `sbom` against `standard`, component by component.
pub fn check(sbom: &Sbom, standard: Standard) -> Report {
    let policy = &sbom.policy;
    let mut components = vec![Component {
        role: "policy",
        subject: Subject::Policy,
        name: &policy.name,
        version: policy.version.as_deref(),
        purl: policy.purl.clone(),
        has: [
            (Element::Supplier, policy.supplier.is_some()),
            // The module's sha256 names it wherever it is.
            (Element::UniqueIdentifier, true),
            (Element::Hash, true),
            (Element::Relationships, true),
            (Element::License, policy.license.is_some()),
            (Element::Copyright, false),
        ],
    }];
    components.extend(sbom.toolchain.iter().map(|tool| Component {
        role: "toolchain",
        subject: Subject::Toolchain,
        name: &tool.name,
        version: tool.version.as_deref(),
        purl: None,
        has: [
            (Element::Supplier, false),
            (Element::UniqueIdentifier, false),
            (Element::Hash, false),
            // BUILD_TOOL_OF the policy.
            (Element::Relationships, true),
            (Element::License, false),
            (Element::Copyright, false),
        ],
    }));
    let related = |dependency: &Dependency| {
        sbom.direct_dependencies().any(|d| d == dependency)
            || sbom
                .graph
                .edges
                .iter()
                .any(|(from, to)| from == dependency || to == dependency)
    };
    components.extend(sbom.dependencies.iter().map(|dependency| Component {
        role: "dependency",
        subject: Subject::Dependencies(dependency.ecosystem),
        name: &dependency.name,
        version: Some(&dependency.version),
        purl: Some(dependency.purl()),
        has: [
            (Element::Supplier, dependency.supplier.is_some()),
            (Element::UniqueIdentifier, true),
            (Element::Hash, !dependency.hashes.is_empty()),
            (Element::Relationships, related(dependency)),
            (Element::License, dependency.license.is_some()),
            (Element::Copyright, false),
        ],
    }));
    Report {
        standard,
        components: components.len(),
        author: format!(
            "Tool: {}-{}",
            crate::format::TOOL_NAME,
            crate::format::TOOL_VERSION
        ),
        types: sbom.types().into_iter().map(|(name, _)| name).collect(),
        gaps: components
            .iter()
            .filter_map(|component| gap(component, &sbom.notes, standard))
            .collect(),
    }
}

/// What `component` lacks (or declares unknown) of what `standard` asks.
fn gap(component: &Component<'_>, notes: &[Note], standard: Standard) -> Option<Gap> {
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    for &element in standard.elements() {
        let present = match element {
            Element::Name => !component.name.trim().is_empty(),
            Element::Version => component.version.is_some_and(|v| !v.trim().is_empty()),
            _ => component
                .has
                .iter()
                .any(|&(has, present)| has == element && present),
        };
        let presence = if present {
            Presence::Present
        } else {
            notes
                .iter()
                .find(|note| note.declares_unknown(component.subject, element))
                .map_or(Presence::Missing, Presence::Unknown)
        };
        match presence {
            Presence::Present => {}
            Presence::Unknown(note) if standard.accepts_declared_unknowns() => {
                unknown.push(Unknown {
                    element,
                    reason: note.text.clone(),
                })
            }
            Presence::Unknown(_) | Presence::Missing => missing.push(element),
        }
    }
    if missing.is_empty() && unknown.is_empty() {
        return None;
    }
    Some(Gap {
        role: component.role,
        component: match component.version {
            Some(version) => format!("{} {version}", component.name),
            None => component.name.to_string(),
        },
        purl: component.purl.clone(),
        missing,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::{Ecosystem, HashAlgorithm, PackageHash};
    use crate::model::{Options, Origin};

    /// The WAT fixture (no metadata, no toolchain) with two crates: itoa (supplied, hashed,
    /// licensed, unrelated) and serde (the policy's direct dependency, nothing else known).
    fn fixture() -> Sbom {
        let module = test_support::compile_fixture("wapc-accept");
        let origin = Origin::File("p.wasm".into());
        let mut sbom = Sbom::build(&module, &origin, &Options::default())
            .unwrap_or_else(|err| panic!("{err}"));
        let linked = Dependency::new(Ecosystem::Cargo, "serde", "1.0.228");
        let mut supplied = Dependency::new(Ecosystem::Cargo, "itoa", "1.0.15").with_hash(
            PackageHash::from_hex(HashAlgorithm::Sha256, &"ab".repeat(32)),
        );
        supplied.supplier = Some("David Tolnay <dtolnay@gmail.com>".to_string());
        supplied.license = Some("MIT OR Apache-2.0".to_string());
        sbom.graph.direct.insert(linked.clone());
        sbom.dependencies = vec![supplied, linked];
        sbom
    }

    fn missing(report: &Report) -> Vec<(&str, &str, Vec<Element>)> {
        report
            .gaps
            .iter()
            .map(|g| (g.role, g.component.as_str(), g.missing.clone()))
            .collect()
    }

    #[test]
    fn ntia_reports_each_component_with_what_it_lacks() {
        let sbom = fixture();
        let report = check(&sbom, Standard::Ntia);
        assert_eq!(report.components, 3);
        let digest = sbom.policy.sha256.to_string();
        assert_eq!(
            missing(&report),
            [
                (
                    "policy",
                    format!("p {digest}").as_str(),
                    vec![Element::Supplier]
                ),
                ("dependency", "itoa 1.0.15", vec![Element::Relationships]),
                ("dependency", "serde 1.0.228", vec![Element::Supplier]),
            ]
        );
        assert!(report.gaps.iter().all(|g| g.unknown.is_empty()));
        assert!(!report.passes());
    }

    #[test]
    fn fsct3_asks_for_hashes_licenses_and_copyright_and_takes_declared_unknowns() {
        let mut sbom = fixture();
        let report = check(&sbom, Standard::Fsct3);
        let digest = sbom.policy.sha256.to_string();
        assert_eq!(
            missing(&report),
            [
                (
                    "policy",
                    format!("p {digest}").as_str(),
                    vec![Element::Supplier, Element::License]
                ),
                ("dependency", "itoa 1.0.15", vec![Element::Relationships]),
                (
                    "dependency",
                    "serde 1.0.228",
                    vec![Element::Supplier, Element::Hash, Element::License]
                ),
            ]
        );
        // No input records copyright notices, and the document says so for every component.
        for gap in &report.gaps {
            let unknown: Vec<Element> = gap.unknown.iter().map(|u| u.element).collect();
            assert_eq!(unknown, [Element::Copyright], "{gap:?}");
            assert!(gap.unknown[0].reason.starts_with("Copyright notices"));
        }
        assert_eq!(report.unknown_everywhere(), [Element::Copyright]);
        assert_eq!(report.types, ["analyzed"]);

        // A lockfile-only Cargo read declares the crates' suppliers and licenses unknown: serde
        // now lacks only its hash (Cargo.lock records none for it here).
        sbom.notes
            .push(crate::lockfile::cargo_graph::not_established());
        let report = check(&sbom, Standard::Fsct3);
        let serde = report.gaps.iter().find(|g| g.component == "serde 1.0.228");
        assert_eq!(serde.map(|g| g.missing.clone()), Some(vec![Element::Hash]));
        let unknown: Vec<Element> = serde
            .map(|g| g.unknown.iter().map(|u| u.element).collect())
            .unwrap_or_default();
        assert_eq!(
            unknown,
            [Element::Supplier, Element::License, Element::Copyright]
        );
        // NTIA does not take NOASSERTION: serde's supplier is still missing.
        let ntia = check(&sbom, Standard::Ntia);
        assert!(
            ntia.gaps
                .iter()
                .any(|g| g.component == "serde 1.0.228" && g.missing == [Element::Supplier])
        );
        assert!(!report.passes());
    }
}
