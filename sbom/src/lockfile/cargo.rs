//! `Cargo.lock`: the `[[package]]` tables of crates that come from a registry or git, and the
//! `dependencies` arrays that link them, read with a TOML parser into a typed model.
//!
//! Packages without a `source` are the project's own (path) crates, the policy itself among them;
//! they are not dependencies, and what they depend on is what the policy depends on directly.

use std::path::Path;

use serde::Deserialize;

use super::dependency::{Dependency, Ecosystem, HashAlgorithm, PackageHash, Source};
use super::graph::Graph;
use super::parsed::{Parsed, error_at};
use crate::error::Result;

/// The crates.io index, in its two spellings: the packages of the default registry.
const CRATES_IO: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The parts of `Cargo.lock` an SBOM needs.
#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

/// A `[[package]]` table.
#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// A `[[package]]` with what it is as a dependency (`None`: the project's own crate).
struct Package {
    dependency: Option<Dependency>,
    name: String,
    version: String,
    dependencies: Vec<String>,
}

/// Parses `Cargo.lock` text read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let lock: Lock = toml::from_str(text).map_err(|err| {
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1))
            .unwrap_or(0);
        error_at(
            path,
            line,
            format!("not a valid Cargo.lock: {}", err.message().trim()),
        )
    })?;
    let packages = lock
        .package
        .into_iter()
        .map(|locked| package(path, locked))
        .collect::<Result<Vec<_>>>()?;
    Ok(graph(&packages))
}

/// A locked package as a dependency: registry and git crates are, path crates are not.
fn package(path: &Path, locked: LockedPackage) -> Result<Package> {
    let hash = match &locked.checksum {
        Some(hex) => Some(
            PackageHash::from_hex(HashAlgorithm::Sha256, hex).ok_or_else(|| {
                error_at(
                    path,
                    0,
                    format!(
                        "the checksum of {} {} is not a SHA-256 in hex: `{hex}`",
                        locked.name, locked.version
                    ),
                )
            })?,
        ),
        None => None,
    };
    let dependency = locked.source.as_deref().map(|source| {
        Dependency::new(Ecosystem::Cargo, &locked.name, &locked.version)
            .with_source(source_of(source))
            .with_hash(hash)
    });
    Ok(Package {
        dependency,
        name: locked.name,
        version: locked.version,
        dependencies: locked.dependencies,
    })
}

/// The source of a locked crate, unless it is crates.io: another registry by its index URL, or a
/// git repository at the commit Cargo pinned (`git+URL?branch=…#COMMIT`).
pub(super) fn source_of(source: &str) -> Option<Source> {
    if CRATES_IO.contains(&source) {
        return None;
    }
    if let Some(git) = source.strip_prefix("git+") {
        let (location, commit) = git.split_once('#').unwrap_or((git, ""));
        let url = location.split('?').next().unwrap_or(location);
        return Some(Source::Vcs {
            url: format!("git+{url}"),
            revision: commit.to_string(),
        });
    }
    let url = source
        .strip_prefix("registry+")
        .or_else(|| source.strip_prefix("sparse+"))
        .unwrap_or(source);
    Some(Source::Registry(url.to_string()))
}

/// The dependencies, what the path crates depend on, and the edges between dependencies. A
/// `dependencies` item is `name`, `name version` or `name version (source)`.
fn graph(packages: &[Package]) -> Parsed {
    let resolve = |item: &str| -> Option<&Package> {
        let mut words = item.split_whitespace();
        let name = words.next()?;
        let version = words.next();
        let mut candidates = packages
            .iter()
            .filter(|p| p.name == name && version.is_none_or(|v| v == p.version));
        let found = candidates.next()?;
        candidates.next().is_none().then_some(found)
    };
    let mut graph = Graph::default();
    for package in packages {
        for target in package.dependencies.iter().filter_map(|d| resolve(d)) {
            let Some(to) = &target.dependency else {
                continue;
            };
            match &package.dependency {
                Some(from) => graph.edges.insert((from.clone(), to.clone())),
                None => graph.direct.insert(to.clone()),
            };
        }
    }
    Parsed {
        dependencies: packages
            .iter()
            .filter_map(|p| p.dependency.clone())
            .collect(),
        graph,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "my-policy"
version = "0.1.0"
dependencies = [
 "serde",
 "wapc-guest", # a comment at the end of a line
]

[[package]]
name = "serde"
version = "1.0.228"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "9a8e94ea7f378bd32cbbd37198a4a91436180c5bb472411e48b5ec2e2124ae9e"

[[package]]
name = "wapc-guest"
version = "1.1.0"
source = "git+https://github.com/wapc/wapc-guest-rust?branch=main#5ba6bd2fd4bda6e7bd8b9e45d4bd7b4a58b8a7f4"
"#;

    #[test]
    fn registry_and_git_crates_are_dependencies_path_crates_are_not() {
        let parsed = parse(Path::new("Cargo.lock"), LOCK).unwrap_or_default();
        let purls: Vec<String> = parsed.dependencies.iter().map(Dependency::purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:cargo/serde@1.0.228",
                "pkg:cargo/wapc-guest@1.1.0?vcs_url=git%2Bhttps://github.com/wapc/wapc-guest-rust%405ba6bd2fd4bda6e7bd8b9e45d4bd7b4a58b8a7f4",
            ]
        );
        assert_eq!(
            parsed.dependencies[0].hashes,
            [PackageHash {
                algorithm: HashAlgorithm::Sha256,
                value: "9a8e94ea7f378bd32cbbd37198a4a91436180c5bb472411e48b5ec2e2124ae9e".into()
            }]
        );
        assert!(parsed.dependencies[1].hashes.is_empty());
        assert_eq!(parsed.graph.direct.len(), 2);
    }

    #[test]
    fn dependencies_arrays_become_edges() {
        let text = format!(
            "{LOCK}\n[[package]]\nname = \"serde_json\"\nversion = \"1.0.145\"\nsource = \"registry+x\"\ndependencies = [\n \"serde 1.0.228 (registry+https://github.com/rust-lang/crates.io-index)\",\n \"itoa\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.15\"\nsource = \"registry+x\"\ndependencies = [\"serde\"]\n"
        );
        let parsed = parse(Path::new("Cargo.lock"), &text).unwrap_or_default();
        let edges: Vec<(String, String)> = parsed
            .graph
            .edges
            .into_iter()
            .map(|(a, b)| (a.name, b.name))
            .collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            edges,
            [
                pair("itoa", "serde"),
                pair("serde_json", "itoa"),
                pair("serde_json", "serde"),
            ]
        );
    }

    #[test]
    fn text_that_is_not_toml_is_refused_with_its_line() {
        let text = LOCK.replace(
            "checksum = \"9a8e94ea7f378bd32cbbd37198a4a91436180c5bb472411e48b5ec2e2124ae9e\"",
            "checksum = not a string",
        );
        let message = parse(Path::new("x/Cargo.lock"), &text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with("x/Cargo.lock:16: not a valid Cargo.lock"),
            "{message}"
        );
    }

    #[test]
    fn a_checksum_that_is_not_sha256_is_refused() {
        let text = LOCK.replace("9a8e94ea7f", "zz");
        let message = parse(Path::new("Cargo.lock"), &text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("checksum of serde 1.0.228"), "{message}");
    }
}
