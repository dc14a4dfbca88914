//! Go modules: the `require` and `replace` directives of `go.mod`, with the `h1:` hashes of
//! `go.sum`; or the module lines of `go.sum` alone.
//!
//! `replace` is applied: a replaced module is listed as its replacement (the code that is built).
//! Direct requirements are the policy's dependencies; `// indirect` ones are kept apart (an
//! [`EdgeKind::Indirect`] edge from the policy), since go.mod does not say which module needs them.

use std::collections::BTreeMap;
use std::path::Path;

use super::dependency::{Dependency, Ecosystem, HashAlgorithm, PackageHash};
use super::graph::{EdgeKind, Graph};
use super::note::{Note, Subject};
use super::parsed::{Parsed, error_at};
use crate::element::Element;
use crate::error::Result;

/// The note of every Go source: what go.mod and go.sum cannot say.
pub const NOT_ESTABLISHED: &str = "Go: read from go.mod and go.sum: the module-to-module edges (which \
     module requires an `// indirect` one), whether a module is compiled in or only used by tests, \
     licenses and suppliers could not be established";

/// The note of a go.sum read without its go.mod.
pub const ONLY_GO_SUM: &str = "Go: read from go.sum alone (no go.mod): every module version go \
     consulted is listed, which is more than the build uses; `replace` directives, direct and indirect \
     requirements, licenses and suppliers could not be established";

/// What go.mod and go.sum do not record of a module (their notes declare it unknown).
const UNKNOWN: &[Element] = &[Element::Supplier, Element::License];

/// One `MODULE VERSION h1:HASH` line of go.sum (not the `/go.mod` ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sum {
    /// The module path.
    pub module: String,
    /// Its version.
    pub version: String,
    /// The `h1:` hash of its file tree.
    pub hash: String,
}

/// A `replace` directive: `MODULE [VERSION] => TARGET [VERSION]`.
struct Replace {
    module: String,
    version: Option<String>,
    target: String,
    target_version: Option<String>,
}

/// Parses `go.mod` text read from `path`, with `sums` (from go.sum) for the hashes.
pub fn parse_go_mod(path: &Path, text: &str, sums: &[Sum]) -> Result<Parsed> {
    let mut requirements = Vec::new();
    let mut replaces = Vec::new();
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let (code, comment) = raw.split_once("//").unwrap_or((raw, ""));
        let line = code.trim();
        if line.is_empty() {
            continue;
        }
        let indirect = comment.trim().starts_with("indirect");
        let directive_line = match &block {
            Some(directive) if line == ")" => {
                block = None;
                continue;
            }
            Some(directive) => Some((directive.clone(), line)),
            None => {
                let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                if rest.trim() == "(" {
                    block = Some(directive.to_string());
                    None
                } else {
                    Some((directive.to_string(), rest.trim()))
                }
            }
        };
        match directive_line {
            Some((directive, rest)) if directive == "require" => {
                requirements.push((requirement(path, number, rest)?, indirect));
            }
            Some((directive, rest)) if directive == "replace" => {
                replaces.push(replacement(path, number, rest)?);
            }
            _ => {}
        }
    }
    if let Some(directive) = block {
        return Err(error_at(
            path,
            text.lines().count(),
            format!("the `{directive} (` block is not closed"),
        ));
    }
    let hashes: BTreeMap<(&str, &str), &str> = sums
        .iter()
        .map(|s| ((s.module.as_str(), s.version.as_str()), s.hash.as_str()))
        .collect();
    let mut parsed = Parsed {
        notes: vec![Note::unknown(
            NOT_ESTABLISHED,
            Subject::Dependencies(Ecosystem::Golang),
            UNKNOWN,
        )],
        ..Parsed::default()
    };
    for ((module, version), indirect) in requirements {
        let replace = replaces
            .iter()
            .rev()
            .find(|r| r.module == module && r.version.as_ref().is_none_or(|v| *v == version));
        let (name, version) = match replace {
            Some(Replace {
                target,
                target_version: Some(target_version),
                ..
            }) => (target.clone(), target_version.clone()),
            Some(Replace { target, .. }) => {
                parsed.notes.push(Note::new(format!(
                    "Go: {module} is replaced by the local folder {target}, part of the policy's \
                     source: not listed as a dependency"
                )));
                continue;
            }
            None => (module, version),
        };
        let hash = hashes
            .get(&(name.as_str(), version.as_str()))
            .map(|h1| PackageHash {
                algorithm: HashAlgorithm::GoH1,
                value: (*h1).to_string(),
            });
        let dependency = Dependency::new(Ecosystem::Golang, name, version).with_hash(hash);
        parsed.graph.direct.insert(dependency.clone());
        if indirect {
            parsed
                .graph
                .kinds
                .insert((None, dependency.clone()), EdgeKind::Indirect);
        }
        parsed.dependencies.push(dependency);
    }
    Ok(parsed)
}

/// `MODULE VERSION` of a require directive.
fn requirement(path: &Path, number: usize, text: &str) -> Result<(String, String)> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(module), Some(version), None) if version.starts_with('v') => {
            Ok((unquote(module), version.to_string()))
        }
        _ => Err(error_at(
            path,
            number,
            format!("expected `MODULE vVERSION` in a require directive, found `{text}`"),
        )),
    }
}

