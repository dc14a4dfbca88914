//! The dependencies a module records about its own build, read from the module alone.
//!
//! A policy pulled from a registry usually comes without its source. Two toolchains leave in
//! the module the list of what was compiled into it:
//!
//! - `cargo auditable` ([`auditable`]): a `.dep-v0` custom section holding zlib-compressed JSON
//!   with every package of the build, whether it is used at run time or only to build, and who
//!   depends on whom;
//! - the Go toolchain ([`go_buildinfo`]): the build information `go version -m` prints (main
//!   module, `dep` and `=>` replacement lines, build settings), kept in a data segment.
//!
//! TinyGo, which builds most Go Kubewarden policies, embeds neither: its modules (checked on real
//! TinyGo 0.33 Kubewarden policies) carry no Go build information and no module list, only the
//! `producers` section naming TinyGo. Such a module gets no dependencies from here.
//!
//! With the source's lockfile too, [`compare`] tells which components only one of the two lists.

pub mod auditable;
pub mod go_buildinfo;

mod embedded;

use std::collections::BTreeSet;

use artifact::wasm::SectionMap;

pub use embedded::Embedded;

use crate::error::Result;
use crate::format::PROPERTY_PREFIX;
use crate::lockfile::{Dependency, Note, Scanned, Scope};

/// Reads the dependency list `module` embeds: `cargo auditable`'s, else Go's; `None` when it has
/// neither. A list that is there but does not read is an error naming where it is.
pub fn read(module: &[u8]) -> Result<Option<Embedded>> {
    let map = SectionMap::scan(module)?;
    if let Some(embedded) = auditable::read(&map)? {
        return Ok(Some(embedded));
    }
    go_buildinfo::read(module)
}

/// The document's note when neither the module nor a source folder lists the dependencies.
const NOTHING_EMBEDDED: &str = "Dependencies: the module embeds no dependency list (no `.dep-v0` \
     section from cargo auditable, no Go build information) and no source folder was given";

/// The dependencies an SBOM lists once the module's own list is read, and what to say about them.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The source's lockfiles when given (cross-checked with the module's list), else the module's
    /// list as if it were one.
    pub scanned: Scanned,
    /// Properties of the policy: where the list came from, what the cross-check found.
    pub properties: Vec<(String, String)>,
    /// What the user should know.
    pub warnings: Vec<String>,
}

/// Combines the list `module` embeds with the source folder's dependencies (`source`, when one
/// was given): without a source the module's list is the SBOM's; with one, the lockfiles' are,
/// with the scope the module establishes for those the lockfiles could not place, and the
/// components only one side lists reported (never an error).
pub fn resolve(module: &[u8], source: Option<Scanned>) -> Result<Resolved> {
    let embedded = read(module)?;
    let property = |key: &str, value: String| (format!("{PROPERTY_PREFIX}{key}"), value);
    match (embedded, source) {
        (None, Some(scanned)) => Ok(Resolved {
            scanned,
            ..Resolved::default()
        }),
        (None, None) => Ok(Resolved {
            scanned: Scanned {
                notes: vec![Note::new(NOTHING_EMBEDDED)],
                ..Scanned::default()
            },
            properties: Vec::new(),
            warnings: vec![
                "the module embeds no dependency list (it was not built with `cargo auditable` nor by \
                 Go; TinyGo records none): the SBOM lists no dependencies; give the policy's source \
                 folder with --source"
                    .to_string(),
            ],
        }),
        (Some(embedded), None) => {
            let mut properties = embedded.properties;
            properties.push(property("dependenciesFrom", embedded.recorded_by.clone()));
            Ok(Resolved {
                scanned: Scanned {
                    dependencies: embedded.dependencies,
                    graph: embedded.graph,
                    notes: vec![embedded.note],
                    ..Scanned::default()
                },
                properties,
                warnings: embedded.warnings,
            })
        }
        (Some(embedded), Some(mut scanned)) => {
            let differences = compare(&embedded, &scanned.dependencies);
            place(&mut scanned.dependencies, &embedded);
            let mut properties = embedded.properties.clone();
            properties.push(property("dependenciesCheckedAgainst", embedded.recorded_by.clone()));
            let mut warnings = Vec::new();
            for (key, set, side) in [
                (
                    "onlyInModule",
                    &differences.only_in_module,
                    "compiled into the module but not in the source's lockfiles",
                ),
                (
                    "onlyInLockfile",
                    &differences.only_in_lockfile,
                    "in the source's lockfiles but not compiled into the module",
                ),
            ] {
                if set.is_empty() {
                    continue;
                }
                let purls: Vec<String> = set.iter().map(Dependency::purl).collect();
                warnings.push(format!("{} {side}: {}", purls.len(), purls.join(", ")));
                properties.extend(purls.into_iter().map(|purl| property(key, purl)));
            }
            Ok(Resolved {
                scanned,
                properties,
                warnings,
            })
        }
    }
}

