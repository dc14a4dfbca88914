//! The host-capability flags shared by `run` and `bench`: which Kubewarden host capabilities a
//! waPC policy may call, and the Kubernetes resources the `kubernetes/*` ones answer from.

use std::path::PathBuf;
use std::sync::Arc;

use artifact::metadata::Metadata;
use artifact::remote::Remote;
use evaluator::host_capabilities::{ContextResources, Registry};
use evaluator::{HostCallHandler, KubewardenCapabilities};
use signing::trust::TrustRoot;

use crate::commands::UsageError;

/// What the policy may ask the host.
#[derive(Debug, Clone, clap::Args)]
pub struct CapabilityOptions {
    /// Allow the policy a host capability (repeatable): NAMESPACE/OPERATION such as
    /// oci/v1/verify or net/v1/dns_lookup_host, a prefix such as oci/*, or * for all.
    /// tracing/log is always allowed.
    #[arg(long = "allow-capability", value_name = "NAME")]
    allow_capabilities: Vec<String>,
    /// Kubernetes objects (YAML or JSON: a list, a `kind: List` or `---` documents) that the
    /// kubernetes/* capabilities answer from, offline, for the kinds the policy's metadata
    /// lists in contextAwareResources (policy-server: the kinds policies.yml grants it).
    #[arg(long, value_name = "FILE")]
    context_resources: Option<PathBuf>,
}

impl CapabilityOptions {
    /// The host capabilities for a policy with `metadata`, reaching registries through `remote` and
    /// checking keyless signatures against `trust_root`.
    pub fn for_policy(
        &self,
        metadata: Option<&Metadata>,
        remote: &Remote,
        trust_root: Option<TrustRoot>,
    ) -> anyhow::Result<Arc<dyn HostCallHandler>> {
        let kinds = metadata
            .map(|metadata| metadata.context_aware_resources.clone())
            .unwrap_or_default();
        Ok(Arc::new(KubewardenCapabilities::granting(
            kinds,
            &self.allow_capabilities,
            self.context_resources()?,
            Registry::new(remote.clone(), trust_root),
        )))
    }

    /// The capabilities allowed to every policy, besides `tracing/log`.
    pub fn allowed(&self) -> &[String] {
        &self.allow_capabilities
    }

    /// The resources of `--context-resources`, read.
    pub fn context_resources(&self) -> anyhow::Result<Option<Arc<ContextResources>>> {
        let resources = self
            .context_resources
            .as_deref()
            .map(ContextResources::from_file)
            .transpose()
            .map_err(|err| UsageError(err.to_string()))?;
        Ok(resources.map(Arc::new))
    }
}
