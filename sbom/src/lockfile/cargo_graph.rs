//! What `cargo metadata` adds to a `Cargo.lock`: each crate's license and authors, and which
//! crates a wasm32 build of the policy compiles in.
//!
//! The runtime crates are those reachable from the project's own crates through normal
//! dependencies on [`RUST_TARGET`], procedural macros left out (they run in the compiler); build
//! dependencies and what only procedural macros use are [`Scope::Build`], what only tests use is
//! [`Scope::Dev`], and crates pinned for other targets only (`libc`, `windows-*`…) are
//! [`Scope::OtherTarget`]. Every crate stays in the document, marked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ::cargo_metadata::{DependencyKind, Metadata, MetadataCommand, PackageId, TargetKind};

use super::cargo::source_of;
use super::dependency::{Dependency, Ecosystem, Scope, spdx_license};
use super::graph::EdgeKind;
use super::note::{Note, Subject};
use super::parsed::Parsed;
use crate::element::Element;
use crate::error::{Result, SbomError};

/// The Rust target the policies are built for: what `cargo metadata` filters the graph by.
pub const RUST_TARGET: &str = "wasm32-wasip1";

/// The note of a Cargo.lock read without `cargo metadata`.
pub const NOT_ESTABLISHED: &str = "Rust: read from Cargo.lock alone (cargo metadata was not run): \
     which crates a wasm32-wasip1 build compiles in (runtime, build, dev, other targets), the crates' \
     licenses and their authors could not be established";

/// [`NOT_ESTABLISHED`], declaring the crates' licenses and suppliers unknown.
pub fn not_established() -> Note {
    Note::unknown(
        NOT_ESTABLISHED,
        Subject::Dependencies(Ecosystem::Cargo),
        &[Element::Supplier, Element::License],
    )
}

