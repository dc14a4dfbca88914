//! The format-neutral description of a policy: the root package, its toolchain, its dependencies.

use std::path::{Path, PathBuf};

use artifact::inspect::{ModuleReport, inspect};
use artifact::metadata::{Metadata, Rule, WellKnown};
use artifact::oci::{Algorithm, Digest};
use artifact::reference::RegistryRef;
use serde::Serialize;

use crate::binary;
use crate::element::Element;
use crate::error::{Result, SbomError};
use crate::format::{Format, PROPERTY_PREFIX};
use crate::lockfile::{self, Dependency, Graph, Lockfile, Note, Subject, Toolchain};

/// Where the module came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A module file.
    File(PathBuf),
    /// A policy in a registry, pinned to its manifest digest.
    Registry(RegistryRef),
}

/// The policy: the document's root package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The title annotation, else the repository's or file's name.
    pub name: String,
    /// The version annotation, else the tag it was pulled as, else its digest.
    pub version: Option<String>,
    /// The author annotation, as written.
    pub author: Option<String>,
    /// Who supplies it: given explicitly, else the author annotation.
    pub supplier: Option<String>,
    /// The declared license, as written.
    pub license: Option<String>,
    /// Whether [`Policy::license`] is a valid SPDX license expression (known identifiers only).
    pub license_is_spdx: bool,
    /// The description annotation.
    pub description: Option<String>,
    /// The home page.
    pub homepage: Option<String>,
    /// Where its source code is.
    pub source: Option<String>,
    /// The sha256 of the module.
    pub sha256: Digest,
    /// The sha512 of the module.
    pub sha512: Digest,
    /// `pkg:oci/NAME@sha256:…?repository_url=…` for a registry reference.
    pub purl: Option<String>,
    /// Where it can be downloaded (the manifest's URL for a registry reference).
    pub download_location: Option<String>,
    /// Properties for what the metadata says of how it runs (execution mode, rules…), sorted by
    /// name; a name may repeat (one `rule` per rule).
    pub properties: Vec<(String, String)>,
}

/// One entry of the module's `producers` section: a language, a tool or an SDK.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Tool {
    /// The producers field: `language`, `processed-by` or `sdk`.
    pub field: String,
    /// Its name.
    pub name: String,
    /// Its version, when recorded.
    pub version: Option<String>,
}

/// Everything an SBOM says, before it is written in a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sbom {
    /// The root package.
    pub policy: Policy,
    /// The toolchain, sorted.
    pub toolchain: Vec<Tool>,
    /// The lockfile dependencies, sorted, without duplicates.
    pub dependencies: Vec<Dependency>,
    /// Who depends on whom among them (the policy on [`Graph::direct`]).
    #[serde(skip_serializing_if = "Graph::is_empty")]
    pub graph: Graph,
    /// The lockfiles they were read from.
    pub lockfiles: Vec<Lockfile>,
    /// What could not be established from the inputs, said in the document.
    pub notes: Vec<Note>,
    /// A random identifier making the document's IDs unique, when it need not be reproducible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// What could not be described (no metadata, no supplier…), for the user.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The document's note on the toolchain entries.
const TOOLCHAIN_NOTE: &str = "Toolchain: the module's producers section names each tool and its \
     version only: the tools' suppliers, identifiers, hashes and licenses are not known";

/// The document's note on copyright notices, which no input records.
const COPYRIGHT_NOTE: &str = "Copyright notices: none of the inputs (the module's metadata, \
     lockfiles, cargo metadata, the dependency list a module embeds) records them";

/// What, besides the module, an SBOM is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// The policy's source folder, whose lockfiles list its dependencies.
    pub source: Option<&'a Path>,
    /// The toolchain programs that may be run on the source folder.
    pub toolchain: Toolchain<'a>,
    /// Who supplies the policy, when its author annotation does not say (or says otherwise).
    pub supplier: Option<&'a str>,
    /// Whether a source folder without dependencies (no lockfile, or an empty one) is accepted.
    pub allow_no_dependencies: bool,
    /// Whether the same inputs must give the same document (`SOURCE_DATE_EPOCH` is set); when not,
    /// each document gets unique IDs.
    pub reproducible: bool,
}

