//! `Cargo.lock`: the `[[package]]` tables of crates that come from a registry or git, and the
//! `dependencies` arrays that link them.
//!
//! Packages without a `source` are the project's own (path) crates, the policy itself among them;
//! they are not dependencies, and what they depend on is what the policy depends on directly. The
//! file's regular layout (one `key = "value"` per line, arrays one item per line) is read line by
//! line, so no TOML parser is needed; anything else is an error naming the line.

use std::path::Path;

use super::{Dependency, Ecosystem, Graph, Parsed, error_at};
use crate::error::Result;

#[derive(Default)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    source: Option<String>,
    dependencies: Vec<String>,
    line: usize,
}

/// A `[[package]]` with its name and version.
struct Package {
    name: String,
    version: String,
    registry: bool,
    dependencies: Vec<String>,
}

/// Parses `Cargo.lock` text read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let mut packages = Vec::new();
    let mut current: Option<Entry> = None;
    // The array being read: whether it is the current package's `dependencies`.
    let mut in_array: Option<bool> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if let Some(is_dependencies) = in_array {
            if line.starts_with(']') {
                in_array = None;
            } else if is_dependencies && let Some(entry) = current.as_mut() {
                entry.dependencies.extend(array_items(path, number, line)?);
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            if let Some(entry) = current.take() {
                packages.push(finish(path, entry)?);
            }
            match line {
                "[[package]]" => {
                    current = Some(Entry {
                        line: number,
                        ..Entry::default()
                    })
                }
                _ if line.ends_with(']') => {}
                _ => {
                    return Err(error_at(
                        path,
                        number,
                        format!("unclosed table header `{line}`"),
                    ));
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(error_at(
                path,
                number,
                format!("expected `key = value`, found `{line}`"),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some(items) = value.strip_prefix('[') {
            let is_dependencies = key == "dependencies" && current.is_some();
            let (items, closed) = match items.strip_suffix(']') {
                Some(items) => (items, true),
                None => (items, false),
            };
            if is_dependencies && let Some(entry) = current.as_mut() {
                entry.dependencies.extend(array_items(path, number, items)?);
            }
            if !closed {
                in_array = Some(is_dependencies);
            }
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        let slot = match key {
            "name" => &mut entry.name,
            "version" => &mut entry.version,
            "source" => &mut entry.source,
            _ => continue,
        };
        *slot = Some(unquote(value).ok_or_else(|| {
            error_at(
                path,
                number,
                format!("expected a quoted string for `{key}`, found `{value}`"),
            )
        })?);
    }
    if in_array.is_some() {
        return Err(error_at(path, text.lines().count(), "unclosed array"));
    }
    if let Some(entry) = current.take() {
        packages.push(finish(path, entry)?);
    }
    Ok(graph(&packages))
}

/// The quoted items of (a line of) an array: `"serde",` or `"a", "b"`.
fn array_items(path: &Path, number: usize, line: &str) -> Result<Vec<String>> {
    line.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            unquote(item).ok_or_else(|| {
                error_at(
                    path,
                    number,
                    format!("expected a quoted string in the array, found `{item}`"),
                )
            })
        })
        .collect()
}

fn finish(path: &Path, entry: Entry) -> Result<Package> {
    let (Some(name), Some(version)) = (entry.name, entry.version) else {
        return Err(error_at(
            path,
            entry.line,
            "a [[package]] without `name` or `version`",
        ));
    };
    Ok(Package {
        name,
        version,
        registry: entry.source.is_some(),
        dependencies: entry.dependencies,
    })
}

/// The registry crates, what the path crates depend on, and the edges between registry crates.
/// A `dependencies` item is `name`, `name version` or `name version (source)`.
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
    let dependency = |p: &Package| Dependency::new(Ecosystem::Cargo, &p.name, &p.version);
    let mut graph = Graph::default();
    for package in packages {
        for target in package.dependencies.iter().filter_map(|d| resolve(d)) {
            if !target.registry {
                continue;
            }
            if package.registry {
                graph
                    .edges
                    .insert((dependency(package), dependency(target)));
            } else {
                graph.direct.insert(dependency(target));
            }
        }
    }
    Parsed {
        dependencies: packages
            .iter()
            .filter(|p| p.registry)
            .map(dependency)
            .collect(),
        graph,
    }
}

fn unquote(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then(|| inner.to_string())
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
]

[[package]]
name = "serde"
version = "1.0.228"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"
"#;

    #[test]
    fn registry_crates_are_dependencies_path_crates_are_not() {
        let parsed = parse(Path::new("Cargo.lock"), LOCK).ok();
        let serde = Dependency::new(Ecosystem::Cargo, "serde", "1.0.228");
        assert_eq!(
            parsed.as_ref().map(|p| p.dependencies.clone()),
            Some(vec![serde.clone()])
        );
        assert_eq!(
            parsed.map(|p| p.graph.direct.into_iter().collect::<Vec<_>>()),
            Some(vec![serde])
        );
    }

    #[test]
    fn dependencies_arrays_become_edges() {
        let text = format!(
            "{LOCK}\n[[package]]\nname = \"serde_json\"\nversion = \"1.0.145\"\nsource = \"registry+x\"\ndependencies = [\n \"serde 1.0.228 (registry+x)\",\n \"itoa\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.15\"\nsource = \"registry+x\"\ndependencies = [\"serde\"]\n"
        );
        let parsed = parse(Path::new("Cargo.lock"), &text).unwrap_or_default();
        let dep = |n: &str, v: &str| Dependency::new(Ecosystem::Cargo, n, v);
        let edges: Vec<_> = parsed.graph.edges.into_iter().collect();
        assert_eq!(
            edges,
            vec![
                (dep("itoa", "1.0.15"), dep("serde", "1.0.228")),
                (dep("serde_json", "1.0.145"), dep("itoa", "1.0.15")),
                (dep("serde_json", "1.0.145"), dep("serde", "1.0.228")),
            ]
        );
        assert_eq!(parsed.dependencies.len(), 3);
    }

    #[test]
    fn a_broken_line_is_named() {
        let text = LOCK.replace("version = \"1.0.228\"", "version 1.0.228");
        let message = parse(Path::new("x/Cargo.lock"), &text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("x/Cargo.lock:13:"), "{message}");
    }
}
