//! What the hub shows about a policy, shared by the HTML pages and the JSON API (whose shapes are these structs).
//!
//! Each field comes from the module's metadata first, then from the manifest's annotations (the same
//! `io.kubewarden.policy.*` keys, then the `org.opencontainers.image.*` ones other tools write).

use std::collections::BTreeMap;

use artifact::metadata::{Rule, WellKnown};
use artifact::oci::Digest;
use serde::Serialize;

use super::index::{Attachment, Repository, TaggedPolicy};
use crate::trust::Verdict;

/// The hub page of a repository.
pub fn page_path(repository: &str) -> String {
    format!("/hub/policies/{repository}")
}

/// One policy in a listing: the repository with its default tag.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The repository.
    pub repository: String,
    /// The tag described (`latest`, else the newest in version order).
    pub tag: String,
    /// How many tags of the repository name policies.
    pub tags: usize,
    /// The manifest digest the tag names.
    pub digest: Digest,
    /// The title.
    pub title: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// `kubewarden-wapc`, `opa`, `gatekeeper` or `wasi`; `None` without metadata.
    pub execution_mode: Option<String>,
    /// Whether it may change the objects it sees; `None` without metadata.
    pub mutating: Option<bool>,
    /// The resources its rules match.
    pub resources: Vec<String>,
    /// Whether a signature (cosign or Sigstore bundle) is attached.
    pub signed: bool,
    /// Whether an SBOM is attached.
    pub sbom: bool,
    /// Whether its signatures satisfy the trust rule of its prefix; `null` outside every trust prefix.
    pub verified: Option<bool>,
    /// The hub page.
    pub page: String,
}

impl Summary {
    /// The summary of `repository`, described by `shown` (one of its policies).
    pub fn new(repository: &Repository, shown: &TaggedPolicy) -> Summary {
        let policy = &shown.policy;
        let metadata = policy.metadata.as_ref();
        Summary {
            repository: repository.name.clone(),
            tag: shown.tag.clone(),
            tags: repository.policies.len(),
            digest: policy.digest.clone(),
            title: policy.field(WellKnown::Title).map(str::to_string),
            description: policy.field(WellKnown::Description).map(str::to_string),
            execution_mode: metadata.map(|m| m.execution_mode.to_string()),
            mutating: metadata.map(|m| m.mutating),
            resources: policy.resources(),
            signed: !shown.signatures.is_empty(),
            sbom: !shown.sboms.is_empty(),
            verified: shown.trust.as_ref().map(|verdict| verdict.verified),
            page: page_path(&repository.name),
        }
    }
}

/// A tag of the repository and the manifest it names.
#[derive(Debug, Clone, Serialize)]
pub struct TagLink {
    /// The tag.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The hub page of this tag.
    pub page: String,
}

/// A signature or SBOM, with where to download it through the registry API.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentLink {
    /// What it is and where it lives.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// A `/v2/` URL of the document (a blob) or, for cosign tags, of its manifest.
    pub url: String,
}

impl AttachmentLink {
    fn new(repository: &str, attachment: &Attachment) -> AttachmentLink {
        let url = match (&attachment.document, &attachment.tag) {
            (Some(document), _) => format!("/v2/{repository}/blobs/{document}"),
            (None, Some(tag)) => format!("/v2/{repository}/manifests/{tag}"),
            (None, None) => format!("/v2/{repository}/manifests/{}", attachment.manifest),
        };
        AttachmentLink {
            attachment: attachment.clone(),
            url,
        }
    }
}