impl Sbom {
    /// Describes `module` (its bytes), which came from `origin`, with the dependencies of the
    /// lockfiles in the source folder when given.
    pub fn build(module: &[u8], origin: &Origin, options: &Options<'_>) -> Result<Sbom> {
        let report = inspect(module)?;
        let mut warnings = Vec::new();
        if report.metadata.is_none() {
            warnings.push(
                "the module has no policy metadata (io.kubewarden.metadata section): the SBOM lacks \
                 its title, version, author, license and rules; add them with `palisade annotate`"
                    .to_string(),
            );
        }
        let mut policy = policy(module, &report, origin, options.supplier);
        if policy.supplier.is_none() {
            warnings.push(format!(
                "the policy has no supplier (no annotation `{}`): the SBOM says NOASSERTION; name one with --supplier",
                WellKnown::Author.key()
            ));
        }
        if let Some(metadata) = &report.metadata
            && metadata.well_known(WellKnown::License).is_none()
        {
            warnings.push(format!(
                "the metadata declares no license (annotation `{}`)",
                WellKnown::License.key()
            ));
        }
        if let Some(license) = &policy.license
            && !policy.license_is_spdx
        {
            warnings.push(format!(
                "the declared license `{license}` is not an SPDX license expression: the SPDX \
                 document says NOASSERTION (with the text as a comment), the CycloneDX one names it"
            ));
        }
        let source = match options.source {
            Some(dir) => Some(scan(dir, options)?),
            None => None,
        };
        let resolved = binary::resolve(module, source)?;
        warnings.extend(resolved.warnings);
        policy.properties.extend(resolved.properties);
        policy.properties.sort();
        let scanned = resolved.scanned;
        let unsupplied = scanned
            .dependencies
            .iter()
            .filter(|d| d.supplier.is_none())
            .count();
        if unsupplied > 0 {
            warnings.push(format!(
                "{unsupplied} of {} dependencies have no supplier in the inputs (npm, Go and NuGet lockfiles \
                 record none; Cargo only through cargo metadata, for crates that name authors): the SBOM \
                 says NOASSERTION",
                scanned.dependencies.len()
            ));
        }
        let toolchain = toolchain(&report);
        let mut notes = scanned.notes;
        if !toolchain.is_empty() {
            notes.push(Note::unknown(
                TOOLCHAIN_NOTE,
                Subject::Toolchain,
                &[
                    Element::Supplier,
                    Element::UniqueIdentifier,
                    Element::Hash,
                    Element::License,
                ],
            ));
        }
        notes.push(Note::unknown(
            COPYRIGHT_NOTE,
            Subject::Everything,
            &[Element::Copyright],
        ));
        Ok(Sbom {
            policy,
            toolchain,
            dependencies: scanned.dependencies,
            graph: scanned.graph,
            lockfiles: scanned.lockfiles,
            notes,
            run_id: (!options.reproducible).then(|| uuid::Uuid::new_v4().to_string()),
            warnings,
        })
    }

    /// The SBOM types it is (CISA, "Types of Software Bill of Materials Documents", 2023), each
    /// with its CycloneDX lifecycle phase: `analyzed` (`post-build`), since the built module is
    /// read, and `source` (`pre-build`) when lockfiles of its source folder were.
    pub fn types(&self) -> Vec<(&'static str, &'static str)> {
        let mut types = vec![("analyzed", "post-build")];
        if !self.lockfiles.is_empty() {
            types.push(("source", "pre-build"));
        }
        types
    }

    /// The dependencies the policy itself depends on: the graph's direct ones; every dependency
    /// when no lockfile recorded a graph.
    pub fn direct_dependencies(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies
            .iter()
            .filter(|d| self.graph.direct.is_empty() || self.graph.direct.contains(*d))
    }

