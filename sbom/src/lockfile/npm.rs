//! npm: `package-lock.json` (lockfile versions 2 and 3, whose `packages` map lists every installed
//! package by its `node_modules/…` path).

use std::path::Path;

use super::{Dependency, Ecosystem, error_at, parse_json};
use crate::error::Result;

const NODE_MODULES: &str = "node_modules/";

/// Parses `package-lock.json` text read from `path`. Linked (workspace) packages are skipped.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Dependency>> {
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
    let mut dependencies = Vec::new();
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
        dependencies.push(Dependency::new(Ecosystem::Npm, name, version));
    }
    Ok(dependencies)
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
        let deps = parse(Path::new("package-lock.json"), text).ok();
        assert_eq!(
            deps,
            Some(vec![
                Dependency::new(Ecosystem::Npm, "@scope/a", "1.2.3"),
                Dependency::new(Ecosystem::Npm, "b", "0.1.0"),
            ])
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
