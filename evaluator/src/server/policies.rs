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
//! Policy groups (`policies` + `expression`) are refused.

use std::collections::BTreeMap;
use std::time::Duration;

use artifact::metadata::ContextAwareResource;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EvaluatorError;

/// What a policy's rejection does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Rejections reject.
    #[default]
    Protect,
    /// The policy is evaluated and its verdict logged and counted, but every request is accepted.
    Monitor,
}

/// One policy of `policies.yml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyConfig {
    /// Where the policy is: `registry://…`, `HOST/REPO:TAG`, `oci-layout://…` or `file://PATH`.
    pub module: String,
    /// Protect (default) or monitor.
    #[serde(default)]
    pub policy_mode: PolicyMode,
    /// Whether the policy may return a mutated object (default false: a mutation is a 500 rejection).
    #[serde(default)]
    pub allowed_to_mutate: Option<bool>,
    /// The policy's settings (default `{}`).
    #[serde(default)]
    pub settings: Option<Value>,
    /// The deadline of one evaluation, in seconds (default: the server's).
    #[serde(default)]
    pub timeout_eval_seconds: Option<u64>,
    /// The Kubernetes kinds the policy may read through the `kubernetes/*` host capabilities.
    #[serde(default)]
    pub context_aware_resources: Vec<ContextAwareResource>,
}

impl PolicyConfig {
    /// The settings, `{}` when none are given.
    pub fn settings(&self) -> Value {
        self.settings
            .clone()
            .filter(|settings| !settings.is_null())
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    }

    /// The per-policy deadline, if the file sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_eval_seconds.map(Duration::from_secs)
    }
}

/// The whole file: policy id → policy, in id order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoliciesFile {
    /// The policies.
    pub policies: BTreeMap<String, PolicyConfig>,
}

impl PoliciesFile {
    /// Parses `policies.yml`; every problem names the policy id.
    pub fn from_yaml(text: &str) -> Result<PoliciesFile, EvaluatorError> {
        let raw: BTreeMap<String, Value> = serde_norway::from_str(text)
            .map_err(|err| EvaluatorError::Config(format!("policies file: {err}")))?;
        let mut policies = BTreeMap::new();
        for (id, value) in raw {
            if id.is_empty() || id.contains('/') {
                return Err(EvaluatorError::Config(format!(
                    "policy id {id:?} must be non-empty and contain no `/` (it is a URL path segment)"
                )));
            }
            if value.get("policies").is_some() || value.get("expression").is_some() {
                return Err(EvaluatorError::Config(format!(
                    "policy {id}: policy groups (`policies` and `expression`) are not supported"
                )));
            }
            let policy: PolicyConfig = serde_json::from_value(value)
                .map_err(|err| EvaluatorError::Config(format!("policy {id}: {err}")))?;
            policies.insert(id, policy);
        }
        Ok(PoliciesFile { policies })
    }
}

#[cfg(test)]
mod tests {
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
                "policy groups",
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