    /// A sha256 over the format and everything the document says (the module's digests, the
    /// lockfiles' digests, every package; never a path), to name the document (SPDX namespace,
    /// CycloneDX serial number): the same inputs give the same name, other inputs another one.
    pub fn document_digest(&self, format: Format) -> Result<Digest> {
        let mut bytes = format.name().as_bytes().to_vec();
        bytes.push(0);
        bytes.extend(serde_json::to_vec(self)?);
        Ok(Digest::compute(Algorithm::Sha256, &bytes))
    }
}

/// The dependencies of the source folder `dir`, refused when there are none unless allowed.
fn scan(dir: &Path, options: &Options<'_>) -> Result<lockfile::Scanned> {
    let scanned = lockfile::scan(dir, options.toolchain)?;
    if options.allow_no_dependencies || !scanned.dependencies.is_empty() {
        return Ok(scanned);
    }
    let what = if scanned.lockfiles.is_empty() {
        format!(
            "no lockfile ({}) in {}",
            lockfile::LOCKFILE_NAMES,
            dir.display()
        )
    } else {
        let names: Vec<&str> = scanned.lockfiles.iter().map(|l| l.name.as_str()).collect();
        format!(
            "{} in {} pins no dependencies",
            names.join(" and "),
            dir.display()
        )
    };
    Err(SbomError::NoDependencies { what })
}

fn policy(module: &[u8], report: &ModuleReport, origin: &Origin, supplier: Option<&str>) -> Policy {
    let metadata = report.metadata.as_ref();
    let annotation = |key: WellKnown| {
        metadata
            .and_then(|m| m.well_known(key))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    let fallback_name = match origin {
        Origin::File(path) => path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "policy".to_string()),
        Origin::Registry(reference) => repository_name(reference).to_string(),
    };
    let sha256 = Digest::compute(Algorithm::Sha256, module);
    let pulled_as = match origin {
        Origin::Registry(reference) => reference
            .tag
            .clone()
            .or_else(|| reference.digest.as_ref().map(ToString::to_string)),
        Origin::File(_) => None,
    };
    let (purl, download_location) = match origin {
        Origin::Registry(reference) => registry_locations(reference),
        Origin::File(_) => (None, None),
    };
    Policy {
        name: annotation(WellKnown::Title).unwrap_or(fallback_name),
        version: annotation(WellKnown::Version)
            .or(pulled_as)
            .or_else(|| Some(sha256.to_string())),
        supplier: supplier
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| annotation(WellKnown::Author)),
        author: annotation(WellKnown::Author),
        license_is_spdx: annotation(WellKnown::License)
            .is_some_and(|license| is_spdx_expression(&license)),
        license: annotation(WellKnown::License),
        description: annotation(WellKnown::Description),
        homepage: annotation(WellKnown::Url),
        source: annotation(WellKnown::Source),
        sha256,
        sha512: Digest::compute(Algorithm::Sha512, module),
        purl,
        download_location,
        properties: metadata.map(properties).unwrap_or_default(),
    }
}

/// Whether `license` is an SPDX license expression of known identifiers (a `LicenseRef-` would
/// need its text in the document, which the inputs do not give).
pub fn is_spdx_expression(license: &str) -> bool {
    !license.contains("LicenseRef-") && spdx::Expression::parse(license).is_ok()
}

/// The last segment of the repository: the package name of an OCI purl.
fn repository_name(reference: &RegistryRef) -> &str {
    reference
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&reference.repository)
}

