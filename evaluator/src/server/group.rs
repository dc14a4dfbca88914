//! A policy group of `policies.yml` (Kubewarden's AdmissionPolicyGroup and
//! ClusterAdmissionPolicyGroup as policy-server reads them): member policies, an expression over
//! their verdicts, and the message of a rejection.
//!
//! ```yaml
//! strict:
//!   policyMode: protect            # or monitor; default protect
//!   expression: "labels() && (signed() || !privileged())"
//!   message: the request breaks the cluster's rules
//!   policies:
//!     labels:
//!       module: registry://ghcr.io/kubewarden/policies/safe-labels:v1.0.0
//!       settings: {}               # default {}
//!       timeoutEvalSeconds: 2      # default: the server's --timeout
//!       contextAwareResources: []  # kinds the member may read
//!       hostCapabilities: ["oci/*"] # host capabilities the member may call
//!     signed: …
//! ```
//!
//! Members cannot mutate and have no mode of their own. Every problem names the group.

use std::collections::BTreeMap;

use artifact::metadata::ContextAwareResource;
use serde::Deserialize;
use serde_json::Value;

use super::expression::Expression;
use super::policy_entry::{NamespacedName, PolicyConfig, PolicyMode};
use crate::error::EvaluatorError;

/// One group of `policies.yml`, its expression parsed and checked against its members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// Protect (default) or monitor, for the group's verdict.
    pub policy_mode: PolicyMode,
    /// The members by name (the name the expression calls), each a policy that may not mutate.
    pub members: BTreeMap<String, PolicyConfig>,
    /// The expression over the members' verdicts.
    pub expression: Expression,
    /// The message of the group's rejection.
    pub message: String,
}

/// A group as written in the file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupEntry {
    #[serde(default)]
    policy_mode: PolicyMode,
    policies: BTreeMap<String, MemberEntry>,
    expression: String,
    message: String,
    /// The cluster resource, as Kubewarden's controller writes it (not used by the evaluation).
    #[serde(default)]
    namespaced_name: Option<NamespacedName>,
}

/// A member as written in the file: a policy without a mode or the right to mutate.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MemberEntry {
    module: String,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    timeout_eval_seconds: Option<u64>,
    #[serde(default)]
    context_aware_resources: Vec<ContextAwareResource>,
    #[serde(default)]
    host_capabilities: Vec<String>,
}

impl GroupConfig {
    /// Whether an entry of `policies.yml` is a group rather than a policy.
    pub fn is_group(entry: &Value) -> bool {
        entry.get("policies").is_some() || entry.get("expression").is_some()
    }

    /// Reads the group `id` from its entry in `policies.yml`.
    pub fn from_entry(id: &str, entry: Value) -> Result<GroupConfig, EvaluatorError> {
        let problem = |what: String| EvaluatorError::Config(format!("policy group {id}: {what}"));
        let entry: GroupEntry =
            serde_json::from_value(entry).map_err(|err| problem(err.to_string()))?;
        if entry.policies.is_empty() {
            return Err(problem(
                "it has no member policies (`policies` is empty)".into(),
            ));
        }
        if let Some(name) = entry
            .policies
            .keys()
            .find(|name| name.is_empty() || name.contains('/'))
        {
            return Err(problem(format!(
                "member name {name:?} must be non-empty and contain no `/`"
            )));
        }
        let expression = Expression::parse(&entry.expression).map_err(|err| match err {
            EvaluatorError::Config(syntax) => {
                problem(format!("expression {:?}: {syntax}", entry.expression))
            }
            other => other,
        })?;
        if let Some(unknown) = expression
            .members()
            .into_iter()
            .find(|name| !entry.policies.contains_key(*name))
        {
            let known = entry.policies.keys().cloned().collect::<Vec<_>>();
            return Err(problem(format!(
                "the expression calls {unknown}(), which is not a member (members: {})",
                known.join(", ")
            )));
        }
        let members = entry
            .policies
            .into_iter()
            .map(|(name, member)| {
                let policy = PolicyConfig {
                    module: member.module,
                    policy_mode: PolicyMode::Protect,
                    allowed_to_mutate: Some(false),
                    settings: member.settings,
                    timeout_eval_seconds: member.timeout_eval_seconds,
                    context_aware_resources: member.context_aware_resources,
                    message: None,
                    host_capabilities: member.host_capabilities,
                    namespaced_name: entry.namespaced_name.clone(),
                };
                (name, policy)
            })
            .collect();
        Ok(GroupConfig {
            policy_mode: entry.policy_mode,
            members,
            expression,
            message: entry.message,
        })
    }
}

