//! CycloneDX 1.6 JSON documents.
//!
//! Written directly as JSON: `cyclonedx-bom` 0.8 writes specification versions up to 1.5 only.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::format::{Format, TOOL_NAME, TOOL_VERSION};
use crate::lockfile::{Dependency, EdgeKind, HashAlgorithm, Scope};
use crate::model::{Sbom, is_spdx_expression};

/// The `bom-ref` of the policy component.
pub const POLICY_REF: &str = "policy";
/// The specification version written.
pub const SPEC_VERSION: &str = "1.6";

/// The CycloneDX 1.6 document describing `sbom`, as JSON.
pub fn document(sbom: &Sbom, created: DateTime<Utc>) -> Result<Value> {
    let digest = sbom.document_digest(Format::CycloneDxJson)?;
    let policy = &sbom.policy;

    let mut root = Map::new();
    root.insert("type".into(), json!("application"));
    root.insert("bom-ref".into(), json!(POLICY_REF));
    if let Some(supplier) = &policy.supplier {
        root.insert(
            "supplier".into(),
            json!({ "name": contact(supplier)["name"] }),
        );
    }
    if let Some(author) = &policy.author {
        root.insert("authors".into(), json!([contact(author)]));
    }
    root.insert("name".into(), json!(policy.name));
    insert_some(&mut root, "version", policy.version.as_deref());
    insert_some(&mut root, "description", policy.description.as_deref());
    root.insert(
        "hashes".into(),
        json!([
            { "alg": "SHA-256", "content": policy.sha256.hex() },
            { "alg": "SHA-512", "content": policy.sha512.hex() },
        ]),
    );
    if let Some(license) = &policy.license {
        root.insert("licenses".into(), licenses(license));
    }
    insert_some(&mut root, "purl", policy.purl.as_deref());
    let mut references = Vec::new();
    if let Some(url) = &policy.download_location {
        references.push(json!({ "type": "distribution", "url": url }));
    }
    if let Some(url) = &policy.source {
        references.push(json!({ "type": "vcs", "url": url }));
    }
    if let Some(url) = &policy.homepage {
        references.push(json!({ "type": "website", "url": url }));
    }
    if !references.is_empty() {
        root.insert("externalReferences".into(), Value::Array(references));
    }
    if !policy.properties.is_empty() {
        let properties: Vec<Value> = policy
            .properties
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        root.insert("properties".into(), Value::Array(properties));
    }

    let mut components = Vec::new();
    for (index, tool) in sbom.toolchain.iter().enumerate() {
        let mut component = Map::new();
        component.insert("type".into(), json!("application"));
        component.insert("bom-ref".into(), json!(format!("tool-{}", index + 1)));
        component.insert("name".into(), json!(tool.name));
        insert_some(&mut component, "version", tool.version.as_deref());
        component.insert("scope".into(), json!("excluded"));
        component.insert(
            "properties".into(),
            json!([{ "name": "palisade:producers:field", "value": tool.field }]),
        );
        components.push(Value::Object(component));
    }
    let depends_on: Vec<String> = sbom.direct_dependencies().map(|d| d.purl()).collect();
    let mut dependencies = vec![json!({ "ref": POLICY_REF, "dependsOn": depends_on })];
    for dependency in &sbom.dependencies {
        components.push(component(sbom, dependency));
        let targets: Vec<String> = sbom
            .graph
            .dependencies_of(dependency)
            .map(|d| d.purl())
            .collect();
        dependencies.push(json!({ "ref": dependency.purl(), "dependsOn": targets }));
    }
    let mut metadata_properties: Vec<Value> = sbom
        .lockfiles
        .iter()
        .map(|lockfile| {
            json!({ "name": "palisade:lockfile", "value": format!("{} {}", lockfile.name, lockfile.sha256) })
        })
        .collect();
    metadata_properties.extend(
        sbom.notes
            .iter()
            .map(|note| json!({ "name": "palisade:not-established", "value": note.text })),
    );

    let mut document = json!({
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(digest.hex()),
        "version": 1,
        "metadata": {
            "timestamp": created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "lifecycles": sbom
                .types()
                .into_iter()
                .map(|(_, phase)| json!({ "phase": phase }))
                .collect::<Vec<_>>(),
            "tools": {
                "components": [
                    { "type": "application", "name": TOOL_NAME, "version": TOOL_VERSION }
                ]
            },
            "component": Value::Object(root),
        },
        "components": components,
        "dependencies": dependencies,
    });
    if !metadata_properties.is_empty() {
        document["metadata"]["properties"] = Value::Array(metadata_properties);
    }
    Ok(document)
}