/// The purl and download URL of a registry reference (both need its manifest digest).
fn registry_locations(reference: &RegistryRef) -> (Option<String>, Option<String>) {
    let Some(digest) = &reference.digest else {
        return (None, None);
    };
    let repository_url = format!("{}/{}", reference.registry, reference.repository);
    let mut purl = format!(
        "pkg:oci/{}@{digest}?repository_url={}",
        lockfile::percent_encode(&repository_name(reference).to_lowercase()),
        lockfile::percent_encode(&repository_url)
            .replace("%2F", "/")
            .replace("%3A", ":")
    );
    if let Some(tag) = &reference.tag {
        purl.push_str(&format!("&tag={}", lockfile::percent_encode(tag)));
    }
    let scheme = if reference.is_loopback() {
        "http"
    } else {
        "https"
    };
    let download = format!(
        "{scheme}://{}/v2/{}/manifests/{digest}",
        reference.registry, reference.repository
    );
    (Some(purl), Some(download))
}

fn properties(metadata: &Metadata) -> Vec<(String, String)> {
    let name = |key: &str| format!("{PROPERTY_PREFIX}{key}");
    let mut properties = vec![
        (name("executionMode"), metadata.execution_mode.to_string()),
        (name("policyType"), metadata.policy_type.to_string()),
        (name("mutating"), metadata.mutating.to_string()),
        (
            name("backgroundAudit"),
            metadata.background_audit.to_string(),
        ),
    ];
    if let Some(protocol) = metadata.protocol_version {
        properties.push((name("protocolVersion"), protocol.to_string()));
    }
    for rule in &metadata.rules {
        properties.push((name("rule"), describe_rule(rule)));
    }
    for resource in &metadata.context_aware_resources {
        properties.push((name("contextAwareResource"), resource.to_string()));
    }
    if let Some(version) = &metadata.minimum_kubewarden_version {
        properties.push((name("minimumKubewardenVersion"), version.to_string()));
    }
    for key in [WellKnown::OciUrl, WellKnown::Severity, WellKnown::Category] {
        if let Some(value) = metadata.well_known(key) {
            properties.push((key.key().to_string(), value.to_string()));
        }
    }
    properties.sort();
    properties
}

/// A rule in one line: `apiGroups=""; apiVersions=v1; resources=pods; operations=CREATE,UPDATE`.
fn describe_rule(rule: &Rule) -> String {
    let list = |values: &[String]| {
        values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    "\"\"".to_string()
                } else {
                    v.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let operations: Vec<String> = rule.operations.iter().map(ToString::to_string).collect();
    format!(
        "apiGroups={}; apiVersions={}; resources={}; operations={}",
        list(&rule.api_groups),
        list(&rule.api_versions),
        list(&rule.resources),
        operations.join(",")
    )
}

fn toolchain(report: &ModuleReport) -> Vec<Tool> {
    let mut tools: Vec<Tool> = report
        .producers
        .iter()
        .flat_map(|(field, producers)| {
            producers.iter().map(move |producer| Tool {
                field: field.clone(),
                name: producer.name.clone(),
                version: Some(producer.version.trim().to_string()).filter(|v| !v.is_empty()),
            })
        })
        .collect();
    tools.sort();
    tools.dedup();
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> RegistryRef {
        text.parse()
            .unwrap_or_else(|err| panic!("not a registry reference: {err}"))
    }

    #[test]
    fn registry_purl_and_download_location() {
        let hex = "0123456789abcdef".repeat(4);
        let pinned = reference(&format!(
            "registry://ghcr.io/kubewarden/policies/safe-labels:v1.0.0@sha256:{hex}"
        ));
        let (purl, download) = registry_locations(&pinned);
        assert_eq!(
            purl.as_deref(),
            Some(
                format!(
                    "pkg:oci/safe-labels@sha256:{hex}?repository_url=ghcr.io/kubewarden/policies/safe-labels&tag=v1.0.0"
                )
                .as_str()
            )
        );
        assert_eq!(
            download.as_deref(),
            Some(
                format!(
                    "https://ghcr.io/v2/kubewarden/policies/safe-labels/manifests/sha256:{hex}"
                )
                .as_str()
            )
        );
        let unpinned = reference("registry://ghcr.io/kubewarden/policies/safe-labels:v1.0.0");
        assert_eq!(registry_locations(&unpinned), (None, None));
    }
}
