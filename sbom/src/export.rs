//! The audit export: the SBOM of every tagged policy of a registry under a repository prefix, written
//! to a folder with an index (`index.csv`, `index.json`) of policy, tag, digest, license, SBOM
//! format and who vouches for it.
//!
//! Repositories come from the registry catalog (`/v2/_catalog`, every page), tags from each
//! repository's tag list; cosign's and the referrers fallback tags (`sha256-…`) are not policies.
//! A tag whose manifest is not a Wasm policy is skipped. With keys, the SBOM is the one a verified
//! attestation vouches for (see [`crate::fetch::fetch_verified`]), else the newest attached one,
//! unverified; a policy without any SBOM still gets a row, with empty format and file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use artifact::oci::Digest;
use artifact::oci::policy::{parse_manifest, policy_layer};
use artifact::reference::RegistryRef;
use client::remote::Remote;
use serde::Serialize;
use serde_json::Value;
use signing::keys::PublicKey;

use crate::error::{Result, SbomError};
use crate::fetch::{Fetched, fetch, fetch_verified};
use crate::format::Format;

/// One policy of the export (a row of the index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The repository.
    pub policy: String,
    /// The tag.
    pub tag: String,
    /// The manifest digest the tag points to.
    pub digest: Digest,
    /// The policy's declared license, as its SBOM says.
    pub license: Option<String>,
    /// The SBOM format written (`spdx-json`, `cyclonedx-json`), if the policy has an SBOM.
    pub format: Option<&'static str>,
    /// The key whose attestation vouches for the SBOM (`sha256:` and 16 hex digits of its fingerprint); empty when unverified.
    pub signed_by: Option<String>,
    /// Where the SBOM came from: `referrer` (attached) or `attestation` (the attested predicate).
    pub source: Option<&'static str>,
    /// The file written, relative to the export folder.
    pub file: Option<PathBuf>,
}

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct Export<'a> {
    /// The registry (`host[:port]`).
    pub registry: &'a str,
    /// The repository prefix (`policies` takes `policies/a`, `policies/b/c`; empty takes all).
    pub prefix: &'a str,
    /// The folder to write to.
    pub dir: &'a Path,
    /// Keys whose attestations vouch for SBOMs; none: SBOMs are exported unverified.
    pub keys: &'a [PublicKey],
}

/// Exports every tagged policy's SBOM and writes the index; returns the rows, sorted by policy and tag.
pub async fn export(remote: &Remote, export: Export<'_>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    // Tags of one repository often share a manifest: its SBOM is looked up once.
    let mut found_by_digest: HashMap<(String, Digest), Option<Fetched>> = HashMap::new();
    for repository_name in remote.catalog(export.registry, export.prefix).await? {
        let base = RegistryRef {
            registry: export.registry.to_string(),
            repository: repository_name.clone(),
            tag: None,
            digest: None,
        };
        let repository = remote.repository(&base).await?;
        let mut tags = repository.tags().await?;
        tags.retain(|tag| !tag.starts_with("sha256-") && !tag.starts_with("sha512-"));
        tags.sort();
        for tag in tags {
            let Some(manifest) = repository.manifest(&tag).await? else {
                continue;
            };
            let is_policy = parse_manifest(&tag, &manifest.bytes)
                .is_ok_and(|parsed| policy_layer(&parsed).is_ok());
            if !is_policy {
                continue;
            }
            let digest = manifest.digest();
            let pinned = RegistryRef {
                tag: Some(tag.clone()),
                digest: Some(digest.clone()),
                ..base.clone()
            };
            let key = (repository_name.clone(), digest.clone());
            let found = match found_by_digest.get(&key) {
                Some(found) => found.clone(),
                None => {
                    let found = sbom_of(remote, &pinned, export.keys).await?;
                    found_by_digest.insert(key, found.clone());
                    found
                }
            };
            rows.push(write_row(
                export.dir,
                &repository_name,
                &tag,
                digest,
                found,
            )?);
        }
    }
    rows.sort_by(|a, b| (&a.policy, &a.tag).cmp(&(&b.policy, &b.tag)));
    write_index(export.dir, &rows)?;
    Ok(rows)
}

