//! The metadata document, field for field Kubewarden's: what a policy says about itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::annotations::WellKnown;

/// Everything a policy says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The waPC protocol version the policy speaks; `Unknown` for Rego and WASI policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<ProtocolVersion>,
    /// The Kubernetes requests the policy wants to see.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Free-form key/value pairs; see [`WellKnown`] for the keys tools understand.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Whether the policy may change the object it is given.
    pub mutating: bool,
    /// Whether the audit scanner may evaluate the policy on existing resources.
    #[serde(default = "default_true")]
    pub background_audit: bool,
    /// How the module is run.
    #[serde(default)]
    pub execution_mode: ExecutionMode,
    /// What kind of requests the policy evaluates.
    #[serde(default)]
    pub policy_type: PolicyType,
    /// The cluster resources the policy may read while it evaluates.
    #[serde(default)]
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    /// Host capabilities the policy calls (e.g. `oci/v1/verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
    /// The oldest Kubewarden release that can run the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<semver::Version>,
}

fn default_true() -> bool {
    true
}

impl Metadata {
    /// The value of annotation `key`, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// The value of a well-known annotation, if set.
    pub fn well_known(&self, key: WellKnown) -> Option<&str> {
        self.annotation(key.key())
    }
}

/// The waPC protocol version of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// The one version defined so far.
    #[serde(rename = "v1")]
    V1,
    /// Not known (Rego and WASI policies do not speak waPC).
    #[serde(rename = "Unknown")]
    Unknown,
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolVersion::V1 => "v1",
            ProtocolVersion::Unknown => "Unknown",
        })
    }
}

/// One admission rule: the requests it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// API groups (`""` is the core group, `*` all of them).
    pub api_groups: Vec<String>,
    /// API versions (`*` for all).
    pub api_versions: Vec<String>,
    /// Resources, optionally with a subresource (`pods`, `pods/exec`, `*/status`, `*`).
    pub resources: Vec<String>,
    /// The operations matched.
    pub operations: Vec<Operation>,
}

/// An admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// Creating an object.
    #[serde(rename = "CREATE")]
    Create,
    /// Updating an object.
    #[serde(rename = "UPDATE")]
    Update,
    /// Deleting an object.
    #[serde(rename = "DELETE")]
    Delete,
    /// Connecting to a resource (exec, attach, port-forward, proxy).
    #[serde(rename = "CONNECT")]
    Connect,
    /// Every operation.
    #[serde(rename = "*")]
    All,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
            Operation::All => "*",
        })
    }
}

/// How a policy module is run by the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionMode {
    /// The waPC protocol (`__guest_call`): Rust, Go, AssemblyScript, Swift… SDKs.
    #[default]
    #[serde(rename = "kubewarden-wapc")]
    KubewardenWapc,
    /// An Open Policy Agent Rego policy built with `opa build -t wasm`.
    #[serde(rename = "opa")]
    Opa,
    /// A Gatekeeper Rego policy built with `opa build -t wasm`.
    #[serde(rename = "gatekeeper")]
    Gatekeeper,
    /// A WASI command reading the request on stdin.
    #[serde(rename = "wasi")]
    Wasi,
}

impl ExecutionMode {
    /// Whether the module is a compiled Rego policy (OPA Wasm ABI).
    pub fn is_rego(self) -> bool {
        matches!(self, ExecutionMode::Opa | ExecutionMode::Gatekeeper)
    }
}

impl fmt::Display for ExecutionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionMode::KubewardenWapc => "kubewarden-wapc",
            ExecutionMode::Opa => "opa",
            ExecutionMode::Gatekeeper => "gatekeeper",
            ExecutionMode::Wasi => "wasi",
        })
    }
}

/// What a policy evaluates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    /// Kubernetes admission requests.
    #[default]
    #[serde(rename = "kubernetes")]
    Kubernetes,
    /// Arbitrary JSON documents.
    #[serde(rename = "raw")]
    Raw,
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyType::Kubernetes => "kubernetes",
            PolicyType::Raw => "raw",
        })
    }
}

/// A kind of cluster resource a context-aware policy may read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    /// `v1`, `apps/v1`…
    pub api_version: String,
    /// `Namespace`, `Deployment`…
    pub kind: String,
}

impl fmt::Display for ContextAwareResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)
    }
}
