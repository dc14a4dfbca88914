//! npm: `package-lock.json` (lockfile versions 2 and 3, whose `packages` map lists every installed
//! package by its `node_modules/…` path, with the names each one depends on), read into a typed
//! model.
//!
//! The lockfile records each package's license and integrity hashes, and marks what only
//! development needs (`dev: true`); it records no supplier.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::dependency::{
    Dependency, Ecosystem, HashAlgorithm, PackageHash, Scope, Source, spdx_license,
};
use super::graph::{EdgeKind, Graph};
use super::note::{Note, Subject};
use super::parsed::{Parsed, error_at, parse_json};
use crate::element::Element;
use crate::error::Result;

const NODE_MODULES: &str = "node_modules/";
/// The public registry: packages resolved from it have no `repository_url`.
const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

/// The note of every package-lock.json.
pub const NOT_ESTABLISHED: &str = "npm: read from package-lock.json: which of the production \
     packages the policy's bundle includes, and the packages' suppliers, could not be established";

/// The parts of `package-lock.json` an SBOM needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageLock {
    lockfile_version: Option<serde_json::Value>,
    packages: Option<BTreeMap<String, Entry>>,
}

/// One entry of `packages`: the project (key `""`) or an installed package.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    license: Option<License>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, String>,
}

/// A `license` field: an SPDX expression, or the old `{ "type": … }` object.
#[derive(Deserialize)]
#[serde(untagged)]
enum License {
    Expression(String),
    Legacy {
        #[serde(rename = "type")]
        kind: String,
    },
}

/// Parses `package-lock.json` text read from `path`. Linked (workspace) packages are skipped.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let lock: PackageLock = parse_json(path, text)?;
    let Some(packages) = lock.packages else {
        let version = lock.lockfile_version.unwrap_or_default();
        return Err(error_at(
            path,
            0,
            format!(
                "no `packages` object (lockfileVersion {version}); regenerate the lockfile with npm 7 or later"
            ),
        ));
    };
    let mut installed: BTreeMap<&str, Dependency> = BTreeMap::new();
    for (key, entry) in &packages {
        let Some(index) = key.rfind(NODE_MODULES) else {
            continue;
        };
        if entry.link {
            continue;
        }
        let name = entry
            .name
            .as_deref()
            .unwrap_or(&key[index + NODE_MODULES.len()..]);
        let Some(version) = &entry.version else {
            return Err(error_at(
                path,
                0,
                format!("the package `{key}` has no `version`"),
            ));
        };
        let mut dependency = Dependency::new(Ecosystem::Npm, name, version)
            .with_source(entry.resolved.as_deref().and_then(|r| source_of(name, r)));
        dependency.hashes = entry
            .integrity
            .as_deref()
            .map(integrity_hashes)
            .unwrap_or_default();
        dependency.license = entry.license.as_ref().map(|license| match license {
            License::Expression(text) | License::Legacy { kind: text } => spdx_license(text),
        });
        dependency.scope = if entry.dev {
            Scope::Dev
        } else {
            Scope::Runtime
        };
        installed.insert(key, dependency);
    }
    let mut graph = Graph::default();
    for (key, entry) in &packages {
        let from = installed.get(key.as_str());
        if from.is_none() && !key.is_empty() {
            continue;
        }
        for (name, dev) in depends_on(entry) {
            let Some(to) = resolve(&installed, key, name) else {
                continue;
            };
            match from {
                Some(from) => {
                    graph.edges.insert((from.clone(), to.clone()));
                }
                None => {
                    graph.direct.insert(to.clone());
                    if dev {
                        graph.kinds.insert((None, to.clone()), EdgeKind::Dev);
                    }
                }
            }
        }
    }
    Ok(Parsed {
        dependencies: installed.into_values().collect(),
        graph,
        notes: vec![Note::unknown(
            NOT_ESTABLISHED,
            Subject::Dependencies(Ecosystem::Npm),
            &[Element::Supplier],
        )],
    })
}

/// The names an entry depends on, each with whether it is a development dependency.
fn depends_on(entry: &Entry) -> impl Iterator<Item = (&str, bool)> {
    [
        (&entry.dependencies, false),
        (&entry.optional_dependencies, false),
        (&entry.peer_dependencies, false),
        (&entry.dev_dependencies, true),
    ]
    .into_iter()
    .flat_map(|(map, dev)| map.keys().map(move |name| (name.as_str(), dev)))
}

/// The hashes of an integrity value (`sha512-BASE64`, several separated by spaces), as hex.
fn integrity_hashes(integrity: &str) -> Vec<PackageHash> {
    integrity
        .split_whitespace()
        .filter_map(|item| {
            let (algorithm, digest) = item.split_once('-')?;
            let algorithm = match algorithm {
                "sha512" => HashAlgorithm::Sha512,
                "sha256" => HashAlgorithm::Sha256,
                "sha1" => HashAlgorithm::Sha1,
                _ => return None,
            };
            PackageHash::from_base64(algorithm, digest)
        })
        .collect()
}

