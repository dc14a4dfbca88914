//! .NET: `packages.lock.json` (NuGet's lock file: packages by target framework), read into a
//! typed model.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::dependency::{Dependency, Ecosystem, HashAlgorithm, PackageHash};
use super::graph::Graph;
use super::note::{Note, Subject};
use super::parsed::{Parsed, error_at, parse_json};
use crate::element::Element;
use crate::error::Result;

/// The note of every packages.lock.json.
pub const NOT_ESTABLISHED: &str = "NuGet: read from packages.lock.json: the package-to-package \
     edges, licenses and suppliers could not be established";

#[derive(Deserialize)]
struct Lock {
    dependencies: BTreeMap<String, BTreeMap<String, Entry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "type")]
    kind: Option<String>,
    resolved: Option<String>,
    /// The base64 SHA-512 of the package file.
    content_hash: Option<String>,
}

/// Parses `packages.lock.json` text read from `path`. Project references are skipped.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let lock: Lock = parse_json(path, text)?;
    let mut dependencies = Vec::new();
    for (framework, packages) in lock.dependencies {
        for (name, entry) in packages {
            if entry.kind.as_deref() == Some("Project") {
                continue;
            }
            let Some(version) = entry.resolved else {
                return Err(error_at(
                    path,
                    0,
                    format!("`dependencies.{framework}.{name}` has no `resolved` version"),
                ));
            };
            let hash = entry
                .content_hash
                .as_deref()
                .and_then(|hash| PackageHash::from_base64(HashAlgorithm::Sha512, hash));
            dependencies.push(Dependency::new(Ecosystem::Nuget, name, version).with_hash(hash));
        }
    }
    Ok(Parsed {
        graph: Graph {
            direct: dependencies.iter().cloned().collect(),
            ..Graph::default()
        },
        dependencies,
        notes: vec![Note::unknown(
            NOT_ESTABLISHED,
            Subject::Dependencies(Ecosystem::Nuget),
            &[Element::Supplier, Element::License],
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_every_framework_with_their_hash() {
        let hash = "A".repeat(86) + "==";
        let text = format!(
            r#"{{"version": 1, "dependencies": {{"net8.0": {{
            "WapcGuest": {{"type": "Direct", "requested": "[1.0.0, )", "resolved": "1.0.0", "contentHash": "{hash}"}},
            "Other": {{"type": "Project"}}
        }}}}}}"#
        );
        let deps = parse(Path::new("packages.lock.json"), &text)
            .map(|p| p.dependencies)
            .unwrap_or_default();
        assert_eq!(deps.len(), 1);
        assert_eq!(deps[0].purl(), "pkg:nuget/WapcGuest@1.0.0");
        assert_eq!(deps[0].hashes[0].value, "0".repeat(128));
    }

    #[test]
    fn a_missing_dependencies_object_is_named() {
        let err = parse(Path::new("packages.lock.json"), "{\"version\": 1}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("dependencies"), "{err}");
    }
}