/// `MODULE [VERSION] => TARGET [VERSION]` of a replace directive (no target version: a folder).
fn replacement(path: &Path, number: usize, text: &str) -> Result<Replace> {
    let invalid = || {
        error_at(
            path,
            number,
            format!(
                "expected `MODULE [VERSION] => TARGET [VERSION]` in a replace directive, found `{text}`"
            ),
        )
    };
    let (left, right) = text.split_once("=>").ok_or_else(invalid)?;
    let left: Vec<&str> = left.split_whitespace().collect();
    let right: Vec<&str> = right.split_whitespace().collect();
    let (module, version) = match left.as_slice() {
        [module] => (unquote(module), None),
        [module, version] => (unquote(module), Some(version.to_string())),
        _ => return Err(invalid()),
    };
    let (target, target_version) = match right.as_slice() {
        [target] => (unquote(target), None),
        [target, version] => (unquote(target), Some(version.to_string())),
        _ => return Err(invalid()),
    };
    Ok(Replace {
        module,
        version,
        target,
        target_version,
    })
}

/// A module path as written, quotes removed.
fn unquote(word: &str) -> String {
    word.trim_matches('"').to_string()
}

/// Parses `go.sum` text read from `path`: the hash of each module version's file tree (the
/// `/go.mod` lines, hashes of go.mod files, are left out).
pub fn parse_go_sum(path: &Path, text: &str) -> Result<Vec<Sum>> {
    let mut sums = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (None, ..) => {}
            (Some(module), Some(version), Some(hash), None) if hash.starts_with("h1:") => {
                if !version.ends_with("/go.mod") {
                    sums.push(Sum {
                        module: module.to_string(),
                        version: version.to_string(),
                        hash: hash.to_string(),
                    });
                }
            }
            _ => {
                return Err(error_at(
                    path,
                    index + 1,
                    format!("expected `MODULE VERSION h1:HASH`, found `{line}`"),
                ));
            }
        }
    }
    Ok(sums)
}

/// The dependencies of a go.sum without go.mod: every module version it lists, with its hash.
pub fn only_go_sum(sums: Vec<Sum>) -> Parsed {
    let dependencies: Vec<Dependency> = sums
        .into_iter()
        .map(|sum| {
            Dependency::new(Ecosystem::Golang, sum.module, sum.version).with_hash(Some(
                PackageHash {
                    algorithm: HashAlgorithm::GoH1,
                    value: sum.hash,
                },
            ))
        })
        .collect();
    Parsed {
        graph: Graph {
            direct: dependencies.iter().cloned().collect(),
            ..Graph::default()
        },
        dependencies,
        notes: vec![Note::unknown(
            ONLY_GO_SUM,
            Subject::Dependencies(Ecosystem::Golang),
            UNKNOWN,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = "module example.com/policy\n\ngo 1.22\n\nreplace github.com/go-openapi/strfmt => github.com/kubewarden/strfmt v0.1.3\n\nrequire github.com/a/b v1.0.0\n\nrequire (\n\tgithub.com/c/d v0.2.0 // indirect\n\tgithub.com/go-openapi/strfmt v0.21.3 // indirect\n)\n";

    #[test]
    fn replace_is_applied_and_indirect_kept_apart() {
        let sums = parse_go_sum(
            Path::new("go.sum"),
            "github.com/kubewarden/strfmt v0.1.3 h1:bb+2rbotioROjCkziSt+hqnHXzOlumN94NxDKdV2kPI=\ngithub.com/kubewarden/strfmt v0.1.3/go.mod h1:DXoa=\n",
        )
        .unwrap_or_default();
        let parsed = parse_go_mod(Path::new("go.mod"), GO_MOD, &sums).unwrap_or_default();
        let purls: Vec<String> = parsed.dependencies.iter().map(Dependency::purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/a/b@v1.0.0",
                "pkg:golang/github.com/c/d@v0.2.0",
                "pkg:golang/github.com/kubewarden/strfmt@v0.1.3",
            ]
        );
        assert_eq!(
            parsed.dependencies[2].hashes[0].value,
            "h1:bb+2rbotioROjCkziSt+hqnHXzOlumN94NxDKdV2kPI="
        );
        let kinds: Vec<_> = parsed
            .dependencies
            .iter()
            .map(|d| parsed.graph.kind(None, d))
            .collect();
        assert_eq!(
            kinds,
            [None, Some(EdgeKind::Indirect), Some(EdgeKind::Indirect)]
        );
    }

    #[test]
    fn a_local_replacement_is_not_a_dependency() {
        let text = "module m\nreplace github.com/a/b => ../b\nrequire github.com/a/b v1.0.0\n";
        let parsed = parse_go_mod(Path::new("go.mod"), text, &[]).unwrap_or_default();
        assert!(parsed.dependencies.is_empty());
        assert!(
            parsed.notes.iter().any(|n| n.text.contains("../b")),
            "{:?}",
            parsed.notes
        );
    }

    #[test]
    fn go_sum_alone_lists_every_version_with_its_hash() {
        let sums = parse_go_sum(
            Path::new("go.sum"),
            "github.com/a/b v1.0.0 h1:abc=\ngithub.com/a/b v1.0.0/go.mod h1:def=\n",
        )
        .unwrap_or_default();
        let parsed = only_go_sum(sums);
        assert_eq!(parsed.dependencies.len(), 1);
        assert_eq!(parsed.dependencies[0].hashes[0].value, "h1:abc=");
    }

    #[test]
    fn an_unclosed_block_and_a_bad_line_are_named() {
        let unclosed = parse_go_mod(Path::new("go.mod"), "require (\n a/b v1\n", &[]);
        assert!(matches!(
            unclosed,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
        let bad = parse_go_mod(Path::new("go.mod"), "module m\nrequire a/b\n", &[]);
        assert!(matches!(
            bad,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
        let replace = parse_go_mod(Path::new("go.mod"), "module m\nreplace a/b c/d\n", &[]);
        assert!(matches!(
            replace,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
    }
}