/// Adds licenses, authors, edge kinds and scopes from `cargo metadata` (run as `cargo`, on
/// `manifest`) to what `Cargo.lock` said.
pub fn refine(parsed: &mut Parsed, cargo: &Path, manifest: &Path) -> Result<()> {
    let all = metadata(cargo, manifest, false)?;
    let target = metadata(cargo, manifest, true)?;

    // Licenses, authors and procedural macros, from every package (other targets' too).
    let mut proc_macros = BTreeSet::new();
    for dependency in &mut parsed.dependencies {
        let Some(package) = all.packages.iter().find(|p| {
            p.name.as_str() == dependency.name
                && p.version.to_string() == dependency.version
                && p.source.as_ref().and_then(|s| source_of(&s.repr)) == dependency.source
        }) else {
            continue;
        };
        dependency.license = package.license.as_deref().map(spdx_license);
        dependency.supplier = supplier(&package.authors);
        if package
            .targets
            .iter()
            .any(|t| t.kind.contains(&TargetKind::ProcMacro))
        {
            proc_macros.insert(dependency.clone());
        }
    }

    // The kinds of the edges a build for the target has; an edge it lacks is for other targets.
    let Some(resolve) = &target.resolve else {
        return Err(toolchain_error(
            manifest,
            "its output has no dependency graph",
        ));
    };
    let dependency_of = |id: &PackageId| -> Option<Dependency> {
        let package = target.packages.iter().find(|p| &p.id == id)?;
        let source = package.source.as_ref()?;
        parsed
            .dependencies
            .iter()
            .find(|d| {
                d.name == package.name.as_str()
                    && d.version == package.version.to_string()
                    && d.source == source_of(&source.repr)
            })
            .cloned()
    };
    let mut built: BTreeMap<(Option<Dependency>, Dependency), Option<EdgeKind>> = BTreeMap::new();
    for node in &resolve.nodes {
        let from = dependency_of(&node.id);
        for dep in &node.deps {
            let Some(to) = dependency_of(&dep.pkg) else {
                continue;
            };
            let kinds: Vec<DependencyKind> = dep.dep_kinds.iter().map(|k| k.kind).collect();
            let kind = if kinds.contains(&DependencyKind::Normal) {
                None
            } else if kinds.contains(&DependencyKind::Build) {
                Some(EdgeKind::Build)
            } else {
                Some(EdgeKind::Dev)
            };
            built.insert((from.clone(), to), kind);
        }
    }
    let graph = &mut parsed.graph;
    let lockfile_edges: Vec<(Option<Dependency>, Dependency)> = graph
        .direct
        .iter()
        .map(|to| (None, to.clone()))
        .chain(
            graph
                .edges
                .iter()
                .map(|(from, to)| (Some(from.clone()), to.clone())),
        )
        .collect();
    for edge in lockfile_edges {
        match built.get(&edge) {
            Some(None) => {}
            Some(Some(kind)) => {
                graph.kinds.insert(edge, *kind);
            }
            None => {
                graph.kinds.insert(edge, EdgeKind::OtherTarget);
            }
        }
    }

    // Scopes: the first of runtime, build, dev that reaches a crate, from the project's own.
    let reach = |allowed: &[Option<EdgeKind>], enter_proc_macros: bool| {
        let mut seen: BTreeSet<Dependency> = BTreeSet::new();
        let mut queue: Vec<Dependency> = graph
            .direct
            .iter()
            .filter(|to| allowed.contains(&graph.kind(None, to)))
            .cloned()
            .collect();
        while let Some(next) = queue.pop() {
            if (!enter_proc_macros && proc_macros.contains(&next)) || !seen.insert(next.clone()) {
                continue;
            }
            queue.extend(
                graph
                    .dependencies_of(&next)
                    .filter(|to| allowed.contains(&graph.kind(Some(&next), to)))
                    .cloned(),
            );
        }
        seen
    };
    let runtime = reach(&[None], false);
    let build = reach(&[None, Some(EdgeKind::Build)], true);
    let dev = reach(&[None, Some(EdgeKind::Build), Some(EdgeKind::Dev)], true);
    for dependency in &mut parsed.dependencies {
        dependency.scope = if runtime.contains(dependency) {
            Scope::Runtime
        } else if build.contains(dependency) {
            Scope::Build
        } else if dev.contains(dependency) {
            Scope::Dev
        } else {
            Scope::OtherTarget
        };
    }
    let unauthored = parsed
        .dependencies
        .iter()
        .filter(|d| d.supplier.is_none())
        .count();
    if unauthored > 0 {
        parsed.notes.push(Note::unknown(
            format!(
                "Rust: {unauthored} of {} crates name no authors in their Cargo.toml (cargo \
                 metadata): their supplier is unknown (NOASSERTION)",
                parsed.dependencies.len()
            ),
            Subject::Dependencies(Ecosystem::Cargo),
            &[Element::Supplier],
        ));
    }
    Ok(())
}

/// The supplier of a crate from its `authors`: the one author as written (`Name <email>`), or
/// the names of several (a document has room for one email).
fn supplier(authors: &[String]) -> Option<String> {
    match authors {
        [] => None,
        [author] => Some(author.trim().to_string()),
        several => Some(
            several
                .iter()
                .map(|author| author.split('<').next().unwrap_or(author).trim())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// `cargo metadata` for the whole lockfile, or for the target only.
fn metadata(cargo: &Path, manifest: &Path, for_target: bool) -> Result<Metadata> {
    let mut options = vec!["--locked".to_string()];
    if for_target {
        options.extend(["--filter-platform".to_string(), RUST_TARGET.to_string()]);
    }
    MetadataCommand::new()
        .cargo_path(cargo)
        .manifest_path(manifest)
        .other_options(options)
        .exec()
        .map_err(|err| toolchain_error(manifest, err))
}

fn toolchain_error(
    manifest: &Path,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> SbomError {
    SbomError::Toolchain {
        command: "cargo metadata".to_string(),
        path: manifest.to_path_buf(),
        cause: cause.into(),
    }
}
