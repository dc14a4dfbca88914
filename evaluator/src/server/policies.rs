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
//! ```
//!
//! Unknown fields are rejected. `contextAwareResources` grants the policy the `kubernetes/*` host
//! capabilities for those kinds, answered from the server's `--context-resources` file.
//! An entry with `policies` and `expression` is a policy group (see [`super::group`]).

use std::collections::BTreeMap;

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
        Ok(PoliciesFile { policies, groups })
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
