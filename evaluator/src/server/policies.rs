//! `policies.yml`, in Kubewarden policy-server's format: a map from policy id (the `{id}` of
//! `/validate/{id}`) to the policy.
//!
//! ```yaml
//! pod-privileged:
//!   module: registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2   # or file:///path/policy.wasm
//!   allowedToMutate: false       # default false
//!   policyMode: protect          # or monitor (evaluate, log, always accept); default protect
//!   timeoutEvalSeconds: 2        # default: the server's --timeout
//!   settings: {}                 # default {}
//!   message: not allowed here    # replaces the policy's rejection message, kept as a cause
//!   hostCapabilities: ["oci/*"]  # host capabilities it may call, besides --allow-capability
//! ```
//!
//! Unknown fields are rejected; `namespacedName`, which Kubewarden's controller writes, is read and
//! logged. `contextAwareResources` grants the policy the `kubernetes/*` host
//! capabilities for those kinds, answered from the server's `--context-resources` file.
//! An entry with `policies` and `expression` is a policy group (see [`super::group`]).

use std::collections::BTreeMap;

use artifact::oci::Digest;
use serde_json::Value;

use super::group::{GroupConfig, member_id};
pub use super::policy_entry::{PolicyConfig, PolicyMode};
use crate::error::EvaluatorError;

/// The whole file: policy id → policy, and group id → group, in id order (one namespace).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoliciesFile {
    /// The policies.
    pub policies: BTreeMap<String, PolicyConfig>,
    /// The policy groups.
    pub groups: BTreeMap<String, GroupConfig>,
    /// The sha256 of the text it was read from (none when it was made otherwise): which `policies.yml` a
    /// generation serves, in `/policies`.
    pub digest: Option<Digest>,
}

impl PoliciesFile {
    /// Parses `policies.yml`; every problem names the policy id.
    pub fn from_yaml(text: &str) -> Result<PoliciesFile, EvaluatorError> {
        let raw: BTreeMap<String, Value> = serde_norway::from_str(text)
            .map_err(|err| EvaluatorError::Config(format!("policies file: {err}")))?;
        let mut policies = BTreeMap::new();
        let mut groups = BTreeMap::new();
        for (id, value) in raw {
            if id.is_empty() || id.contains('/') {
                return Err(EvaluatorError::Config(format!(
                    "policy id {id:?} must be non-empty and contain no `/` (it is a URL path segment)"
                )));
            }
            if GroupConfig::is_group(&value) {
                let group = GroupConfig::from_entry(&id, value)?;
                groups.insert(id, group);
                continue;
            }
            let policy: PolicyConfig = serde_json::from_value(value)
                .map_err(|err| EvaluatorError::Config(format!("policy {id}: {err}")))?;
            policies.insert(id, policy);
        }
        let file = PoliciesFile {
            policies,
            groups,
            digest: Some(Digest::sha256_of(text.as_bytes())),
        };
        for (id, policy) in file.policies_to_load() {
            policy
                .check_host_capabilities()
                .map_err(|reason| EvaluatorError::Config(format!("policy {id}: {reason}")))?;
        }
        Ok(file)
    }

