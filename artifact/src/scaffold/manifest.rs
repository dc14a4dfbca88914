//! Kubewarden policy resources (`palisade scaffold manifest`), as `kwctl scaffold manifest` writes
//! them: a `ClusterAdmissionPolicy` or an `AdmissionPolicy` whose rules, mutation, audit and
//! context-aware resources come from the policy's metadata, named after its title.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_norway::Mapping;

use crate::error::ArtifactError;
use crate::metadata::{ContextAwareResource, Metadata, Problem, Rule, WellKnown};

/// The API group and version of Kubewarden's policy resources.
pub const API_VERSION: &str = "policies.kubewarden.io/v1";

/// The kinds of policy resource the scaffold writes (those `kwctl scaffold manifest` writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestType {
    /// A cluster-wide policy: it may read the cluster's resources (`contextAwareResources`).
    ClusterAdmissionPolicy,
    /// A policy of one namespace.
    AdmissionPolicy,
}

impl ManifestType {
    /// Every type, in the order help texts list them.
    pub const ALL: [ManifestType; 2] = [
        ManifestType::ClusterAdmissionPolicy,
        ManifestType::AdmissionPolicy,
    ];

    /// The resource's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            ManifestType::ClusterAdmissionPolicy => "ClusterAdmissionPolicy",
            ManifestType::AdmissionPolicy => "AdmissionPolicy",
        }
    }
}

impl fmt::Display for ManifestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ManifestType {
    type Err = ArtifactError;

    fn from_str(name: &str) -> Result<ManifestType, ArtifactError> {
        ManifestType::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                ArtifactError::ScaffoldInput(format!(
                    "unknown manifest type `{name}`: expected ClusterAdmissionPolicy or AdmissionPolicy"
                ))
            })
    }
}

/// What the resource is made of.
#[derive(Debug, Clone)]
pub struct ManifestRequest<'a> {
    /// The resource's kind.
    pub kind: ManifestType,
    /// Where the module is (`spec.module`): `registry://…` or `file:///…`.
    pub module: String,
    /// The policy's metadata.
    pub metadata: &'a Metadata,
    /// The policy's settings (`spec.settings`).
    pub settings: Mapping,
    /// The resource's name; default: the policy's title annotation.
    pub title: Option<String>,
    /// Copy the metadata's `contextAwareResources` into the resource (otherwise left empty, with a
    /// warning: what a policy may read is the cluster administrator's decision).
    pub allow_context_aware: bool,
}

/// A scaffolded resource and what its reader should review.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaffolded {
    /// The resource.
    pub resource: PolicyResource,
    /// Things to review before applying it.
    pub warnings: Vec<String>,
}

/// A Kubewarden policy resource, serialised with Kubernetes' field names in kwctl's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResource {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: PolicySpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct ObjectMeta {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicySpec {
    module: String,
    settings: Mapping,
    rules: Vec<Rule>,
    mutating: bool,
    /// Written only when false: the controller's default is true (kubewarden-controller#395).
    #[serde(skip_serializing_if = "is_true")]
    background_audit: bool,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    context_aware_resources: BTreeSet<ContextAwareResource>,
}

fn is_true(value: &bool) -> bool {
    *value
}

/// Parses settings given as YAML or JSON: a mapping (an empty document is no settings).
pub fn parse_settings(text: &str) -> Result<Mapping, ArtifactError> {
    if text.trim().is_empty() {
        return Ok(Mapping::new());
    }
    serde_norway::from_str(text).map_err(|err| {
        ArtifactError::ScaffoldInput(format!(
            "the settings are not a YAML or JSON mapping: {err}"
        ))
    })
}

/// Builds the resource `request` describes; refuses metadata Kubewarden would refuse and a name
/// Kubernetes would refuse.
pub fn manifest(request: ManifestRequest<'_>) -> Result<Scaffolded, ArtifactError> {
    request.metadata.validate().map_err(|problems| {
        ArtifactError::ScaffoldInput(format!(
            "the policy's metadata is not valid: {}",
            Problem::join(&problems)
        ))
    })?;
    let name = request.title.or_else(|| {
        request
            .metadata
            .well_known(WellKnown::Title)
            .map(str::to_owned)
    });
    if let Some(name) = &name {
        check_name(name)?;
    }
    let mut warnings = Vec::new();
    let wanted = &request.metadata.context_aware_resources;
    let context_aware_resources = match request.kind {
        ManifestType::AdmissionPolicy => BTreeSet::new(),
        ManifestType::ClusterAdmissionPolicy if wanted.is_empty() => BTreeSet::new(),
        ManifestType::ClusterAdmissionPolicy if request.allow_context_aware => {
            warnings.push(format!(
                "the policy may read the Kubernetes resources its metadata asks for ({}): review contextAwareResources for abuses",
                list(wanted)
            ));
            wanted.clone()
        }
        ManifestType::ClusterAdmissionPolicy => {
            warnings.push(format!(
                "the policy reads Kubernetes resources ({}) while it evaluates: contextAwareResources is left empty; \
                 review what it needs and fill it in, or scaffold again with --allow-context-aware",
                list(wanted)
            ));
            BTreeSet::new()
        }
    };
    let annotations = [WellKnown::Severity, WellKnown::Category]
        .into_iter()
        .filter_map(|key| {
            request
                .metadata
                .well_known(key)
                .map(|value| (key.key().to_owned(), value.to_owned()))
        })
        .collect();
    Ok(Scaffolded {
        resource: PolicyResource {
            api_version: API_VERSION,
            kind: request.kind.name(),
            metadata: ObjectMeta { annotations, name },
            spec: PolicySpec {
                module: request.module,
                settings: request.settings,
                rules: request.metadata.rules.clone(),
                mutating: request.metadata.mutating,
                background_audit: request.metadata.background_audit,
                context_aware_resources,
            },
        },
        warnings,
    })
}