/// The component of a dependency: package URL, supplier, hashes, licenses, and its scope
/// (`excluded` when not part of the policy as built, with the reason as a property).
fn component(sbom: &Sbom, dependency: &Dependency) -> Value {
    let purl = dependency.purl();
    let mut component = Map::new();
    component.insert("type".into(), json!("library"));
    component.insert("bom-ref".into(), json!(purl));
    if let Some(supplier) = &dependency.supplier {
        component.insert(
            "supplier".into(),
            json!({ "name": contact(supplier)["name"] }),
        );
    }
    component.insert("name".into(), json!(dependency.name));
    component.insert("version".into(), json!(dependency.version));
    match dependency.scope {
        Scope::Unknown => {}
        Scope::Runtime => {
            component.insert("scope".into(), json!("required"));
        }
        _ => {
            component.insert("scope".into(), json!("excluded"));
        }
    }
    let mut properties = Vec::new();
    if dependency.scope != Scope::Unknown {
        properties.push(json!({ "name": "palisade:scope", "value": dependency.scope.name() }));
    }
    if sbom.graph.kind(None, dependency) == Some(EdgeKind::Indirect) {
        properties.push(json!({ "name": "palisade:go:indirect", "value": "true" }));
    }
    let mut hashes = Vec::new();
    for hash in &dependency.hashes {
        let algorithm = match hash.algorithm {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
            HashAlgorithm::GoH1 => {
                properties.push(json!({ "name": "palisade:go:h1", "value": hash.value }));
                continue;
            }
        };
        hashes.push(json!({ "alg": algorithm, "content": hash.value }));
    }
    if !hashes.is_empty() {
        component.insert("hashes".into(), Value::Array(hashes));
    }
    if let Some(license) = &dependency.license {
        component.insert("licenses".into(), licenses(license));
    }
    component.insert("purl".into(), json!(purl));
    if !properties.is_empty() {
        component.insert("properties".into(), Value::Array(properties));
    }
    Value::Object(component)
}

/// A `licenses` list: the expression when it is an SPDX one, else the license by name.
fn licenses(license: &str) -> Value {
    if is_spdx_expression(license) {
        json!([{ "expression": license }])
    } else {
        json!([{ "license": { "name": license } }])
    }
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        map.insert(key.into(), json!(value));
    }
}

/// An organizational contact from an author annotation such as `Jane Doe <jane@example.com>`.
fn contact(author: &str) -> Value {
    match author.split_once('<') {
        Some((name, rest)) => json!({
            "name": name.trim(),
            "email": rest.trim_end().trim_end_matches('>').trim(),
        }),
        None => json!({ "name": author.trim() }),
    }
}

/// A `urn:uuid:` made from the content digest, shaped as a version-5 UUID (as the schema asks).
fn serial_number(hex: &str) -> String {
    let digits: Vec<char> = hex.chars().take(32).collect();
    let mut digits: String = digits.into_iter().collect();
    // Version nibble 5, variant bits 10xx.
    digits.replace_range(12..13, "5");
    let variant = u8::from_str_radix(&digits[16..17], 16).unwrap_or(0);
    digits.replace_range(16..17, &format!("{:x}", 0x8 | (variant & 0x3)));
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &digits[0..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_version_5_uuids() {
        let serial = serial_number(&"f".repeat(64));
        assert_eq!(serial, "urn:uuid:ffffffff-ffff-5fff-bfff-ffffffffffff");
    }
}