/// Gives the lockfile's packages whose scope it could not establish the scope the module records.
fn place(dependencies: &mut [Dependency], embedded: &Embedded) {
    for dependency in dependencies
        .iter_mut()
        .filter(|dependency| dependency.scope == Scope::Unknown)
    {
        if let Some(recorded) = embedded.dependencies.iter().find(|recorded| {
            recorded.ecosystem == dependency.ecosystem
                && recorded.name == dependency.name
                && recorded.version == dependency.version
        }) {
            dependency.scope = recorded.scope;
        }
    }
}

/// The components that one runtime set lists and the other does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    /// Compiled into the module but absent from the lockfile.
    pub only_in_module: BTreeSet<Dependency>,
    /// Pinned by the lockfile but not compiled into the module.
    pub only_in_lockfile: BTreeSet<Dependency>,
}

impl Differences {
    /// Whether both sets name the same components.
    pub fn is_empty(&self) -> bool {
        self.only_in_module.is_empty() && self.only_in_lockfile.is_empty()
    }
}

/// Compares what `embedded` says is compiled in with the `lockfile`'s dependencies of the same
/// ecosystem, by name and version (the lockfile may know more of each, such as where it came
/// from). A lockfile package that may ship (its scope is not excluded) is reported unless the
/// module compiled it in, or the lockfile could not tell and the module says it is build-only.
pub fn compare(embedded: &Embedded, lockfile: &[Dependency]) -> Differences {
    let key = |dependency: &Dependency| (dependency.name.clone(), dependency.version.clone());
    let runtime: BTreeSet<_> = embedded.runtime().map(key).collect();
    let build_only: BTreeSet<_> = embedded
        .dependencies
        .iter()
        .filter(|dependency| dependency.scope.is_excluded())
        .map(key)
        .collect();
    let lockfile: Vec<&Dependency> = lockfile
        .iter()
        .filter(|dependency| dependency.ecosystem == embedded.ecosystem)
        .collect();
    let pinned: BTreeSet<_> = lockfile.iter().map(|dependency| key(dependency)).collect();
    Differences {
        only_in_module: embedded
            .runtime()
            .filter(|dependency| !pinned.contains(&key(dependency)))
            .cloned()
            .collect(),
        only_in_lockfile: lockfile
            .into_iter()
            .filter(|dependency| !dependency.scope.is_excluded())
            .filter(|dependency| !runtime.contains(&key(dependency)))
            .filter(|dependency| {
                !(dependency.scope == Scope::Unknown && build_only.contains(&key(dependency)))
            })
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::{Ecosystem, Graph};

    fn crate_(name: &str, version: &str, scope: Scope) -> Dependency {
        let mut dependency = Dependency::new(Ecosystem::Cargo, name, version);
        dependency.scope = scope;
        dependency
    }

    #[test]
    fn compare_names_what_only_one_side_lists() {
        let embedded = Embedded {
            recorded_by: "test".to_string(),
            note: Note::new("test"),
            ecosystem: Ecosystem::Cargo,
            dependencies: vec![
                crate_("itoa", "1.0.1", Scope::Runtime),
                crate_("serde", "1.0.0", Scope::Runtime),
                crate_("syn", "2.0.0", Scope::Build),
            ],
            graph: Graph::default(),
            properties: Vec::new(),
            warnings: Vec::new(),
        };
        let lockfile = [
            crate_("itoa", "1.0.2", Scope::Unknown),
            crate_("serde", "1.0.0", Scope::Unknown),
            // The module says it is build-only; the lockfile could not tell.
            crate_("syn", "2.0.0", Scope::Unknown),
            // Excluded by the lockfile's own graph.
            crate_("libc", "0.2.0", Scope::OtherTarget),
            // For another target, but the lockfile alone cannot say so.
            crate_("windows-link", "0.1.0", Scope::Unknown),
            Dependency::new(Ecosystem::Npm, "left-pad", "1.0.0"),
        ];
        let differences = compare(&embedded, &lockfile);
        let names = |set: &BTreeSet<Dependency>| -> Vec<String> {
            set.iter().map(Dependency::purl).collect()
        };
        assert_eq!(names(&differences.only_in_module), ["pkg:cargo/itoa@1.0.1"]);
        assert_eq!(
            names(&differences.only_in_lockfile),
            ["pkg:cargo/itoa@1.0.2", "pkg:cargo/windows-link@0.1.0"]
        );
        let mut runtime_says_build = lockfile[2].clone();
        runtime_says_build.scope = Scope::Runtime;
        assert_eq!(
            names(&compare(&embedded, &[runtime_says_build]).only_in_lockfile),
            ["pkg:cargo/syn@2.0.0"]
        );
    }
}
