//! The packages an SBOM attached to a policy lists (name, version, license), read from its SPDX 2.x or CycloneDX
//! JSON document: only the few fields shown, each optional, so that a document from any tool reads.
//!
//! A document is read at most once: what it lists (or why it cannot be read) is saved in the storage's derived data
//! under its digest, like module descriptions, so that neither a page view, a restart nor another replica parses a
//! document of many megabytes again. Content under a digest never changes, so the saved list never goes stale; a
//! document not (yet) in the repository is not saved.

use artifact::oci::Digest;
use serde::{Deserialize, Serialize};

use super::index::{Attachment, AttachmentKind};
use crate::errors::Result;
use crate::names::RepoName;
use crate::storage::{Storage, WholeBlob, read_whole};

/// SBOM documents larger than this are listed without their packages.
pub const MAX_SBOM_BYTES: u64 = 16 * 1024 * 1024;

/// One package an SBOM lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its version, if the document gives one.
    pub version: Option<String>,
    /// Its license (an SPDX expression or a name), if the document gives one.
    pub license: Option<String>,
}

/// What one SBOM document lists, or why it cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// `SPDX-2.3`, `CycloneDX 1.6`…; `None` if the document is neither.
    pub format: Option<String>,
    /// Its packages, in the document's order.
    pub packages: Vec<Package>,
    /// Why the packages are not shown, if they are not.
    pub problem: Option<String>,
}

impl Listing {
    fn unreadable(problem: String) -> Listing {
        Listing {
            format: None,
            packages: Vec::new(),
            problem: Some(problem),
        }
    }
}

/// The packages of one SBOM attached to a policy.
#[derive(Debug, Clone, Serialize)]
pub struct SbomPackages {
    /// How it is attached: `spdx`, `cyclonedx` (referrers) or `cosign-sbom` (a `.sbom` tag).
    pub kind: AttachmentKind,
    /// The manifest that carries it.
    pub manifest: Digest,
    /// The document's digest.
    pub document: Option<Digest>,
    /// What the document lists.
    #[serde(flatten)]
    pub listing: Listing,
}

/// The version of the saved listings' format: a change to [`Listing`] bumps it, and listings are made again.
const LISTING_FORMAT: &str = "sbom-packages-v1";

/// The packages of each SBOM in `sboms`, attached in `repository`.
pub async fn packages<S: Storage>(
    storage: &S,
    repository: &RepoName,
    sboms: &[Attachment],
) -> Result<Vec<SbomPackages>> {
    let mut all = Vec::with_capacity(sboms.len());
    for sbom in sboms {
        let listing = match &sbom.document {
            Some(document) => listing(storage, repository, document).await?,
            None => Listing::unreadable("the SBOM's manifest has no document layer".to_string()),
        };
        all.push(SbomPackages {
            kind: sbom.kind,
            manifest: sbom.manifest.clone(),
            document: sbom.document.clone(),
            listing,
        });
    }
    Ok(all)
}

/// What document `digest` lists: saved, else read and saved.
async fn listing<S: Storage>(
    storage: &S,
    repository: &RepoName,
    digest: &Digest,
) -> Result<Listing> {
    let key = format!(
        "hub/{LISTING_FORMAT}/{}/{}",
        digest.algorithm().name(),
        digest.hex()
    );
    if let Some(saved) = storage.derived(&key).await?
        && let Ok(listing) = serde_json::from_slice::<Listing>(&saved)
    {
        return Ok(listing);
    }
    let listing = match read_whole(storage, repository, digest, MAX_SBOM_BYTES).await? {
        WholeBlob::Missing => {
            return Ok(Listing::unreadable(format!(
                "the SBOM document {digest} is not in the repository"
            )));
        }
        WholeBlob::TooLarge(size) => Listing::unreadable(format!(
            "the SBOM document is {size} bytes, more than the {MAX_SBOM_BYTES} the hub reads: its packages are not shown"
        )),
        WholeBlob::Read(bytes) => parse(&bytes),
    };
    if let Ok(bytes) = serde_json::to_vec(&listing) {
        storage.save_derived(&key, &bytes).await?;
    }
    Ok(listing)
}

/// What an SBOM document lists: an SPDX 2.x or CycloneDX JSON document; anything else is a listing with a problem.
pub fn parse(document: &[u8]) -> Listing {
    let unreadable = |e: serde_json::Error| {
        Listing::unreadable(format!("the SBOM document cannot be read: {e}"))
    };
    let value: serde_json::Value = match serde_json::from_slice(document) {
        Ok(value) => value,
        Err(e) => return unreadable(e),
    };
    if value.get("spdxVersion").is_some() {
        return match serde_json::from_value::<SpdxDocument>(value) {
            Ok(spdx) => spdx.listing(),
            Err(e) => unreadable(e),
        };
    }
    if value.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
        return match serde_json::from_value::<CycloneDxDocument>(value) {
            Ok(bom) => bom.listing(),
            Err(e) => unreadable(e),
        };
    }
    Listing::unreadable(
        "the SBOM document is neither SPDX (`spdxVersion`) nor CycloneDX (`bomFormat`) JSON"
            .to_string(),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxDocument {
    spdx_version: String,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(default)]
    name: String,
    version_info: Option<String>,
    license_concluded: Option<String>,
    license_declared: Option<String>,
}