/// Everything about one tagged policy: the policy page and `/hub/api/policies/<repository>`.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    /// The repository.
    pub repository: String,
    /// The tag described.
    pub tag: String,
    /// `HOST/repository:tag`, as clients name it.
    pub reference: String,
    /// The command that pulls it.
    pub pull: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// The module layer's digest.
    pub module_digest: Digest,
    /// The module's size in bytes.
    pub module_size: u64,
    /// The title.
    pub title: Option<String>,
    /// The policy's own version.
    pub version: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The author.
    pub author: Option<String>,
    /// The SPDX license expression.
    pub license: Option<String>,
    /// Where the source code is.
    pub source: Option<String>,
    /// The home page.
    pub url: Option<String>,
    /// The category.
    pub category: Option<String>,
    /// The severity.
    pub severity: Option<String>,
    /// How the module runs; `None` without metadata.
    pub execution_mode: Option<String>,
    /// Whether it may change the objects it sees; `None` without metadata.
    pub mutating: Option<bool>,
    /// Whether the audit scanner may evaluate it; `None` without metadata.
    pub background_audit: Option<bool>,
    /// `kubernetes` or `raw`; `None` without metadata.
    pub policy_type: Option<String>,
    /// The requests it wants to see.
    pub rules: Vec<Rule>,
    /// The cluster resources it reads (`v1/Namespace`).
    pub context_aware_resources: Vec<String>,
    /// The usage text (Markdown, shown as text).
    pub usage: Option<String>,
    /// All annotations: the manifest's, overridden by the metadata's.
    pub annotations: BTreeMap<String, String>,
    /// Why the metadata is missing, if it is.
    pub metadata_problem: Option<String>,
    /// Every tag of the repository that names a policy.
    pub tags: Vec<TagLink>,
    /// Its signatures.
    pub signatures: Vec<AttachmentLink>,
    /// Its SBOMs.
    pub sboms: Vec<AttachmentLink>,
    /// Its signatures checked against the trust rule of its prefix, with who vouched for it; `null` outside every
    /// trust prefix.
    pub trust: Option<Verdict>,
}

impl Detail {
    /// The detail of `shown`, one of the policies of `repository`, on the registry clients reach as `host`.
    pub fn new(repository: &Repository, shown: &TaggedPolicy, host: &str) -> Detail {
        let policy = &shown.policy;
        let metadata = policy.metadata.as_ref();
        let reference = format!("{host}/{}:{}", repository.name, shown.tag);
        let text = |key| policy.field(key).map(str::to_string);
        let link = |a: &Attachment| AttachmentLink::new(&repository.name, a);
        Detail {
            repository: repository.name.clone(),
            tag: shown.tag.clone(),
            pull: format!("palisade pull {reference}"),
            reference,
            digest: policy.digest.clone(),
            manifest_size: policy.manifest_size,
            module_digest: policy.module_digest.clone(),
            module_size: policy.module_size,
            title: text(WellKnown::Title),
            version: text(WellKnown::Version),
            description: text(WellKnown::Description),
            author: text(WellKnown::Author),
            license: text(WellKnown::License),
            source: text(WellKnown::Source),
            url: text(WellKnown::Url),
            category: text(WellKnown::Category),
            severity: text(WellKnown::Severity),
            execution_mode: metadata.map(|m| m.execution_mode.to_string()),
            mutating: metadata.map(|m| m.mutating),
            background_audit: metadata.map(|m| m.background_audit),
            policy_type: metadata.map(|m| m.policy_type.to_string()),
            rules: metadata.map(|m| m.rules.clone()).unwrap_or_default(),
            context_aware_resources: metadata
                .iter()
                .flat_map(|m| &m.context_aware_resources)
                .map(ToString::to_string)
                .collect(),
            usage: text(WellKnown::Usage),
            annotations: policy.all_annotations(),
            metadata_problem: policy.problem.clone(),
            tags: repository
                .policies
                .iter()
                .map(|p| TagLink {
                    tag: p.tag.clone(),
                    digest: p.policy.digest.clone(),
                    page: format!("{}?tag={}", page_path(&repository.name), p.tag),
                })
                .collect(),
            signatures: shown.signatures.iter().map(link).collect(),
            sboms: shown.sboms.iter().map(link).collect(),
            trust: shown.trust.clone(),
        }
    }
}
