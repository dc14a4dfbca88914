//! The host-capability flags shared by `run` and `bench`: which Kubewarden host capabilities a
//! waPC policy may call, and the Kubernetes resources the `kubernetes/*` ones answer from.

use std::path::PathBuf;
use std::sync::Arc;

use artifact::metadata::Metadata;
use client::remote::Remote;
use evaluator::host_capabilities::session::{Recorder, Replayer};
use evaluator::host_capabilities::{ContextResources, Registry};
use evaluator::{HostCallHandler, KubewardenCapabilities};
use signing::trust::TrustRoot;

use crate::exit::usage_error;

/// What the policy may ask the host.
#[derive(Debug, Clone, clap::Args)]
pub struct CapabilityOptions {
    /// Allow the policy a host capability (repeatable): NAMESPACE/OPERATION such as
    /// oci/v1/verify or net/v1/dns_lookup_host, a prefix such as oci/*, or * for all.
    /// tracing/log is always allowed. (kwctl's `--allowed-host-capabilities` works too; kwctl allows
    /// every capability when it is not given, palisade none.)
    #[arg(
        long = "allow-capability",
        alias = "allowed-host-capabilities",
        value_name = "NAME"
    )]
    allow_capabilities: Vec<String>,
    /// Kubernetes objects (YAML or JSON: a list, a `kind: List` or `---` documents) that the
    /// kubernetes/* capabilities answer from, offline, for the kinds the policy's metadata
    /// lists in contextAwareResources (policy-server: the kinds policies.yml grants it).
    #[arg(long, value_name = "FILE")]
    context_resources: Option<PathBuf>,
    /// kwctl's grant of the metadata's contextAwareResources: palisade grants those kinds always and
    /// answers them from --context-resources or a replayed session, so given without either it only
    /// warns that the policy's Kubernetes calls will find nothing to read.
    #[arg(long)]
    allow_context_aware: bool,
}

/// Recording the host calls of `run` and `bench` to a session file, or answering them from one
/// (kwctl's session format and flag names).
#[derive(Debug, Clone, clap::Args)]
pub struct SessionOptions {
    /// Write every host call the policy makes, with the host's answer, to this session file (YAML,
    /// kwctl's format), to replay it later with --replay-host-capabilities-interactions.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "replay_host_capabilities_interactions"
    )]
    record_host_capabilities_interactions: Option<PathBuf>,
    /// Answer the policy's host calls from this session file (recorded by palisade or kwctl) instead of
    /// registries and --context-resources: each call must be the next one recorded. The policy may read
    /// the Kubernetes kinds its metadata lists in contextAwareResources.
    #[arg(long, value_name = "FILE", conflicts_with = "context_resources")]
    replay_host_capabilities_interactions: Option<PathBuf>,
}

impl SessionOptions {
    /// Whether a session is recorded or replayed.
    pub fn in_use(&self) -> bool {
        self.record_host_capabilities_interactions.is_some()
            || self.replay_host_capabilities_interactions.is_some()
    }
}

impl CapabilityOptions {
    /// The host capabilities for a policy with `metadata`, reaching registries through `remote`,
    /// checking keyless signatures against `trust_root`, recorded or replayed as `session` says.
    pub fn for_policy(
        &self,
        metadata: Option<&Metadata>,
        remote: &Remote,
        trust_root: Option<TrustRoot>,
        session: &SessionOptions,
    ) -> anyhow::Result<Arc<dyn HostCallHandler>> {
        let kinds = metadata
            .map(|metadata| metadata.context_aware_resources.clone())
            .unwrap_or_default();
        let registry = Registry::new(remote.clone(), trust_root);
        if self.allow_context_aware
            && self.context_resources.is_none()
            && session.replay_host_capabilities_interactions.is_none()
        {
            eprintln!(
                "warning: --allow-context-aware: palisade reads no cluster; pass --context-resources FILE (or \
                 --replay-host-capabilities-interactions FILE) for the policy's Kubernetes calls to find objects"
            );
        }
        if let Some(path) = &session.replay_host_capabilities_interactions {
            // The session stands for the cluster: the kinds of the metadata may be read from it.
            let capabilities = KubewardenCapabilities::granting(
                kinds,
                &self.allow_capabilities,
                Some(Arc::new(ContextResources::default())),
                registry,
            );
            let replayer = Replayer::open(path, capabilities).map_err(usage_error)?;
            return Ok(Arc::new(replayer));
        }
        let capabilities = KubewardenCapabilities::granting(
            kinds,
            &self.allow_capabilities,
            self.context_resources()?,
            registry,
        );
        Ok(match &session.record_host_capabilities_interactions {
            Some(path) => Arc::new(Recorder::create(path, capabilities)?),
            None => Arc::new(capabilities),
        })
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
            .map_err(usage_error)?;
        Ok(resources.map(Arc::new))
    }
}
