//! npm: `package-lock.json` (lockfile versions 2 and 3, whose `packages` map lists every installed
//! package by its `node_modules/…` path, with the names each one depends on).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Dependency, Ecosystem, Graph, Parsed, error_at, parse_json};
use crate::error::Result;

const NODE_MODULES: &str = "node_modules/";
/// The maps of a package entry that name what it depends on.
const DEPENDENCY_FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Parses `package-lock.json` text read from `path`. Linked (workspace) packages are skipped.
pub fn parse(path: &Path, text: &str) -> Result<Parsed> {
    let document = parse_json(path, text)?;
    let Some(packages) = document.get("packages").and_then(|p| p.as_object()) else {
        let version = document.get("lockfileVersion").cloned().unwrap_or_default();
        return Err(error_at(
            path,
            0,
            format!(
                "no `packages` object (lockfileVersion {version}); regenerate the lockfile with npm 7 or later"
            ),
        ));
    };
    let mut installed: BTreeMap<&str, Dependency> = BTreeMap::new();
    for (key, entry) in packages {
        let Some(index) = key.rfind(NODE_MODULES) else {
            continue;
        };
        if entry.get("link").and_then(|l| l.as_bool()) == Some(true) {
            continue;
        }
        let name = entry
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or(&key[index + NODE_MODULES.len()..]);
        let Some(version) = entry.get("version").and_then(|v| v.as_str()) else {
            return Err(error_at(
                path,
                0,
                format!("the package `{key}` has no `version`"),
            ));
        };
        installed.insert(key, Dependency::new(Ecosystem::Npm, name, version));
    }
    let mut graph = Graph::default();
    for (key, entry) in packages {
        let from = installed.get(key.as_str());
        if from.is_none() && !key.is_empty() {
            continue;
        }
        for name in depends_on(entry) {
            let Some(to) = resolve(&installed, key, name) else {
                continue;
            };
            match from {
                Some(from) => graph.edges.insert((from.clone(), to.clone())),
                None => graph.direct.insert(to.clone()),
            };
        }
    }
    Ok(Parsed {
        dependencies: installed.into_values().collect(),
        graph,
    })
}

/// The names a package entry depends on.
fn depends_on(entry: &Value) -> impl Iterator<Item = &str> {
    DEPENDENCY_FIELDS
        .iter()
        .filter_map(|field| entry.get(*field).and_then(Value::as_object))
        .flat_map(|map| map.keys().map(String::as_str))
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
    fn nested_and_scoped_packages() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "policy", "version": "1.0.0"},
            "node_modules/@scope/a": {"version": "1.2.3"},
            "node_modules/@scope/a/node_modules/b": {"version": "0.1.0"},
            "node_modules/local": {"link": true, "resolved": "packages/local"}
        }}"#;
        let deps = parse(Path::new("package-lock.json"), text)
            .ok()
            .map(|p| p.dependencies);
        assert_eq!(
            deps,
            Some(vec![
                Dependency::new(Ecosystem::Npm, "@scope/a", "1.2.3"),
                Dependency::new(Ecosystem::Npm, "b", "0.1.0"),
            ])
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
            parsed.graph.direct.into_iter().collect::<Vec<_>>(),
            vec![dep("a", "1.0.0"), dep("c", "1.0.0")]
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
    fn a_syntax_error_has_its_line() {
        let err = parse(Path::new("package-lock.json"), "{\n\"packages\": {,\n}");
        assert!(matches!(
            err,
            Err(crate::SbomError::Lockfile { line: 2, .. })
        ));
    }
}
