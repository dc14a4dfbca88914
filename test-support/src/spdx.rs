//! Reading SPDX documents in tests.

use serde_json::Value;

/// The `DEPENDS_ON` relationships of an SPDX JSON document as (package name, dependency name) pairs,
/// sorted: the dependency graph an SBOM states, independent of SPDX ids.
pub fn spdx_depends_on(spdx: &Value) -> Vec<(String, String)> {
    let packages = spdx["packages"].as_array().cloned().unwrap_or_default();
    let name_of = |id: &Value| {
        packages
            .iter()
            .find(|p| p["SPDXID"] == *id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut edges: Vec<(String, String)> = spdx["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .map(|r| {
            (
                name_of(&r["spdxElementId"]),
                name_of(&r["relatedSpdxElement"]),
            )
        })
        .collect();
    edges.sort();
    edges
}