fn list(resources: &BTreeSet<ContextAwareResource>) -> String {
    resources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `name` can name a Kubernetes object: an RFC 1123 subdomain (lowercase letters, digits,
/// `-` and `.`, labels starting and ending with a letter or digit, 253 characters at most).
pub fn is_object_name(name: &str) -> bool {
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    name.len() <= 253 && name.split('.').all(valid_label)
}

fn check_name(name: &str) -> Result<(), ArtifactError> {
    if is_object_name(name) {
        Ok(())
    } else {
        Err(ArtifactError::ScaffoldInput(format!(
            "invalid title `{name}`: a Kubernetes name (RFC 1123) has lowercase letters, digits, `-` and `.`, \
             and starts and ends with a letter or digit (give another with --title)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaffold::tests::metadata;

    const POLICY: &str = "rules:\n- {apiGroups: [''], apiVersions: [v1], resources: [pods], operations: [CREATE]}\n\
        mutating: true\nbackgroundAudit: false\nprotocolVersion: v1\n\
        contextAwareResources: [{apiVersion: v1, kind: Namespace}]\n\
        annotations: {io.kubewarden.policy.title: pod-guard, io.kubewarden.policy.severity: low, io.kubewarden.policy.category: Testing, io.kubewarden.policy.author: someone}\n";

    fn request(metadata: &Metadata) -> ManifestRequest<'_> {
        ManifestRequest {
            kind: ManifestType::ClusterAdmissionPolicy,
            module: "registry://ghcr.io/org/pod-guard:v1".into(),
            metadata,
            settings: parse_settings("{b: 1, a: [x]}").unwrap_or_default(),
            title: None,
            allow_context_aware: false,
        }
    }

    #[test]
    fn a_cluster_policy_in_kwctls_field_order() -> Result<(), ArtifactError> {
        let metadata = metadata(POLICY);
        let scaffolded = manifest(request(&metadata))?;
        let yaml = serde_norway::to_string(&scaffolded.resource).unwrap_or_default();
        assert_eq!(
            yaml,
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata:\n  annotations:\n    \
             io.kubewarden.policy.category: Testing\n    io.kubewarden.policy.severity: low\n  name: pod-guard\nspec:\n  \
             module: registry://ghcr.io/org/pod-guard:v1\n  settings:\n    b: 1\n    a:\n    - x\n  rules:\n  - apiGroups:\n    \
             - ''\n    apiVersions:\n    - v1\n    resources:\n    - pods\n    operations:\n    - CREATE\n  mutating: true\n  \
             backgroundAudit: false\n"
        );
        assert_eq!(scaffolded.warnings.len(), 1);
        assert!(scaffolded.warnings[0].contains("v1/Namespace"));
        Ok(())
    }

    #[test]
    fn context_aware_resources_only_when_allowed_and_cluster_wide() -> Result<(), ArtifactError> {
        let metadata = metadata(POLICY);
        let allowed = manifest(ManifestRequest {
            allow_context_aware: true,
            ..request(&metadata)
        })?;
        let yaml = serde_norway::to_string(&allowed.resource).unwrap_or_default();
        assert!(
            yaml.ends_with("contextAwareResources:\n  - apiVersion: v1\n    kind: Namespace\n"),
            "{yaml}"
        );
        let namespaced = manifest(ManifestRequest {
            kind: ManifestType::AdmissionPolicy,
            allow_context_aware: true,
            title: Some("other.name".into()),
            ..request(&metadata)
        })?;
        let yaml = serde_norway::to_string(&namespaced.resource).unwrap_or_default();
        assert!(!yaml.contains("contextAwareResources") && yaml.contains("kind: AdmissionPolicy"));
        assert!(yaml.contains("name: other.name") && namespaced.warnings.is_empty());
        Ok(())
    }

    #[test]
    fn background_audit_is_written_only_when_false() -> Result<(), ArtifactError> {
        let metadata = metadata(&POLICY.replace("backgroundAudit: false", "backgroundAudit: true"));
        let yaml =
            serde_norway::to_string(&manifest(request(&metadata))?.resource).unwrap_or_default();
        assert!(!yaml.contains("backgroundAudit"), "{yaml}");
        Ok(())
    }

    #[test]
    fn bad_names_types_settings_and_metadata_are_refused() {
        let metadata = metadata(POLICY);
        for title in ["My_policy", "-x", "a..b", "UPPER"] {
            let refused = manifest(ManifestRequest {
                title: Some(title.into()),
                ..request(&metadata)
            });
            assert!(
                refused.is_err_and(|err| err.to_string().contains("invalid title")),
                "{title}"
            );
        }
        assert!(
            "Policy"
                .parse::<ManifestType>()
                .is_err_and(|err| err.to_string().contains("unknown manifest type `Policy`"))
        );
        assert!(
            parse_settings("[1, 2]")
                .is_err_and(|err| err.to_string().contains("not a YAML or JSON mapping"))
        );
        assert_eq!(parse_settings("  ").map(|m| m.len()).ok(), Some(0));
        let wapc_without_version = self::metadata(&POLICY.replace("protocolVersion: v1\n", ""));
        assert!(
            manifest(request(&wapc_without_version))
                .is_err_and(|err| err.to_string().contains("protocolVersion"))
        );
    }
}
