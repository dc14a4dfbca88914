//! SPDX 2.3 JSON documents, built with the `spdx-rs` model.
//!
//! `spdx-rs` defaults to SPDX 2.2, placeholder creators and the current time; every one of those
//! fields is set here. Its annotations carry an `spdxIdentifierReference` field that SPDX 2.3 JSON
//! does not have, so null fields (and empty lists) are dropped from the written document.

use chrono::{DateTime, Utc};
use serde_json::Value;
use spdx_rs::models::SpdxExpression;
use spdx_rs::models::{
    Algorithm, Annotation, AnnotationType, Checksum, CreationInfo, DocumentCreationInformation,
    ExternalPackageReference, ExternalPackageReferenceCategory, PackageInformation,
    PrimaryPackagePurpose, Relationship, RelationshipType, SPDX,
};

use crate::error::Result;
use crate::format::{Format, TOOL_NAME, TOOL_VERSION};
use crate::lockfile::{Dependency, EdgeKind, HashAlgorithm};
use crate::model::{Sbom, is_spdx_expression};

/// The SPDX identifier of the document.
pub const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";
/// The SPDX identifier of the policy package.
pub const POLICY_ID: &str = "SPDXRef-Package-policy";
const NOASSERTION: &str = "NOASSERTION";

/// The SPDX 2.3 document describing `sbom`, as JSON.
pub fn document(sbom: &Sbom, created: DateTime<Utc>) -> Result<Value> {
    let digest = sbom.document_digest(Format::SpdxJson)?;
    let policy = &sbom.policy;
    let creator = format!("Tool: {TOOL_NAME}-{TOOL_VERSION}");
    let mut spdx = SPDX {
        document_creation_information: DocumentCreationInformation {
            spdx_version: "SPDX-2.3".to_string(),
            data_license: "CC0-1.0".to_string(),
            spdx_identifier: DOCUMENT_ID.to_string(),
            document_name: policy.name.clone(),
            spdx_document_namespace: format!(
                "https://palisade.invalid/spdxdocs/{}-{}",
                crate::lockfile::percent_encode(&policy.name),
                digest.hex()
            ),
            external_document_references: Vec::new(),
            creation_info: CreationInfo {
                license_list_version: None,
                creators: vec![creator.clone()],
                created,
                creator_comment: Some(creation_comment(sbom)),
            },
            document_comment: None,
            document_describes: Vec::new(),
        },
        package_information: Vec::new(),
        other_licensing_information_detected: Vec::new(),
        file_information: Vec::new(),
        snippet_information: Vec::new(),
        relationships: vec![Relationship::new(
            DOCUMENT_ID,
            POLICY_ID,
            RelationshipType::Describes,
            None,
        )],
        annotations: Vec::new(),
        spdx_ref_counter: 0,
    };

    let mut root = PackageInformation {
        package_name: policy.name.clone(),
        package_spdx_identifier: POLICY_ID.to_string(),
        package_version: policy.version.clone(),
        package_supplier: Some(
            policy
                .supplier
                .as_deref()
                .map_or_else(|| NOASSERTION.to_string(), organization),
        ),
        package_download_location: policy
            .download_location
            .clone()
            .filter(|url| spdx_accepts_url(url))
            .unwrap_or_else(|| NOASSERTION.to_string()),
        package_comment: policy
            .download_location
            .as_ref()
            .filter(|url| !spdx_accepts_url(url))
            .map(|url| format!("pulled from {url}")),
        files_analyzed: Some(false),
        package_checksum: vec![
            Checksum::new(Algorithm::SHA256, policy.sha256.hex()),
            Checksum::new(Algorithm::SHA512, policy.sha512.hex()),
        ],
        package_home_page: policy.homepage.clone(),
        source_information: policy
            .source
            .as_ref()
            .map(|source| format!("source code: {source}")),
        declared_license: match &policy.license {
            Some(license) if policy.license_is_spdx => SpdxExpression::parse(license).ok(),
            Some(_) => SpdxExpression::parse(NOASSERTION).ok(),
            None => None,
        },
        comments_on_license: policy
            .license
            .as_ref()
            .filter(|_| !policy.license_is_spdx)
            .map(|license| format!("declared as `{license}`, not an SPDX license expression")),
        package_summary_description: policy.description.clone(),
        copyright_text: Some(NOASSERTION.to_string()),
        primary_package_purpose: Some(PrimaryPackagePurpose::Application),
        ..PackageInformation::default()
    };
    if let Some(purl) = &policy.purl {
        root.external_reference.push(purl_reference(purl));
    }
    root.annotations = policy
        .properties
        .iter()
        .map(|(name, value)| Annotation {
            annotator: creator.clone(),
            annotation_date: created,
            annotation_type: AnnotationType::Other,
            spdx_identifier_reference: None,
            annotation_comment: format!("{name}={value}"),
        })
        .collect();
    spdx.package_information.push(root);

    for (index, tool) in sbom.toolchain.iter().enumerate() {
        let id = format!("SPDXRef-Package-tool-{}", index + 1);
        spdx.package_information.push(PackageInformation {
            package_name: tool.name.clone(),
            package_spdx_identifier: id.clone(),
            package_version: tool.version.clone(),
            files_analyzed: Some(false),
            package_comment: Some(format!("producers section, field `{}`", tool.field)),
            copyright_text: Some(NOASSERTION.to_string()),
            ..PackageInformation::default()
        });
        spdx.relationships.push(Relationship::new(
            &id,
            POLICY_ID,
            RelationshipType::BuildToolOf,
            None,
        ));
    }

    let dependency_id = |dependency: &Dependency| {
        sbom.dependencies
            .binary_search(dependency)
            .ok()
            .map(|index| format!("SPDXRef-Package-dependency-{}", index + 1))
    };
    for (index, dependency) in sbom.dependencies.iter().enumerate() {
        spdx.package_information
            .push(dependency_package(dependency, index + 1));
    }
    for to in sbom.direct_dependencies() {
        if let Some(to_id) = dependency_id(to) {
            let kind = sbom.graph.kind(None, to);
            spdx.relationships
                .push(relationship(POLICY_ID, &to_id, kind));
        }
    }
    for (from, to) in &sbom.graph.edges {
        if let (Some(from_id), Some(to_id)) = (dependency_id(from), dependency_id(to)) {
            let kind = sbom.graph.kind(Some(from), to);
            spdx.relationships
                .push(relationship(&from_id, &to_id, kind));
        }
    }

    let mut value = serde_json::to_value(&spdx)?;
    drop_empty(&mut value);
    Ok(value)
}

