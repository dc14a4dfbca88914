//! The dependencies a policy's source project pins, read from its lockfile(s).
//!
//! One module per ecosystem; each turns one file into [`Dependency`] values with package URLs.

pub mod cargo;
pub mod dotnet;
pub mod go;
pub mod npm;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Result, SbomError};

/// A package ecosystem, as the `type` of a package URL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Rust crates (`Cargo.lock`).
    Cargo,
    /// Go modules (`go.mod`, `go.sum`).
    Golang,
    /// npm packages (`package-lock.json`).
    Npm,
    /// NuGet packages (`packages.lock.json`).
    Nuget,
}

impl Ecosystem {
    /// The package-URL type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Golang => "golang",
            Ecosystem::Npm => "npm",
            Ecosystem::Nuget => "nuget",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.purl_type())
    }
}

/// One pinned dependency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Dependency {
    /// Where it comes from.
    pub ecosystem: Ecosystem,
    /// Its name as the ecosystem spells it (`serde`, `github.com/x/y`, `@scope/name`).
    pub name: String,
    /// Its pinned version.
    pub version: String,
}

impl Dependency {
    /// A dependency of `ecosystem`.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Self {
        Dependency {
            ecosystem,
            name: name.into(),
            version: version.into(),
        }
    }

    /// Its package URL (`pkg:cargo/serde@1.0.0`, `pkg:npm/%40scope/name@1.0.0`…).
    pub fn purl(&self) -> String {
        let path: Vec<String> = self.name.split('/').map(percent_encode).collect();
        format!(
            "pkg:{}/{}@{}",
            self.ecosystem.purl_type(),
            path.join("/"),
            percent_encode(&self.version)
        )
    }
}

/// Percent-encodes everything but the characters a package-URL segment may hold as they are.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~' | b'+') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What one lockfile says: the packages it pins and, where it records them, who depends on whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Every pinned package.
    pub dependencies: Vec<Dependency>,
    /// Graph edges, when the lockfile records them.
    pub graph: Graph,
}

impl Parsed {
    /// A lockfile without a dependency graph: the project depends on every package directly.
    pub fn flat(dependencies: Vec<Dependency>) -> Parsed {
        Parsed {
            graph: Graph {
                direct: dependencies.iter().cloned().collect(),
                edges: BTreeSet::new(),
            },
            dependencies,
        }
    }
}

/// The dependency graph: what the project itself depends on, and which package depends on which.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The packages the project's own code depends on.
    pub direct: BTreeSet<Dependency>,
    /// `(a, b)`: package `a` depends on package `b`.
    pub edges: BTreeSet<(Dependency, Dependency)>,
}

impl Graph {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.edges.is_empty()
    }

    /// What `dependency` depends on, sorted.
    pub fn dependencies_of<'a>(
        &'a self,
        dependency: &'a Dependency,
    ) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.edges
            .iter()
            .filter(move |(from, _)| from == dependency)
            .map(|(_, to)| to)
    }
}

/// The lockfiles found in a source folder and the dependencies they pin (sorted, without
/// duplicates), with their graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The lockfiles read.
    pub lockfiles: Vec<PathBuf>,
    /// Their dependencies.
    pub dependencies: Vec<Dependency>,
    /// Who depends on whom (lockfiles without a graph: the project on each of their packages).
    pub graph: Graph,
}

/// Reads every known lockfile in `dir` (not its subfolders): `Cargo.lock`, `go.mod` (or `go.sum`
/// without a `go.mod`), `package-lock.json`, `packages.lock.json`.
pub fn scan(dir: &Path) -> Result<Scanned> {
    let metadata = std::fs::metadata(dir).map_err(|cause| SbomError::SourceFolder {
        path: dir.to_path_buf(),
        cause,
    })?;
    if !metadata.is_dir() {
        return Err(SbomError::SourceFolder {
            path: dir.to_path_buf(),
            cause: std::io::Error::other("not a folder"),
        });
    }
    let mut scanned = Scanned::default();
    let mut read = |name: &str, parse: &dyn Fn(&Path, &str) -> Result<Parsed>| {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok::<bool, SbomError>(false);
        }
        let text = artifact::files::read_text(&path)?;
        let parsed = parse(&path, &text)?;
        scanned.dependencies.extend(parsed.dependencies);
        scanned.graph.direct.extend(parsed.graph.direct);
        scanned.graph.edges.extend(parsed.graph.edges);
        scanned.lockfiles.push(path);
        Ok(true)
    };
    let flat = |parse: fn(&Path, &str) -> Result<Vec<Dependency>>| {
        move |path: &Path, text: &str| parse(path, text).map(Parsed::flat)
    };
    read("Cargo.lock", &cargo::parse)?;
    if !read("go.mod", &flat(go::parse_go_mod))? {
        read("go.sum", &flat(go::parse_go_sum))?;
    }
    read("package-lock.json", &npm::parse)?;
    read("packages.lock.json", &flat(dotnet::parse))?;
    scanned.dependencies.sort();
    scanned.dependencies.dedup();
    Ok(scanned)
}

/// A lockfile error at `line` of `path`.
pub(crate) fn error_at(path: &Path, line: usize, reason: impl Into<String>) -> SbomError {
    SbomError::Lockfile {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Parses a JSON lockfile, with the line of a syntax error.
pub(crate) fn parse_json(path: &Path, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|err| error_at(path, err.line(), err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_encode_what_they_must() {
        assert_eq!(
            Dependency::new(Ecosystem::Cargo, "serde", "1.0.0").purl(),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            Dependency::new(Ecosystem::Npm, "@as-pect/core", "8.1.0").purl(),
            "pkg:npm/%40as-pect/core@8.1.0"
        );
        assert_eq!(
            Dependency::new(
                Ecosystem::Golang,
                "github.com/kubewarden/policy-sdk-go",
                "v0.11.0"
            )
            .purl(),
            "pkg:golang/github.com/kubewarden/policy-sdk-go@v0.11.0"
        );
    }

    #[test]
    fn a_missing_source_folder_is_named() {
        let err = scan(Path::new("/nonexistent/palisade-source")).err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("/nonexistent/palisade-source"),
            "{message}"
        );
    }
}
