//! What changed between two tags of a policy, as a reviewer asks before moving a cluster from one to the other:
//! execution mode, policy type, mutation, background audit, protocol and minimum Kubewarden version, rules,
//! context-aware resources, host capabilities and annotations (the usage text, where settings are documented,
//! among them: Kubewarden's metadata has no settings schema). The page `/hub/diff/<repository>?from=&to=` and
//! `/hub/api/diff/<repository>?from=&to=` show it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use artifact::metadata::{Metadata, Rule};
use artifact::oci::Digest;
use serde::Serialize;

use super::index::{Repository, TaggedPolicy};
use super::module::Policy;
use super::view::page_path;
use crate::errors::{RegistryError, Result};

/// The diff page of `repository` between tags `from` and `to`.
pub fn diff_path(repository: &str, from: &str, to: &str) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    format!(
        "/hub/diff/{repository}?from={}&to={}",
        encode(from),
        encode(to)
    )
}

/// One side of a comparison: a tag and the manifest it names.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The tag.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The hub page of this tag.
    pub page: String,
}

/// How a field changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only the newer tag has it.
    Added,
    /// Only the older tag has it.
    Removed,
    /// Both have it, with different values.
    Changed,
}

/// One change: a field (and, for annotations, its key), with the values before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `executionMode`, `policyType`, `mutating`, `backgroundAudit`, `protocolVersion`,
    /// `minimumKubewardenVersion`, `rules`, `contextAwareResources`, `hostCapabilities`, `annotations` or
    /// `metadata`.
    pub field: &'static str,
    /// The annotation's key, for `annotations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The value before (`None` when added).
    pub from: Option<String>,
    /// The value after (`None` when removed).
    pub to: Option<String>,
}

/// Two tags of a repository and what changed from one to the other.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyDiff {
    /// The repository.
    pub repository: String,
    /// The older side.
    pub from: Side,
    /// The newer side.
    pub to: Side,
    /// Whether both tags name the same manifest (then nothing changed).
    pub same_manifest: bool,
    /// What changed, field by field, in the order above.
    pub changes: Vec<Change>,
}

impl PolicyDiff {
    /// The diff of `repository` from tag `from` to tag `to` (the default tag when `None`); `QUERY_INVALID` without
    /// `from`, `MANIFEST_UNKNOWN` for a tag that names no policy.
    pub fn new(
        repository: &Repository,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<PolicyDiff> {
        let from = from.filter(|tag| !tag.is_empty()).ok_or_else(|| {
            RegistryError::QueryInvalid(
                "`from` must name the tag to compare from (`?from=TAG&to=TAG`)".to_string(),
            )
        })?;
        let older = repository.shown(Some(from))?;
        let newer = repository.shown(to.filter(|tag| !tag.is_empty()))?;
        let side = |tagged: &TaggedPolicy| Side {
            tag: tagged.tag.clone(),
            digest: tagged.policy.digest.clone(),
            page: format!("{}?tag={}", page_path(&repository.name), tagged.tag),
        };
        Ok(PolicyDiff {
            repository: repository.name.clone(),
            from: side(older),
            to: side(newer),
            same_manifest: older.policy.digest == newer.policy.digest,
            changes: changes(&older.policy, &newer.policy),
        })
    }
}

/// The tag before `shown` (in the repository's tag order) that names another manifest: what "compare with the
/// previous tag" compares with. `latest` is left out, as it names one of the versions: for `latest`, the tag before
/// the version it names.
pub fn previous_tag<'a>(repository: &'a Repository, shown: &TaggedPolicy) -> Option<&'a str> {
    let versions: Vec<&TaggedPolicy> = repository
        .policies
        .iter()
        .filter(|p| p.tag != "latest")
        .collect();
    let at = versions
        .iter()
        .rposition(|p| p.policy.digest == shown.policy.digest)?;
    versions[..at]
        .iter()
        .rev()
        .find(|p| p.policy.digest != shown.policy.digest)
        .map(|p| p.tag.as_str())
}

