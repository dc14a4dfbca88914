//! The dependency list `cargo auditable` embeds: a `.dep-v0` custom section holding the
//! zlib-compressed JSON of `auditable_serde::VersionInfo` (every package of the build with its
//! version, source, kind — runtime or build — and dependencies as indices; one of them the root,
//! the crate that was built).

use std::collections::BTreeSet;
use std::io::Read;

use artifact::wasm::SectionMap;
use auditable_serde::{DependencyKind, Package, Source, VersionInfo};
use flate2::read::ZlibDecoder;

use super::embedded::Embedded;
use crate::element::Element;
use crate::error::{Result, SbomError};
use crate::lockfile::{Dependency, Ecosystem, EdgeKind, Graph, Note, Scope, Subject};

/// The custom section's name.
pub const SECTION: &str = ".dep-v0";

/// What the section cannot tell, for the document.
pub const NOT_ESTABLISHED: &str = "Rust: read from the module's `.dep-v0` section (cargo auditable): \
     the crates' hashes, licenses and authors, and where crates not from crates.io came from, could \
     not be established";

/// The most JSON a section may decompress to (the limit `cargo auditable`'s own reader uses):
/// a compressed section cannot make the reader allocate without bound.
const MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;

/// The list in `map`'s `.dep-v0` section; `None` without one.
pub fn read(map: &SectionMap<'_>) -> Result<Option<Embedded>> {
    let sections: Vec<_> = map.custom_sections(SECTION).collect();
    let section = match sections.as_slice() {
        [] => return Ok(None),
        [section] => section,
        more => {
            return Err(unreadable(format!(
                "there are {} of them, `cargo auditable` writes one",
                more.len()
            )));
        }
    };
    let json = inflate(section.data())?;
    let info: VersionInfo = serde_json::from_slice(&json)
        .map_err(|err| unreadable(format!("its JSON is not a `cargo auditable` list: {err}")))?;
    components(&info).map(Some)
}

/// Decompresses the section, refusing more than [`MAX_JSON_BYTES`].
fn inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut json = Vec::new();
    ZlibDecoder::new(data)
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|err| unreadable(format!("it is not zlib-compressed data: {err}")))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(unreadable(format!(
            "it decompresses to more than {MAX_JSON_BYTES} bytes"
        )));
    }
    Ok(json)
}

fn unreadable(reason: String) -> SbomError {
    SbomError::EmbeddedDependencies {
        place: format!("`{SECTION}` section (cargo auditable)"),
        reason,
    }
}

/// Turns the packages into components: the root is the policy itself, the others its
/// dependencies, each compiled in ([`Scope::Runtime`]) or only used to build ([`Scope::Build`]).
fn components(info: &VersionInfo) -> Result<Embedded> {
    let packages = &info.packages;
    let dependency = |package: &Package| {
        let mut dependency =
            Dependency::new(Ecosystem::Cargo, &package.name, package.version.to_string());
        dependency.scope = match package.kind {
            DependencyKind::Build => Scope::Build,
            DependencyKind::Runtime => Scope::Runtime,
        };
        dependency
    };
    let mut graph = Graph::default();
    let mut depended_on = BTreeSet::new();
    for package in packages {
        for &index in &package.dependencies {
            let Some(target) = packages.get(index) else {
                return Err(unreadable(format!(
                    "package `{}` depends on package number {index}, but the list has {}",
                    package.name,
                    packages.len()
                )));
            };
            depended_on.insert(index);
            let from = (!package.root).then(|| dependency(package));
            // Something compiled in that needs a build-only package needs it to build.
            if package.kind == DependencyKind::Runtime && target.kind == DependencyKind::Build {
                graph
                    .kinds
                    .insert((from.clone(), dependency(target)), EdgeKind::Build);
            }
            match from {
                Some(from) => {
                    graph.edges.insert((from, dependency(target)));
                }
                None => {
                    graph.direct.insert(dependency(target));
                }
            }
        }
    }
    if !packages.iter().any(|package| package.root) {
        // Without a root, the packages nobody depends on are the policy's direct dependencies.
        graph.direct = (0..packages.len())
            .filter(|index| !depended_on.contains(index))
            .map(|index| dependency(&packages[index]))
            .collect();
    }
    let others = packages.iter().filter(|package| !package.root);
    let mut dependencies: Vec<Dependency> = others.clone().map(dependency).collect();
    dependencies.sort();
    dependencies.dedup();
    let mut warnings = Vec::new();
    if info.format == 0 {
        warnings.push(format!(
            "the `{SECTION}` section is in format 0 (cargo auditable before 0.6.3): it lists \
             proc-macro crates and their dependencies as compiled in, though they only run at build time"
        ));
    }
    let elsewhere: Vec<String> = others
        .filter(|package| !matches!(package.source, Source::CratesIo))
        .map(|package| {
            let source = String::from(package.source.clone());
            format!("{} {} ({source})", package.name, package.version)
        })
        .collect();
    if !elsewhere.is_empty() {
        warnings.push(format!(
            "`cargo auditable` records only the kind of source of crates not from crates.io, not \
             where they are, so their package URLs name no repository: {}",
            elsewhere.join(", ")
        ));
    }
    Ok(Embedded {
        recorded_by: format!(
            "cargo auditable ({SECTION} section, format {})",
            info.format
        ),
        ecosystem: Ecosystem::Cargo,
        note: Note::unknown(
            NOT_ESTABLISHED,
            Subject::Dependencies(Ecosystem::Cargo),
            &[Element::Supplier, Element::License, Element::Hash],
        ),
        dependencies,
        graph,
        properties: Vec::new(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::ZlibEncoder;

    use super::*;

    fn compress(json: &str) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder
            .write_all(json.as_bytes())
            .unwrap_or_else(|err| panic!("{err}"));
        encoder.finish().unwrap_or_else(|err| panic!("{err}"))
    }

    fn info(json: &str) -> VersionInfo {
        serde_json::from_str(json).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_list_without_a_root_depends_on_what_nobody_else_does() {
        let embedded = components(&info(
            r#"{"packages":[
                {"name":"a","version":"1.0.0","source":"crates.io","dependencies":[1]},
                {"name":"b","version":"2.0.0","source":"git"}
            ]}"#,
        ))
        .unwrap_or_else(|err| panic!("{err}"));
        let a = Dependency::new(Ecosystem::Cargo, "a", "1.0.0");
        let b = Dependency::new(Ecosystem::Cargo, "b", "2.0.0");
        assert_eq!(embedded.graph.direct, BTreeSet::from([a.clone()]));
        assert_eq!(embedded.graph.edges, BTreeSet::from([(a, b)]));
        assert!(
            embedded
                .warnings
                .iter()
                .any(|w| w.contains("format 0") && !w.contains("b 2.0.0")),
            "{:?}",
            embedded.warnings
        );
        assert!(
            embedded
                .warnings
                .iter()
                .any(|w| w.contains("b 2.0.0 (git)")),
            "{:?}",
            embedded.warnings
        );
    }

    #[test]
    fn an_index_past_the_list_is_an_error() {
        let err = components(&info(
            r#"{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","dependencies":[7],"root":true}]}"#,
        ))
        .err()
        .map(|err| err.to_string())
        .unwrap_or_default();
        assert!(err.contains(".dep-v0") && err.contains("number 7"), "{err}");
    }

    #[test]
    fn inflate_refuses_a_bomb() {
        let huge = " ".repeat(MAX_JSON_BYTES as usize + 1);
        let err = inflate(&compress(&huge))
            .err()
            .map(|err| err.to_string())
            .unwrap_or_default();
        assert!(err.contains("more than"), "{err}");
    }
}
