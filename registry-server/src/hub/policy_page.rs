//! Everything a policy's page and `/hub/api/policies/<repository>` show: its [`Detail`], and what a policy author
//! and a cluster operator need beside it: the usage text rendered, how to install and run it pinned by digest, its
//! Artifact Hub package, the tag to compare it with, and the packages its SBOMs list.

use serde::Serialize;

use super::diff::{diff_path, previous_tag};
use super::index::{Repository, TaggedPolicy};
use super::install::{Install, artifacthub_path, artifacthub_pkg};
use super::markdown;
use super::sbom_packages::{SbomPackages, packages};
use super::view::Detail;
use crate::errors::Result;
use crate::names::RepoName;
use crate::storage::Storage;

/// Where to download the tag's `artifacthub-pkg.yml`, or why there is none.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactHubPackage {
    /// The download, when the metadata has what Artifact Hub needs.
    pub url: Option<String>,
    /// What the metadata lacks, when it does.
    pub problem: Option<String>,
}

/// The policy page's content.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPage {
    /// What the policy says about itself, its tags and attachments.
    #[serde(flatten)]
    pub detail: Detail,
    /// The usage text as sanitised HTML.
    pub usage_html: Option<String>,
    /// The `ClusterAdmissionPolicy` and the `palisade run` command, pinned by digest.
    pub install: Install,
    /// Its `artifacthub-pkg.yml`.
    pub artifacthub_package: ArtifactHubPackage,
    /// The page comparing it with the previous tag that names another manifest, if there is one.
    pub compare_with_previous: Option<String>,
    /// The packages each attached SBOM lists.
    pub sbom_packages: Vec<SbomPackages>,
}

impl PolicyPage {
    /// The page of `shown`, one of the policies of `repository`, on the registry clients reach as `host`.
    pub async fn new<S: Storage>(
        storage: &S,
        repository: &Repository,
        shown: &TaggedPolicy,
        host: &str,
    ) -> Result<PolicyPage> {
        let detail = Detail::new(repository, shown, host);
        let name = RepoName::parse(&repository.name)?;
        let artifacthub_package = match artifacthub_pkg(&shown.policy) {
            Ok(_) => ArtifactHubPackage {
                url: Some(artifacthub_path(&repository.name, &shown.tag)),
                problem: None,
            },
            Err(problem) => ArtifactHubPackage {
                url: None,
                problem: Some(problem),
            },
        };
        Ok(PolicyPage {
            usage_html: detail.usage.as_deref().map(markdown::render),
            install: Install::new(host, &repository.name, &shown.policy),
            artifacthub_package,
            compare_with_previous: previous_tag(repository, shown)
                .map(|previous| diff_path(&repository.name, previous, &shown.tag)),
            sbom_packages: packages(storage, &name, &shown.sboms).await?,
            detail,
        })
    }
}
