//! .NET: `packages.lock.json` (NuGet's lock file: packages by target framework).

use std::path::Path;

use super::{Dependency, Ecosystem, error_at, parse_json};
use crate::error::Result;

/// Parses `packages.lock.json` text read from `path`. Project references are skipped.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Dependency>> {
    let document = parse_json(path, text)?;
    let Some(frameworks) = document.get("dependencies").and_then(|d| d.as_object()) else {
        return Err(error_at(path, 0, "no `dependencies` object"));
    };
    let mut dependencies = Vec::new();
    for (framework, packages) in frameworks {
        let Some(packages) = packages.as_object() else {
            return Err(error_at(
                path,
                0,
                format!("`dependencies.{framework}` is not an object"),
            ));
        };
        for (name, entry) in packages {
            if entry.get("type").and_then(|t| t.as_str()) == Some("Project") {
                continue;
            }
            let Some(version) = entry.get("resolved").and_then(|v| v.as_str()) else {
                return Err(error_at(
                    path,
                    0,
                    format!("`dependencies.{framework}.{name}` has no `resolved` version"),
                ));
            };
            dependencies.push(Dependency::new(Ecosystem::Nuget, name, version));
        }
    }
    Ok(dependencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_of_every_framework() {
        let text = r#"{"version": 1, "dependencies": {"net8.0": {
            "WapcGuest": {"type": "Direct", "requested": "[1.0.0, )", "resolved": "1.0.0"},
            "Other": {"type": "Project"}
        }}}"#;
        let deps = parse(Path::new("packages.lock.json"), text).ok();
        assert_eq!(
            deps,
            Some(vec![Dependency::new(
                Ecosystem::Nuget,
                "WapcGuest",
                "1.0.0"
            )])
        );
    }
}
