//! One policy of `policies.yml` (what a policy id names, and what a group's member is made into).

use std::time::Duration;

use artifact::metadata::ContextAwareResource;
use serde::Deserialize;
use serde_json::Value;

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