/// What changed from `older` to `newer`.
pub fn changes(older: &Policy, newer: &Policy) -> Vec<Change> {
    let mut changes = Vec::new();
    match (&older.metadata, &newer.metadata) {
        (Some(old), Some(new)) => metadata_changes(old, new, &mut changes),
        (None, None) => {}
        (old, new) => changes.push(Change {
            field: "metadata",
            key: None,
            kind: if old.is_none() {
                ChangeKind::Added
            } else {
                ChangeKind::Removed
            },
            from: old.as_ref().map(|_| "present".to_string()),
            to: new.as_ref().map(|_| "present".to_string()),
        }),
    }
    let (old, new) = (older.all_annotations(), newer.all_annotations());
    changes.extend(map_changes("annotations", &old, &new));
    changes
}

fn metadata_changes(old: &Metadata, new: &Metadata, changes: &mut Vec<Change>) {
    let text = |value: &dyn Display| Some(value.to_string());
    let scalars: [(&'static str, Option<String>, Option<String>); 6] = [
        (
            "executionMode",
            text(&old.execution_mode),
            text(&new.execution_mode),
        ),
        ("policyType", text(&old.policy_type), text(&new.policy_type)),
        ("mutating", text(&old.mutating), text(&new.mutating)),
        (
            "backgroundAudit",
            text(&old.background_audit),
            text(&new.background_audit),
        ),
        (
            "protocolVersion",
            old.protocol_version.map(|v| v.to_string()),
            new.protocol_version.map(|v| v.to_string()),
        ),
        (
            "minimumKubewardenVersion",
            old.minimum_kubewarden_version
                .as_ref()
                .map(ToString::to_string),
            new.minimum_kubewarden_version
                .as_ref()
                .map(ToString::to_string),
        ),
    ];
    for (field, from, to) in scalars {
        if from != to {
            changes.push(Change {
                field,
                key: None,
                kind: kind_of(&from, &to),
                from,
                to,
            });
        }
    }
    let rules = |m: &Metadata| m.rules.iter().map(rule_text).collect::<BTreeSet<_>>();
    changes.extend(set_changes("rules", &rules(old), &rules(new)));
    let resources = |m: &Metadata| {
        m.context_aware_resources
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
    };
    changes.extend(set_changes(
        "contextAwareResources",
        &resources(old),
        &resources(new),
    ));
    let capabilities = |m: &Metadata| {
        m.host_capabilities
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    changes.extend(set_changes(
        "hostCapabilities",
        &capabilities(old),
        &capabilities(new),
    ));
}

fn kind_of(from: &Option<String>, to: &Option<String>) -> ChangeKind {
    match (from, to) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    }
}

/// A rule on one line, as its metadata writes it in JSON:
/// `{"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"],"operations":["CREATE"]}`.
fn rule_text(rule: &Rule) -> String {
    serde_json::to_string(rule).unwrap_or_default()
}

/// The members only one of `old` and `new` has: removed, then added.
fn set_changes(
    field: &'static str,
    old: &BTreeSet<String>,
    new: &BTreeSet<String>,
) -> impl Iterator<Item = Change> {
    let removed = old.difference(new).map(move |value| Change {
        field,
        key: None,
        kind: ChangeKind::Removed,
        from: Some(value.clone()),
        to: None,
    });
    let added = new.difference(old).map(move |value| Change {
        field,
        key: None,
        kind: ChangeKind::Added,
        from: None,
        to: Some(value.clone()),
    });
    removed.chain(added).collect::<Vec<_>>().into_iter()
}

/// The keys whose values differ between `old` and `new`, in key order.
fn map_changes(
    field: &'static str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<Change> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (from, to) = (old.get(key).cloned(), new.get(key).cloned());
            (from != to).then(|| Change {
                field,
                key: Some(key.clone()),
                kind: kind_of(&from, &to),
                from,
                to,
            })
        })
        .collect()
}