/// The package of a dependency: name, version, supplier, hashes, license and package URL; its
/// scope (and a Go `h1:` hash, which no SPDX checksum algorithm is) in its comment.
fn dependency_package(dependency: &Dependency, number: usize) -> PackageInformation {
    let mut checksums = Vec::new();
    let mut comments = Vec::new();
    for hash in &dependency.hashes {
        let algorithm = match hash.algorithm {
            HashAlgorithm::Sha1 => Algorithm::SHA1,
            HashAlgorithm::Sha256 => Algorithm::SHA256,
            HashAlgorithm::Sha512 => Algorithm::SHA512,
            HashAlgorithm::GoH1 => {
                comments.push(format!(
                    "go.sum hash {} (Go's dirhash: a SHA-256 over the module's file list, not a checksum of an archive)",
                    hash.value
                ));
                continue;
            }
        };
        checksums.push(Checksum::new(algorithm, &hash.value));
    }
    if let Some(scope) = dependency.scope.describe() {
        comments.insert(0, format!("scope: {scope}"));
    }
    let license = dependency.license.as_deref();
    PackageInformation {
        package_name: dependency.name.clone(),
        package_spdx_identifier: format!("SPDXRef-Package-dependency-{number}"),
        package_version: Some(dependency.version.clone()),
        package_supplier: Some(
            dependency
                .supplier
                .as_deref()
                .map_or_else(|| NOASSERTION.to_string(), organization),
        ),
        files_analyzed: Some(false),
        package_checksum: checksums,
        declared_license: license.and_then(|license| {
            SpdxExpression::parse(if is_spdx_expression(license) {
                license
            } else {
                NOASSERTION
            })
            .ok()
        }),
        comments_on_license: license
            .filter(|license| !is_spdx_expression(license))
            .map(|license| format!("declared as `{license}`, not an SPDX license expression")),
        package_comment: (!comments.is_empty()).then(|| comments.join("; ")),
        copyright_text: Some(NOASSERTION.to_string()),
        external_reference: vec![purl_reference(&dependency.purl())],
        primary_package_purpose: Some(PrimaryPackagePurpose::Library),
        ..PackageInformation::default()
    }
}