/// The kinds of Kubewarden's group resources, in the API group `policies.kubewarden.io/v1`.
const GROUP_KINDS: [&str; 2] = ["AdmissionPolicyGroup", "ClusterAdmissionPolicyGroup"];

impl GroupConfig {
    /// Reads a Kubewarden group resource (an `AdmissionPolicyGroup` or `ClusterAdmissionPolicyGroup`
    /// of `policies.kubewarden.io/v1`, as `kubectl apply` takes it and kwctl runs it): its name and
    /// the group of its `spec` (`policies`, `expression`, `message`, `mode`). The fields that
    /// configure the webhook (rules, selectors, failure policy…) do not change an evaluation and are
    /// not read.
    pub fn from_resource(text: &str) -> Result<(String, GroupConfig), EvaluatorError> {
        let resource: Value = serde_norway::from_str(text)
            .map_err(|err| EvaluatorError::Config(format!("policy group resource: {err}")))?;
        let field = |name: &str| resource.get(name).and_then(Value::as_str);
        if field("apiVersion") != Some("policies.kubewarden.io/v1")
            || !field("kind").is_some_and(|kind| GROUP_KINDS.contains(&kind))
        {
            return Err(EvaluatorError::Config(format!(
                "expected a policies.kubewarden.io/v1 {} or {}, found apiVersion {:?}, kind {:?}",
                GROUP_KINDS[0],
                GROUP_KINDS[1],
                field("apiVersion").unwrap_or_default(),
                field("kind").unwrap_or_default()
            )));
        }
        let name = resource
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| {
                EvaluatorError::Config(
                    "policy group resource: metadata.name must be set, with no `/`".into(),
                )
            })?
            .to_string();
        let spec = resource.get("spec").cloned().unwrap_or(Value::Null);
        let mut entry = serde_json::Map::new();
        for (from, to) in [
            ("policies", "policies"),
            ("expression", "expression"),
            ("message", "message"),
            ("mode", "policyMode"),
        ] {
            if let Some(value) = spec.get(from) {
                entry.insert(to.into(), value.clone());
            }
        }
        let group = GroupConfig::from_entry(&name, Value::Object(entry))?;
        Ok((name, group))
    }
}

