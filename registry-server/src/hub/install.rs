//! What a cluster operator copies from a policy's page: a Kubewarden `ClusterAdmissionPolicy` whose module is
//! pinned by digest (`registry://HOST/REPOSITORY@sha256:…`), the `palisade run` command that tries that same
//! module, and Artifact Hub's `artifacthub-pkg.yml` for the tag. The documents are `palisade scaffold manifest`'s
//! and `palisade scaffold artifacthub`'s, made by the same code (`artifact::scaffold`).

use artifact::metadata::WellKnown;
use artifact::oci::policy::CREATED_ANNOTATION;
use artifact::scaffold::artifacthub::{artifacthub_document, artifacthub_package};
use artifact::scaffold::manifest::{ManifestRequest, ManifestType, is_object_name, manifest};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::module::Policy;

/// The Artifact Hub package download of `repository`'s `tag`.
pub fn artifacthub_path(repository: &str, tag: &str) -> String {
    let tag: String = url::form_urlencoded::byte_serialize(tag.as_bytes()).collect();
    format!("/hub/artifacthub-pkg/{repository}?tag={tag}")
}

/// How to run a policy: its resource and its command.
#[derive(Debug, Clone, Serialize)]
pub struct Install {
    /// `registry://HOST/REPOSITORY@DIGEST`: the module, pinned.
    pub module: String,
    /// A `ClusterAdmissionPolicy` (YAML) running it, as `palisade scaffold manifest` writes it; `None` when the
    /// metadata cannot make one (see `notes`).
    pub cluster_admission_policy: Option<String>,
    /// What to review before applying it, or why there is none.
    pub notes: Vec<String>,
    /// The command that evaluates a request with it, verified.
    pub run: String,
}

impl Install {
    /// How to run `policy`, pushed to `repository` of the registry clients reach as `host`.
    pub fn new(host: &str, repository: &str, policy: &Policy) -> Install {
        let module = format!("registry://{host}/{repository}@{}", policy.digest);
        let run = format!(
            "palisade run {module} --request-path request.json --verification-config verification-config.yml"
        );
        let mut notes = Vec::new();
        let cluster_admission_policy = match &policy.metadata {
            None => {
                notes.push(format!(
                    "No ClusterAdmissionPolicy: {}",
                    policy
                        .problem
                        .as_deref()
                        .unwrap_or("the module has no metadata")
                ));
                None
            }
            Some(metadata) => {
                let title = metadata.well_known(WellKnown::Title);
                let name = match title {
                    Some(title) if is_object_name(title) => None,
                    _ => {
                        let name = object_name(repository);
                        notes.push(match title {
                            Some(title) => format!(
                                "named {name} after the repository: the title {title:?} is not a Kubernetes name"
                            ),
                            None => format!("named {name} after the repository: the policy has no title"),
                        });
                        Some(name)
                    }
                };
                let scaffolded = manifest(ManifestRequest {
                    kind: ManifestType::ClusterAdmissionPolicy,
                    module: module.clone(),
                    metadata,
                    settings: Default::default(),
                    title: name,
                    allow_context_aware: false,
                })
                .and_then(|scaffolded| {
                    let yaml = serde_norway::to_string(&scaffolded.resource).map_err(|e| {
                        artifact::ArtifactError::ScaffoldInput(format!(
                            "writing the resource as YAML: {e}"
                        ))
                    })?;
                    Ok((yaml, scaffolded.warnings))
                });
                match scaffolded {
                    Ok((yaml, warnings)) => {
                        notes.extend(warnings);
                        Some(yaml)
                    }
                    Err(e) => {
                        notes.push(format!("No ClusterAdmissionPolicy: {e}"));
                        None
                    }
                }
            }
        };
        Install {
            module,
            cluster_admission_policy,
            notes,
            run,
        }
    }
}

/// A Kubernetes name made from the last part of a repository name (`team/pod_guard` → `pod-guard`): its
/// characters are lowercase letters, digits, `.`, `_` and `-`, each separator between two letters or digits.
fn object_name(repository: &str) -> String {
    let last = repository.rsplit('/').next().unwrap_or(repository);
    let name = last.replace('_', "-");
    if is_object_name(&name) {
        name
    } else {
        "policy".to_string()
    }
}

/// `artifacthub-pkg.yml` of `policy`, as `palisade scaffold artifacthub` writes it from the same metadata;
/// `createdAt` is the manifest's `org.opencontainers.image.created` when it is an RFC 3339 time, else now.
/// The error says what the metadata lacks.
pub fn artifacthub_pkg(policy: &Policy) -> Result<String, String> {
    let metadata = policy.metadata.as_ref().ok_or_else(|| {
        format!(
            "no Artifact Hub package: {}",
            policy
                .problem
                .as_deref()
                .unwrap_or("the module has no metadata")
        )
    })?;
    let created = policy
        .annotations
        .get(CREATED_ANNOTATION)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    artifacthub_package(metadata, created, None)
        .and_then(|package| artifacthub_document(&package))
        .map_err(|e| format!("no Artifact Hub package: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_repository_when_the_title_cannot_name_an_object() {
        assert_eq!(object_name("team/pod_guard"), "pod-guard");
        assert_eq!(object_name("a.b"), "a.b");
        assert_eq!(object_name("team/x__y"), "x--y");
    }
}