impl SpdxDocument {
    fn listing(self) -> Listing {
        // `NOASSERTION` and `NONE` say nothing about the license; the concluded one is the SBOM author's finding.
        let known = |license: Option<String>| {
            license.filter(|l| !l.is_empty() && l != "NOASSERTION" && l != "NONE")
        };
        Listing {
            format: Some(self.spdx_version),
            packages: self
                .packages
                .into_iter()
                .map(|p| Package {
                    name: p.name,
                    version: p.version_info,
                    license: known(p.license_concluded).or_else(|| known(p.license_declared)),
                })
                .collect(),
            problem: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CycloneDxDocument {
    spec_version: Option<String>,
    metadata: Option<CycloneDxMetadata>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct CycloneDxMetadata {
    component: Option<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    name: String,
    version: Option<String>,
    #[serde(default)]
    licenses: Vec<LicenseChoice>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct LicenseChoice {
    license: Option<License>,
    expression: Option<String>,
}

#[derive(Deserialize)]
struct License {
    id: Option<String>,
    name: Option<String>,
}

impl CycloneDxDocument {
    fn listing(self) -> Listing {
        let mut packages = Vec::new();
        let described = self.metadata.and_then(|m| m.component);
        let mut pending: Vec<Component> = described.into_iter().chain(self.components).collect();
        pending.reverse();
        // Depth first, in the document's order: a component, then those nested in it.
        while let Some(component) = pending.pop() {
            let licenses: Vec<String> = component
                .licenses
                .into_iter()
                .filter_map(|choice| {
                    choice
                        .expression
                        .or_else(|| choice.license.and_then(|l| l.id.or(l.name)))
                })
                .collect();
            packages.push(Package {
                name: component.name,
                version: component.version,
                license: (!licenses.is_empty()).then(|| licenses.join(", ")),
            });
            pending.extend(component.components.into_iter().rev());
        }
        Listing {
            format: Some(format!(
                "CycloneDX {}",
                self.spec_version.as_deref().unwrap_or("(no specVersion)")
            )),
            packages,
            problem: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_packages_with_their_licenses() {
        let listing = parse(
            br#"{"spdxVersion":"SPDX-2.3","packages":[
                {"name":"policy","versionInfo":"1.0.0","licenseConcluded":"NOASSERTION","licenseDeclared":"Apache-2.0"},
                {"name":"serde","versionInfo":"1.0.200","licenseConcluded":"MIT OR Apache-2.0"},
                {"name":"bare"}]}"#,
        );
        assert_eq!(listing.format.as_deref(), Some("SPDX-2.3"));
        assert_eq!(listing.problem, None);
        let rows: Vec<_> = listing
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref(), p.license.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("policy", Some("1.0.0"), Some("Apache-2.0")),
                ("serde", Some("1.0.200"), Some("MIT OR Apache-2.0")),
                ("bare", None, None),
            ]
        );
    }

    #[test]
    fn cyclonedx_components_nested_and_described() {
        let listing = parse(
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6",
                "metadata":{"component":{"name":"policy","version":"1.0.0"}},
                "components":[
                  {"name":"a","version":"1","licenses":[{"license":{"id":"MIT"}},{"license":{"name":"Custom"}}],
                   "components":[{"name":"a-inner","licenses":[{"expression":"MIT OR Apache-2.0"}]}]},
                  {"name":"b"}]}"#,
        );
        assert_eq!(listing.format.as_deref(), Some("CycloneDX 1.6"));
        let rows: Vec<_> = listing
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.license.as_deref()))
            .collect();
        assert_eq!(
            rows,
            [
                ("policy", None),
                ("a", Some("MIT, Custom")),
                ("a-inner", Some("MIT OR Apache-2.0")),
                ("b", None),
            ]
        );
    }

    #[test]
    fn other_documents_say_why() {
        for (document, expected) in [
            (&b"not json"[..], "cannot be read"),
            (b"{\"hello\":1}", "neither SPDX"),
            (
                b"{\"spdxVersion\":\"SPDX-2.3\",\"packages\":{}}",
                "cannot be read",
            ),
            (b"[]", "neither SPDX"),
        ] {
            let listing = parse(document);
            assert!(listing.packages.is_empty());
            assert!(
                listing
                    .problem
                    .as_deref()
                    .is_some_and(|p| p.contains(expected)),
                "{listing:?}"
            );
        }
    }
}