/// The relationship for an edge from `from` to `to` of `kind`: `DEPENDS_ON` for a normal (or
/// indirect) one, `to BUILD_DEPENDENCY_OF from` for a build one, and so on.
fn relationship(from: &str, to: &str, kind: Option<EdgeKind>) -> Relationship {
    match kind {
        None => Relationship::new(from, to, RelationshipType::DependsOn, None),
        Some(EdgeKind::Indirect) => Relationship::new(
            from,
            to,
            RelationshipType::DependsOn,
            Some("indirect (go.mod `// indirect`): required through another module".to_string()),
        ),
        Some(EdgeKind::Build) => {
            Relationship::new(to, from, RelationshipType::BuildDependencyOf, None)
        }
        Some(EdgeKind::Dev) => Relationship::new(to, from, RelationshipType::DevDependencyOf, None),
        Some(EdgeKind::OtherTarget) => Relationship::new(
            to,
            from,
            RelationshipType::OptionalDependencyOf,
            Some("on other compilation targets than wasm32 only".to_string()),
        ),
    }
}

/// The creation comment: the SBOM type (SPDX 2.3 has no field for it), the lockfiles read (by
/// name and digest) and what could not be established.
fn creation_comment(sbom: &Sbom) -> String {
    let types: Vec<&str> = sbom.types().into_iter().map(|(name, _)| name).collect();
    let mut lines = vec![format!("SBOM type: {}", types.join(", "))];
    lines.extend(
        sbom.lockfiles
            .iter()
            .map(|lockfile| format!("Lockfile read: {} ({})", lockfile.name, lockfile.sha256)),
    );
    lines.extend(
        sbom.notes
            .iter()
            .map(|note| format!("Not established: {}", note.text)),
    );
    lines.join("\n")
}

fn purl_reference(purl: &str) -> ExternalPackageReference {
    ExternalPackageReference::new(
        ExternalPackageReferenceCategory::PackageManager,
        "purl".to_string(),
        purl.to_string(),
        None,
    )
}

/// Whether the SPDX validator takes `url` as a download location: its host must end with a
/// top-level domain of 2 to 5 lowercase letters, so IP addresses and `localhost` are refused (their
/// URL goes into the package comment instead).
fn spdx_accepts_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    match host.rsplit_once('.') {
        Some((_, tld)) => {
            (2..=5).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_lowercase())
        }
        None => false,
    }
}

/// `Organization: NAME (EMAIL)` from an author annotation such as `Jane Doe <jane@example.com>`.
fn organization(author: &str) -> String {
    match author.split_once('<') {
        Some((name, rest)) => {
            let email = rest.trim_end().trim_end_matches('>').trim();
            format!("Organization: {} ({email})", name.trim())
        }
        None => format!("Organization: {}", author.trim()),
    }
}

/// Drops null fields and empty lists, which say nothing.
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
            map.values_mut().for_each(drop_empty);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_locations_the_validator_takes() {
        assert!(spdx_accepts_url(
            "https://ghcr.io/v2/a/b/manifests/sha256:00"
        ));
        assert!(spdx_accepts_url(
            "https://registry.example.com:5000/v2/a/manifests/x"
        ));
        assert!(!spdx_accepts_url("http://127.0.0.1:5000/v2/a/manifests/x"));
        assert!(!spdx_accepts_url("http://localhost:5000/v2/a/manifests/x"));
    }

    #[test]
    fn authors_become_organizations() {
        assert_eq!(
            organization("Kubewarden developers <cncf-kubewarden-maintainers@lists.cncf.io>"),
            "Organization: Kubewarden developers (cncf-kubewarden-maintainers@lists.cncf.io)"
        );
        assert_eq!(organization("ACME"), "Organization: ACME");
    }
}
