//! One policy of `policies.yml` (what a policy id names, and what a group's member is made into).

use std::time::Duration;

use artifact::metadata::ContextAwareResource;
use serde::Deserialize;
use serde_json::Value;

use crate::host_capabilities::check_pattern;

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
    /// The message of the policy's rejections (Kubewarden's `message`): it replaces the policy's own,
    /// which becomes the first of `status.details.causes`.
    #[serde(default)]
    pub message: Option<String>,
    /// Host capabilities the policy may call besides `tracing/log`, on top of the server's
    /// `--allow-capability` (patterns as [`check_pattern`] takes them).
    #[serde(default)]
    pub host_capabilities: Vec<String>,
    /// The cluster resource the policy comes from, as Kubewarden's controller writes it; logged with
    /// the policy's id.
    #[serde(default)]
    pub namespaced_name: Option<NamespacedName>,
}

/// A Kubernetes object's namespace and name, as Go's `types.NamespacedName` encodes them (the
/// controller writes `{"Namespace": "", "Name": "…"}`; lower-case keys are read too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespacedName {
    /// The namespace, empty for a cluster-wide policy.
    #[serde(rename = "Namespace", alias = "namespace", default)]
    pub namespace: String,
    /// The name.
    #[serde(rename = "Name", alias = "name", default)]
    pub name: String,
}

impl std::fmt::Display for NamespacedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.namespace.as_str() {
            "" => f.write_str(&self.name),
            namespace => write!(f, "{namespace}/{}", self.name),
        }
    }
}

impl PolicyConfig {
    /// The settings, `{}` when none are given.
    pub fn settings(&self) -> Value {
        self.settings
            .clone()
            .filter(|settings| !settings.is_null())
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    }

    /// Checks every `hostCapabilities` entry, so that a typo is an error rather than a grant of nothing.
    pub fn check_host_capabilities(&self) -> Result<(), String> {
        self.host_capabilities
            .iter()
            .try_for_each(|pattern| check_pattern(pattern))
            .map_err(|reason| format!("hostCapabilities: {reason}"))
    }

    /// The per-policy deadline, if the file sets one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_eval_seconds.map(Duration::from_secs)
    }
}
