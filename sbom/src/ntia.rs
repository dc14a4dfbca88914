//! The NTIA minimum elements of an SBOM ("The Minimum Elements For a Software Bill of Materials",
//! 2021), checked for every component: what an auditor would find missing.
//!
//! Each component (the policy, its toolchain, its dependencies) needs a supplier, a name, a version,
//! a unique identifier (a package URL, or for the policy its digest) and a relationship to the
//! rest; the document needs an author and a timestamp, which this crate always writes.

use serde::Serialize;

use crate::lockfile::Dependency;
use crate::model::Sbom;

/// A minimum element of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// How it relates to the other components.
    Relationships,
}

impl Element {
    /// Its name in a report.
    pub fn name(self) -> &'static str {
        match self {
            Element::Supplier => "supplier",
            Element::Name => "name",
            Element::Version => "version",
            Element::UniqueIdentifier => "unique identifier",
            Element::Relationships => "relationships",
        }
    }
}

/// A component that lacks some minimum elements.
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
}

/// The result of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// How many components the document describes.
    pub components: usize,
    /// The author of the SBOM data (the document's creator).
    pub author: String,
    /// The components that lack elements, in document order.
    pub gaps: Vec<Gap>,
}

impl Report {
    /// Whether every component has every minimum element.
    pub fn passes(&self) -> bool {
        self.gaps.is_empty()
    }
}

/// Checks `sbom` for the NTIA minimum elements, component by component.
pub fn check(sbom: &Sbom) -> Report {
    let mut gaps = Vec::new();
    let policy = &sbom.policy;
    push_gap(
        &mut gaps,
        "policy",
        &policy.name,
        policy.version.as_deref(),
        policy.purl.clone(),
        [
            (Element::Supplier, policy.supplier.is_some()),
            // The module's sha256 names it wherever it is.
            (Element::UniqueIdentifier, true),
            (Element::Relationships, true),
        ],
    );
    for tool in &sbom.toolchain {
        push_gap(
            &mut gaps,
            "toolchain",
            &tool.name,
            tool.version.as_deref(),
            None,
            [
                (Element::Supplier, false),
                (Element::UniqueIdentifier, false),
                (Element::Relationships, true),
            ],
        );
    }
    let related = |dependency: &Dependency| {
        sbom.direct_dependencies().any(|d| d == dependency)
            || sbom
                .graph
                .edges
                .iter()
                .any(|(from, to)| from == dependency || to == dependency)
    };
    for dependency in &sbom.dependencies {
        push_gap(
            &mut gaps,
            "dependency",
            &dependency.name,
            Some(&dependency.version),
            Some(dependency.purl()),
            [
                (Element::Supplier, dependency.supplier.is_some()),
                (Element::UniqueIdentifier, true),
                (Element::Relationships, related(dependency)),
            ],
        );
    }
    Report {
        components: 1 + sbom.toolchain.len() + sbom.dependencies.len(),
        author: format!("Tool: {}-{}", crate::TOOL_NAME, crate::TOOL_VERSION),
        gaps,
    }
}

fn push_gap(
    gaps: &mut Vec<Gap>,
    role: &'static str,
    name: &str,
    version: Option<&str>,
    purl: Option<String>,
    present: [(Element, bool); 3],
) {
    let mut missing = Vec::new();
    if name.trim().is_empty() {
        missing.push(Element::Name);
    }
    if version.is_none_or(|v| v.trim().is_empty()) {
        missing.push(Element::Version);
    }
    missing.extend(
        present
            .into_iter()
            .filter(|(_, present)| !present)
            .map(|(element, _)| element),
    );
    missing.sort_by_key(|element| *element as u8);
    if !missing.is_empty() {
        gaps.push(Gap {
            role,
            component: match version {
                Some(version) => format!("{name} {version}"),
                None => name.to_string(),
            },
            purl,
            missing,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::Ecosystem;
    use crate::model::{Options, Origin};

    #[test]
    fn each_component_is_reported_with_what_it_lacks() {
        let module = test_support::compile_fixture("wapc-accept");
        let origin = Origin::File("p.wasm".into());
        let mut sbom = Sbom::build(&module, &origin, &Options::default())
            .unwrap_or_else(|err| panic!("{err}"));
        let linked = Dependency::new(Ecosystem::Cargo, "serde", "1.0.228");
        let mut supplied = Dependency::new(Ecosystem::Cargo, "itoa", "1.0.15");
        supplied.supplier = Some("David Tolnay <dtolnay@gmail.com>".to_string());
        sbom.graph.direct.insert(linked.clone());
        sbom.dependencies = vec![supplied, linked];
        let report = check(&sbom);
        assert_eq!(report.components, 3);
        let gaps: Vec<(&str, &str, Vec<Element>)> = report
            .gaps
            .iter()
            .map(|g| (g.role, g.component.as_str(), g.missing.clone()))
            .collect();
        let digest = sbom.policy.sha256.to_string();
        assert_eq!(
            gaps,
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
        assert!(!report.passes());
    }
}