/// The SBOM to export: vouched for by an attestation when keys are given and one verifies, else the
/// newest attached one; `None` when there is none.
async fn sbom_of(
    remote: &Remote,
    reference: &RegistryRef,
    keys: &[PublicKey],
) -> Result<Option<Fetched>> {
    if !keys.is_empty() {
        match fetch_verified(remote, reference, None, keys).await {
            Ok(fetched) => return Ok(Some(fetched)),
            Err(SbomError::NotVerified { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    match fetch(remote, reference, None).await {
        Ok(fetched) => Ok(Some(fetched)),
        Err(SbomError::NoSbom(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_row(
    dir: &Path,
    policy: &str,
    tag: &str,
    digest: Digest,
    found: Option<Fetched>,
) -> Result<Row> {
    let Some(fetched) = found else {
        return Ok(Row {
            policy: policy.to_string(),
            tag: tag.to_string(),
            digest,
            license: None,
            format: None,
            signed_by: None,
            source: None,
            file: None,
        });
    };
    let extension = match fetched.format {
        Format::SpdxJson => "spdx.json",
        Format::CycloneDxJson => "cdx.json",
    };
    let file = PathBuf::from(policy).join(format!("{tag}.{extension}"));
    let path = dir.join(&file);
    if let Some(parent) = path.parent() {
        artifact::files::create_dir_all(parent)?;
    }
    artifact::files::write_atomic(&path, |out| out.write_all(&fetched.document))?;
    Ok(Row {
        policy: policy.to_string(),
        tag: tag.to_string(),
        digest,
        license: serde_json::from_slice::<Value>(&fetched.document)
            .ok()
            .and_then(|document| license(&document, fetched.format)),
        format: Some(fetched.format.name()),
        source: Some(match fetched.referrer {
            Some(_) => "referrer",
            None => "attestation",
        }),
        signed_by: fetched.signed_by,
        file: Some(file),
    })
}

/// The declared license of the described package: SPDX `licenseDeclared` of the package the
/// document DESCRIBES (unless NOASSERTION); CycloneDX `metadata.component.licenses`.
pub fn license(document: &Value, format: Format) -> Option<String> {
    match format {
        Format::SpdxJson => {
            let described: Vec<&str> = document["relationships"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| {
                    r["relationshipType"] == "DESCRIBES" && r["spdxElementId"] == "SPDXRef-DOCUMENT"
                })
                .filter_map(|r| r["relatedSpdxElement"].as_str())
                .chain(
                    document["documentDescribes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                )
                .collect();
            document["packages"]
                .as_array()?
                .iter()
                .filter(|p| {
                    p["SPDXID"]
                        .as_str()
                        .is_some_and(|id| described.contains(&id))
                })
                .filter_map(|p| p["licenseDeclared"].as_str())
                .find(|l| !matches!(*l, "NOASSERTION" | "NONE"))
                .map(str::to_string)
        }
        Format::CycloneDxJson => {
            let licenses = document["metadata"]["component"]["licenses"].as_array()?;
            let names: Vec<String> = licenses
                .iter()
                .filter_map(|entry| {
                    entry["expression"]
                        .as_str()
                        .or_else(|| entry["license"]["id"].as_str())
                        .or_else(|| entry["license"]["name"].as_str())
                        .map(str::to_string)
                })
                .collect();
            (!names.is_empty()).then(|| names.join(" AND "))
        }
    }
}

/// Writes `index.csv` and `index.json` in `dir`.
fn write_index(dir: &Path, rows: &[Row]) -> Result<()> {
    artifact::files::create_dir_all(dir)?;
    let mut csv = String::from("policy,tag,digest,license,format,signed_by,source,file\n");
    for row in rows {
        let file = row
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let fields = [
            row.policy.as_str(),
            row.tag.as_str(),
            &row.digest.to_string(),
            row.license.as_deref().unwrap_or_default(),
            row.format.unwrap_or_default(),
            row.signed_by.as_deref().unwrap_or_default(),
            row.source.unwrap_or_default(),
            &file,
        ]
        .map(csv_field);
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    artifact::files::write_atomic(&dir.join("index.csv"), |out| out.write_all(csv.as_bytes()))?;
    let mut json = serde_json::to_vec_pretty(rows)?;
    json.push(b'\n');
    artifact::files::write_atomic(&dir.join("index.json"), |out| out.write_all(&json))?;
    Ok(())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("Apache-2.0"), "Apache-2.0");
        assert_eq!(csv_field("MIT, or not"), "\"MIT, or not\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn licenses_of_both_formats() {
        let spdx = serde_json::json!({
            "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                               "relatedSpdxElement": "SPDXRef-Package-policy"}],
            "packages": [
                {"SPDXID": "SPDXRef-Package-dependency-1", "licenseDeclared": "MIT"},
                {"SPDXID": "SPDXRef-Package-policy", "licenseDeclared": "Apache-2.0"}
            ]
        });
        assert_eq!(
            license(&spdx, Format::SpdxJson).as_deref(),
            Some("Apache-2.0")
        );
        let unknown = serde_json::json!({"packages": [{"SPDXID": "x", "licenseDeclared": "NOASSERTION"}],
                                         "documentDescribes": ["x"]});
        assert_eq!(license(&unknown, Format::SpdxJson), None);
        let cdx = serde_json::json!({"metadata": {"component": {"licenses": [{"expression": "Apache-2.0"}]}}});
        assert_eq!(
            license(&cdx, Format::CycloneDxJson).as_deref(),
            Some("Apache-2.0")
        );
        let named = serde_json::json!({"metadata": {"component": {"licenses": [{"license": {"name": "Custom"}}]}}});
        assert_eq!(
            license(&named, Format::CycloneDxJson).as_deref(),
            Some("Custom")
        );
    }
}