    /// Every policy to load: the policies by id, then each group's members as `GROUP/MEMBER`.
    pub fn policies_to_load(&self) -> Vec<(String, PolicyConfig)> {
        let members = self.groups.iter().flat_map(|(group_id, group)| {
            group
                .members
                .iter()
                .map(|(name, member)| (member_id(group_id, name), member.clone()))
        });
        self.policies
            .iter()
            .map(|(id, policy)| (id.clone(), policy.clone()))
            .chain(members)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reads_kubewardens_format() -> Result<(), EvaluatorError> {
        let file = PoliciesFile::from_yaml(
            r#"
privileged:
  module: registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2
  allowedToMutate: false
  policyMode: monitor
  timeoutEvalSeconds: 3
  settings:
    replicas: 3
local:
  module: file:///tmp/policy.wasm
"#,
        )?;
        let privileged = &file.policies["privileged"];
        assert_eq!(privileged.policy_mode, PolicyMode::Monitor);
        assert_eq!(privileged.timeout(), Some(Duration::from_secs(3)));
        assert_eq!(privileged.settings()["replicas"], 3);
        let local = &file.policies["local"];
        assert_eq!(local.policy_mode, PolicyMode::Protect);
        assert_eq!(local.allowed_to_mutate, None);
        assert_eq!(local.settings(), serde_json::json!({}));
        Ok(())
    }

    /// What Kubewarden's controller writes into the policy server's ConfigMap (JSON, every field it
    /// emits: `namespacedName` as Go encodes it, `hostCapabilities`, `message`, a group's members).
    #[test]
    fn reads_what_kubewardens_controller_writes() -> Result<(), EvaluatorError> {
        let file = PoliciesFile::from_yaml(
            r#"{"clusterwide-privileged":{"namespacedName":{"Namespace":"","Name":"privileged"},
"module":"ghcr.io/kubewarden/policies/pod-privileged:v0.2.2","policyMode":"protect",
"allowedToMutate":false,"settings":{},"message":"no privileged pods","timeoutEvalSeconds":2,
"hostCapabilities":["*"]},
"namespaced-team-a-group":{"namespacedName":{"Namespace":"team-a","Name":"group"},
"policyMode":"monitor","policies":{"sigs":{"module":"ghcr.io/kubewarden/policies/verify-image-signatures:v0.3.0",
"settings":{},"hostCapabilities":["oci/*","crypto/v1/is_certificate_trusted"]}},
"expression":"sigs()","message":"unsigned"}}"#,
        )?;
        let privileged = &file.policies["clusterwide-privileged"];
        assert_eq!(privileged.message.as_deref(), Some("no privileged pods"));
        assert_eq!(privileged.host_capabilities, ["*"]);
        let name = privileged.namespaced_name.clone().unwrap_or_default();
        assert_eq!(name.to_string(), "privileged");
        let group = &file.groups["namespaced-team-a-group"];
        assert_eq!(group.policy_mode, PolicyMode::Monitor);
        let member = &group.members["sigs"];
        assert_eq!(
            member.host_capabilities,
            ["oci/*", "crypto/v1/is_certificate_trusted"]
        );
        let name = member.namespaced_name.clone().unwrap_or_default();
        assert_eq!(name.to_string(), "team-a/group");
        Ok(())
    }

    #[test]
    fn loads_each_groups_members_under_the_group() -> Result<(), EvaluatorError> {
        let file = PoliciesFile::from_yaml(
            "p:\n  module: p.wasm\ng:\n  expression: a() || b()\n  message: no\n  policies:\n    \
             a:\n      module: a.wasm\n    b:\n      module: b.wasm\n",
        )?;
        assert_eq!(file.policies.keys().collect::<Vec<_>>(), ["p"]);
        assert_eq!(file.groups.keys().collect::<Vec<_>>(), ["g"]);
        let loaded = file.policies_to_load();
        let ids = loaded
            .iter()
            .map(|(id, policy)| (id.as_str(), policy.module.as_str()))
            .collect::<Vec<_>>();
        assert_eq!(ids, [("p", "p.wasm"), ("g/a", "a.wasm"), ("g/b", "b.wasm")]);
        Ok(())
    }

    #[test]
    fn rejects_what_it_does_not_run() {
        for (text, expected) in [
            (
                "p:\n  module: x\n  mystery: 1\n",
                "policy p: unknown field `mystery`",
            ),
            (
                "p:\n  allowedToMutate: true\n",
                "policy p: missing field `module`",
            ),
            (
                "p:\n  module: x\n  policyMode: audit\n",
                "policy p: unknown variant `audit`",
            ),
            ("a/b:\n  module: x\n", "contain no `/`"),
            (
                "g:\n  expression: a() && b()\n  message: no\n  policies: {}\n",
                "policy group g: it has no member policies",
            ),
            (
                "p:\n  module: x\n  contextAwareResources:\n  - kind: Namespace\n",
                "apiVersion",
            ),
            ("- not a map\n", "policies file"),
            (
                "p:\n  module: x\n  hostCapabilities: [oci/v1/verfy]\n",
                "policy p: hostCapabilities: host capability `oci/v1/verfy`: it names no host capability",
            ),
            (
                "g:\n  expression: a()\n  message: no\n  policies:\n    a:\n      module: a.wasm\n      \
                 hostCapabilities: [\"oci*\"]\n",
                "policy g/a: hostCapabilities: host capability `oci*`: a wildcard",
            ),
        ] {
            match PoliciesFile::from_yaml(text) {
                Err(EvaluatorError::Config(message)) => {
                    assert!(message.contains(expected), "{text}: {message}")
                }
                other => panic!("{text}: expected a config error, got {other:?}"),
            }
        }
    }
}