/// Where a package was resolved from, unless the public registry: a git repository at a commit
/// (`git+https://…#COMMIT`), or another registry (the URL before `/NAME/-/`).
fn source_of(name: &str, resolved: &str) -> Option<Source> {
    if resolved.starts_with(NPM_REGISTRY) {
        return None;
    }
    if resolved.starts_with("git+") {
        let (url, revision) = resolved.split_once('#').unwrap_or((resolved, ""));
        return Some(Source::Vcs {
            url: url.to_string(),
            revision: revision.to_string(),
        });
    }
    if resolved.starts_with("https://") || resolved.starts_with("http://") {
        let registry = resolved
            .find(&format!("/{name}/-/"))
            .map_or(resolved, |index| &resolved[..index]);
        return Some(Source::Registry(registry.to_string()));
    }
    None
}

/// Where node finds `name` required from the package at `from`: the nearest
/// `node_modules/name` walking up from `from/node_modules/name`.
fn resolve<'a>(
    installed: &'a BTreeMap<&str, Dependency>,
    from: &str,
    name: &str,
) -> Option<&'a Dependency> {
    let mut base = from.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("{NODE_MODULES}{name}")
        } else {
            format!("{base}/{NODE_MODULES}{name}")
        };
        if let Some(found) = installed.get(candidate.as_str()) {
            return Some(found);
        }
        if base.is_empty() {
            return None;
        }
        base = match base.rfind(&format!("/{NODE_MODULES}")) {
            Some(index) => base[..index].to_string(),
            None => String::new(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_scoped_packages_with_licenses_hashes_and_sources() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "policy", "version": "1.0.0"},
            "node_modules/@scope/a": {"version": "1.2.3", "license": "MIT",
                "resolved": "https://npm.example.com/repo/@scope/a/-/a-1.2.3.tgz",
                "integrity": "sha1-qUoyQ0BkYwT1JNW/JUajpWq5pOU="},
            "node_modules/@scope/a/node_modules/b": {"version": "0.1.0", "dev": true,
                "license": {"type": "ISC"},
                "resolved": "git+ssh://git@github.com/x/b.git#0123abcd"},
            "node_modules/local": {"link": true, "resolved": "packages/local"}
        }}"#;
        let deps = parse(Path::new("package-lock.json"), text)
            .map(|p| p.dependencies)
            .unwrap_or_default();
        let purls: Vec<String> = deps.iter().map(Dependency::purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:npm/%40scope/a@1.2.3?repository_url=https://npm.example.com/repo",
                "pkg:npm/b@0.1.0?vcs_url=git%2Bssh://git%40github.com/x/b.git%400123abcd",
            ]
        );
        assert_eq!(deps[0].license.as_deref(), Some("MIT"));
        assert_eq!(deps[1].license.as_deref(), Some("ISC"));
        assert_eq!(
            deps[0].hashes,
            [PackageHash {
                algorithm: HashAlgorithm::Sha1,
                value: "a94a324340646304f524d5bf2546a3a56ab9a4e5".into()
            }]
        );
        assert_eq!(
            deps.iter().map(|d| d.scope).collect::<Vec<_>>(),
            [Scope::Runtime, Scope::Dev]
        );
    }

    #[test]
    fn requires_resolve_like_node() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"dependencies": {"a": "^1"}, "devDependencies": {"c": "^1"}},
            "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "^2", "c": "^1"}},
            "node_modules/a/node_modules/b": {"version": "2.0.0", "dependencies": {"c": "^1"}},
            "node_modules/b": {"version": "1.0.0"},
            "node_modules/c": {"version": "1.0.0"}
        }}"#;
        let parsed = parse(Path::new("package-lock.json"), text).unwrap_or_default();
        let dep = |n: &str, v: &str| Dependency::new(Ecosystem::Npm, n, v);
        assert_eq!(
            parsed.graph.direct.iter().cloned().collect::<Vec<_>>(),
            vec![dep("a", "1.0.0"), dep("c", "1.0.0")]
        );
        assert_eq!(
            parsed.graph.kind(None, &dep("c", "1.0.0")),
            Some(EdgeKind::Dev)
        );
        assert_eq!(
            parsed.graph.edges.into_iter().collect::<Vec<_>>(),
            vec![
                (dep("a", "1.0.0"), dep("b", "2.0.0")),
                (dep("a", "1.0.0"), dep("c", "1.0.0")),
                (dep("b", "2.0.0"), dep("c", "1.0.0")),
            ]
        );
    }

    #[test]
    fn a_syntax_or_type_error_has_its_line() {
        let err = parse(Path::new("package-lock.json"), "{\n\"packages\": {,\n}");
        assert!(matches!(
            err,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
        let err = parse(
            Path::new("package-lock.json"),
            "{\"packages\": {\n\"node_modules/a\": {\"version\": 1}}}",
        );
        assert!(matches!(
            err,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
    }
}