/// The id a group's member is loaded, logged and named under: `GROUP/MEMBER`, as Kubewarden names it.
pub fn member_id(group: &str, member: &str) -> String {
    format!("{group}/{member}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GroupConfig, EvaluatorError> {
        let entry: Value =
            serde_norway::from_str(text).map_err(|err| EvaluatorError::Config(err.to_string()))?;
        GroupConfig::from_entry("g", entry)
    }

    #[test]
    fn reads_kubewardens_format() -> Result<(), EvaluatorError> {
        let group = parse(
            r#"
policyMode: monitor
expression: "a() && (b() || !a())"
message: not allowed
policies:
  a:
    module: file:///a.wasm
    settings: {x: 1}
    timeoutEvalSeconds: 3
    contextAwareResources:
    - apiVersion: v1
      kind: Namespace
  b:
    module: file:///b.wasm
"#,
        )?;
        assert_eq!(group.policy_mode, PolicyMode::Monitor);
        assert_eq!(group.message, "not allowed");
        assert_eq!(group.members["a"].settings()["x"], 1);
        assert_eq!(group.members["a"].timeout_eval_seconds, Some(3));
        assert_eq!(group.members["a"].context_aware_resources.len(), 1);
        assert_eq!(group.members["b"].allowed_to_mutate, Some(false));
        assert_eq!(group.members["b"].settings(), serde_json::json!({}));
        assert_eq!(
            group.expression.members().into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(member_id("g", "a"), "g/a");
        Ok(())
    }

    #[test]
    fn reads_kubewardens_group_resources() -> Result<(), EvaluatorError> {
        for kind in GROUP_KINDS {
            let (name, group) = GroupConfig::from_resource(&format!(
                r#"
apiVersion: policies.kubewarden.io/v1
kind: {kind}
metadata:
  name: strict
spec:
  mode: monitor
  rules:
  - apiGroups: [""]
    apiVersions: [v1]
    resources: [pods]
    operations: [CREATE]
  expression: "a() || !a()"
  message: no
  policies:
    a:
      module: registry://ghcr.io/kubewarden/policies/a:v1
      settings: {{x: 1}}
"#
            ))?;
            assert_eq!(name, "strict");
            assert_eq!(group.policy_mode, PolicyMode::Monitor);
            assert_eq!(group.members["a"].settings()["x"], 1);
        }
        for (text, expected) in [
            (
                "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\n",
                "found apiVersion \"policies.kubewarden.io/v1\", kind \"ClusterAdmissionPolicy\"",
            ),
            (
                "apiVersion: v1\nkind: AdmissionPolicyGroup\n",
                "found apiVersion \"v1\"",
            ),
            (
                "apiVersion: policies.kubewarden.io/v1\nkind: AdmissionPolicyGroup\nspec: {}\n",
                "metadata.name must be set",
            ),
            (
                "apiVersion: policies.kubewarden.io/v1\nkind: AdmissionPolicyGroup\nmetadata: {name: g}\nspec: {}\n",
                "policy group g: missing field `policies`",
            ),
            ("[", "policy group resource:"),
        ] {
            match GroupConfig::from_resource(text) {
                Err(EvaluatorError::Config(message)) => {
                    assert!(message.contains(expected), "{text}: {message}")
                }
                other => panic!("{text}: expected a config error, got {other:?}"),
            }
        }
        Ok(())
    }

    #[test]
    fn names_the_group_and_the_problem() {
        let member = "policies:\n  a:\n    module: x\n";
        for (text, expected) in [
            (
                "expression: a()\nmessage: m\npolicies: {}\n".to_string(),
                "policy group g: it has no member policies",
            ),
            (
                format!("expression: a() && b()\nmessage: m\n{member}"),
                "policy group g: the expression calls b(), which is not a member (members: a)",
            ),
            (
                format!("expression: a() &&\nmessage: m\n{member}"),
                "policy group g: expression \"a() &&\": column 7: expected a member call",
            ),
            (
                format!("expression: a()\n{member}"),
                "policy group g: missing field `message`",
            ),
            (
                format!("message: m\n{member}"),
                "policy group g: missing field `expression`",
            ),
            (
                "expression: a()\nmessage: m\npolicies:\n  a/b:\n    module: x\n".into(),
                "policy group g: member name \"a/b\" must be non-empty and contain no `/`",
            ),
            (
                "expression: a()\nmessage: m\npolicies:\n  a:\n    module: x\n    allowedToMutate: true\n"
                    .into(),
                "policy group g: unknown field `allowedToMutate`",
            ),
            (
                format!("expression: a()\nmessage: m\npolicyMode: audit\n{member}"),
                "policy group g: unknown variant `audit`",
            ),
            (
                "expression: a()\nmessage: m\npolicies:\n  a:\n    settings: {}\n".into(),
                "policy group g: missing field `module`",
            ),
        ] {
            match parse(&text) {
                Err(EvaluatorError::Config(message)) => {
                    assert!(message.contains(expected), "{text}: {message}")
                }
                other => panic!("{text}: expected a config error, got {other:?}"),
            }
        }
    }
}
