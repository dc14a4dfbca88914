//! The dependencies a policy's source project pins, read from its lockfile(s).
//!
//! One module per ecosystem; each turns one file into [`Dependency`] values with package URLs,
//! hashes and, where the file records them, licenses and dependency kinds. [`cargo_graph`] adds what
//! only the toolchain knows: what a wasm32 build compiles in.

pub mod cargo;
pub mod cargo_graph;
pub mod dotnet;
pub mod go;
pub mod npm;

mod dependency;
mod graph;
mod note;
mod parsed;

use std::path::{Path, PathBuf};

use artifact::oci::{Algorithm, Digest};
use serde::Serialize;

pub(crate) use dependency::percent_encode;
pub use dependency::{Dependency, Ecosystem, HashAlgorithm, PackageHash, Scope, Source};
pub use graph::{EdgeKind, Graph};
pub use note::{Note, Subject};
pub use parsed::Parsed;

use crate::error::{Result, SbomError};

/// A lockfile read: its name in the source folder and the sha256 of its bytes (paths are left
/// out, so the same inputs in another folder describe the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lockfile {
    /// Its file name.
    pub name: String,
    /// The sha256 of its content.
    pub sha256: Digest,
}

/// The lockfiles found in a source folder and the dependencies they pin (sorted, without
/// duplicates), with their graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The lockfiles read.
    pub lockfiles: Vec<Lockfile>,
    /// Their dependencies.
    pub dependencies: Vec<Dependency>,
    /// Who depends on whom.
    pub graph: Graph,
    /// What could not be established, for the document.
    pub notes: Vec<Note>,
}

/// The toolchain programs a scan may run to learn more than the lockfiles say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Toolchain<'a> {
    /// `cargo`, to run `cargo metadata` when the folder has a `Cargo.toml`.
    pub cargo: Option<&'a Path>,
}

/// The lockfile names [`scan`] looks for, in a sentence.
pub const LOCKFILE_NAMES: &str =
    "Cargo.lock, go.mod (or go.sum), package-lock.json, packages.lock.json";

/// Reads every known lockfile in `dir` (not its subfolders): `Cargo.lock`, `go.mod` (with
/// `go.sum`'s hashes; `go.sum` alone without a `go.mod`), `package-lock.json`,
/// `packages.lock.json`; then asks the `toolchain` programs given what the lockfiles cannot say.
pub fn scan(dir: &Path, toolchain: Toolchain<'_>) -> Result<Scanned> {
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
    let mut read = |name: &str| -> Result<Option<(PathBuf, String)>> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let text = artifact::files::read_text(&path)?;
        scanned.lockfiles.push(Lockfile {
            name: name.to_string(),
            sha256: Digest::compute(Algorithm::Sha256, text.as_bytes()),
        });
        Ok(Some((path, text)))
    };
    let mut parts = Vec::new();
    if let Some((path, text)) = read("Cargo.lock")? {
        let mut parsed = cargo::parse(&path, &text)?;
        let manifest = dir.join("Cargo.toml");
        match toolchain.cargo {
            Some(program) if manifest.is_file() => {
                cargo_graph::refine(&mut parsed, program, &manifest)?
            }
            _ => parsed.notes.push(cargo_graph::not_established()),
        }
        parts.push(parsed);
    }
    let go_sum = read("go.sum")?;
    if let Some((path, text)) = read("go.mod")? {
        let sums = match &go_sum {
            Some((sum_path, sum_text)) => go::parse_go_sum(sum_path, sum_text)?,
            None => Vec::new(),
        };
        parts.push(go::parse_go_mod(&path, &text, &sums)?);
    } else if let Some((path, text)) = go_sum {
        parts.push(go::only_go_sum(go::parse_go_sum(&path, &text)?));
    }
    if let Some((path, text)) = read("package-lock.json")? {
        parts.push(npm::parse(&path, &text)?);
    }
    if let Some((path, text)) = read("packages.lock.json")? {
        parts.push(dotnet::parse(&path, &text)?);
    }
    for part in parts {
        scanned.dependencies.extend(part.dependencies);
        scanned.graph.extend(part.graph);
        scanned.notes.extend(part.notes);
    }
    scanned.dependencies.sort();
    scanned.dependencies.dedup();
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_source_folder_is_named() {
        let err = scan(
            Path::new("/nonexistent/palisade-source"),
            Toolchain::default(),
        )
        .err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("/nonexistent/palisade-source"),
            "{message}"
        );
    }
}
