//! Start-up: every policy of `policies.yml` fetched, passed through the gate, compiled and its
//! settings validated, all in parallel; and the state the handlers share afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use artifact::reference::PolicyRef;
use client::remote::Remote;
use serde_json::Value;

use super::group::{GroupConfig, member_id};
use super::group_evaluation::{LoadedGroup, Member};
use super::isolation::{Isolation, IsolationLimits};
use super::metrics::Metrics;
use super::policies::{PoliciesFile, PolicyConfig, PolicyMode};
use crate::cache::ModuleCache;
use crate::precompiled::{self, PrecompiledTrust};
use crate::engine::{Engine, EngineConfig};
use crate::error::EvaluatorError;
use crate::gate::{self, Admission, AdmittedModule, LocalStore};
use crate::host_capabilities::{ContextResources, KubewardenCapabilities, Registry};
use crate::policy::Policy;

/// How the server starts.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The registry client policies are pulled (and their signatures fetched) with.
    pub remote: Remote,
    /// Verify every policy, or (development only) none.
    pub admission: Admission,
    /// Where registry policies are kept once downloaded, so that a start or reload finds them there.
    pub store: Option<LocalStore>,
    /// Limits of every evaluation; `timeoutEvalSeconds` overrides the deadline per policy.
    pub engine: EngineConfig,
    /// Where compiled modules are kept between runs.
    pub cache: Option<Arc<ModuleCache>>,
    /// Whom to trust for precompiled modules: a registry policy's verified referrer compiled for this
    /// engine is loaded instead of compiling it ([`crate::precompiled`]); none looked for without.
    pub precompiled: Option<Arc<PrecompiledTrust>>,
    /// Start even when policies fail to load, answering their requests with a 500 rejection that
    /// says why, instead of refusing to start.
    pub continue_on_errors: bool,
    /// How many evaluations run at once (the size of the blocking pool used).
    pub workers: usize,
    /// How much of the workers one policy may take, how many of its requests wait, when it fails fast.
    pub isolation: IsolationLimits,
    /// Host capabilities every policy may call besides `tracing/log` (`oci/v1/verify`, `oci/*`, `*`…).
    pub allowed_capabilities: Vec<String>,
    /// The Kubernetes resources the `kubernetes/*` capabilities answer from, for the kinds
    /// `policies.yml` grants each policy in its `contextAwareResources`.
    pub context_resources: Option<Arc<ContextResources>>,
}

/// A policy ready to serve.
pub(crate) struct LoadedPolicy {
    pub(crate) policy: Policy,
    pub(crate) settings: Value,
    pub(crate) allowed_to_mutate: bool,
    pub(crate) mode: PolicyMode,
    /// The message that replaces the policy's own in its rejections (`message` in `policies.yml`).
    pub(crate) message: Option<String>,
}

/// A policy id's entry: ready, a group ready, or why it could not be loaded (`--continue-on-errors`).
pub(crate) enum Slot {
    Ready(Arc<LoadedPolicy>),
    Group(Arc<LoadedGroup>),
    Failed(String),
}

/// What the handlers share: the policies, the evaluation workers shared between them and the metrics.
pub struct ServerState {
    pub(crate) policies: BTreeMap<String, Slot>,
    pub(crate) isolation: Isolation,
    pub(crate) metrics: Metrics,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("policies", &self.policies.keys().collect::<Vec<_>>())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Loads every policy of `file` in parallel. Refuses to start if one fails (verification,
    /// download, compilation, settings), naming each, unless `continue_on_errors`.
    pub async fn start(
        file: &PoliciesFile,
        options: StartOptions,
    ) -> Result<ServerState, EvaluatorError> {
        let engines = engines(file, &options)?;
        let mut loading = tokio::task::JoinSet::new();
        for (id, config) in file.policies_to_load() {
            let deadline = config.timeout().unwrap_or(options.engine.deadline);
            let engine = engines.get(&deadline).cloned().ok_or_else(|| {
                EvaluatorError::Engine(format!("no engine for the deadline {deadline:?}"))
            })?;
            let (remote, admission) = (options.remote.clone(), options.admission.clone());
            let store = options.store.clone();
            let trust = options.precompiled.clone();
            let capabilities = KubewardenCapabilities::granting(
                config.context_aware_resources.clone(),
                &[
                    &options.allowed_capabilities[..],
                    &config.host_capabilities[..],
                ]
                .concat(),
                options.context_resources.clone(),
                Registry::new(remote.clone(), trust_root(&admission)),
            );
            loading.spawn(async move {
                let store = store.as_ref();
                let loaded = load(
                    &remote,
                    &admission,
                    store,
                    trust.as_ref(),
                    engine,
                    &config,
                    capabilities,
                )
                .await;
                (id, loaded)
            });
        }
        let mut policies = BTreeMap::new();
        let mut failures = Vec::new();
        while let Some(joined) = loading.join_next().await {
            let (id, loaded) = joined.map_err(|err| {
                EvaluatorError::Startup(format!("a policy loader panicked: {err}"))
            })?;
            match loaded {
                Ok(policy) => {
                    tracing::info!(policy = %id, "policy ready");
                    policies.insert(id, Slot::Ready(Arc::new(policy)));
                }
                Err(err) => {
                    let described = err.describe();
                    tracing::error!(policy = %id, error = %described, "policy not loaded");
                    failures.push(format!("policy {id}: {described}"));
                    policies.insert(id, Slot::Failed(described));
                }
            }
        }
        for (id, group) in &file.groups {
            let slot = group_slot(id, group, &mut policies);
            policies.insert(id.clone(), slot);
        }
        if !failures.is_empty() && !options.continue_on_errors {
            failures.sort();
            return Err(EvaluatorError::Startup(failures.join("; ")));
        }
        let mut metrics = Metrics::default();
        let isolation = Isolation::new(options.workers, options.isolation, metrics.registry_mut());
        Ok(ServerState {
            policies,
            isolation,
            metrics,
        })
    }

    /// The policies that could not be loaded, and why (only with `continue_on_errors`).
    pub fn failed(&self) -> Vec<(&str, &str)> {
        self.policies
            .iter()
            .filter_map(|(id, slot)| match slot {
                Slot::Failed(reason) => Some((id.as_str(), reason.as_str())),
                Slot::Ready(_) | Slot::Group(_) => None,
            })
            .collect()
    }

    /// The ids of the policies served (ready or not).
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.policies.keys().map(String::as_str)
    }
}

/// The trust root policies' own keyless `oci/*/verify` calls are checked against: the server's.
fn trust_root(admission: &Admission) -> Option<signing::trust::TrustRoot> {
    match admission {
        Admission::Verify(verification) => Some(verification.trust_root.clone()),
        Admission::InsecureSkipVerification => None,
    }
}

/// One engine per distinct deadline (the deadline is an engine setting), sharing the cache.
fn engines(
    file: &PoliciesFile,
    options: &StartOptions,
) -> Result<BTreeMap<Duration, Engine>, EvaluatorError> {
    let mut engines = BTreeMap::new();
    for (_, config) in file.policies_to_load() {
        let deadline = config.timeout().unwrap_or(options.engine.deadline);
        if engines.contains_key(&deadline) {
            continue;
        }
        let mut engine = Engine::new(EngineConfig {
            deadline,
            ..options.engine.clone()
        })?;
        if let Some(cache) = &options.cache {
            engine = engine.with_cache(Arc::clone(cache));
        }
        engines.insert(deadline, engine);
    }
    Ok(engines)
}

/// Fetches and admits one policy, then compiles it and checks its settings off the reactor.
async fn load(
    remote: &Remote,
    admission: &Admission,
    store: Option<&LocalStore>,
    trust: Option<&Arc<PrecompiledTrust>>,
    engine: Engine,
    config: &PolicyConfig,
    capabilities: KubewardenCapabilities,
) -> Result<LoadedPolicy, EvaluatorError> {
    let source = PolicyRef::parse(&config.module)
        .map_err(|err| EvaluatorError::InvalidInput(err.to_string()))?;
    let module = gate::admit(remote, &source, admission, store).await?;
    let engine = precompiled::engine_for(remote, &source, &module, engine, trust).await;
    let config = config.clone();
    tokio::task::spawn_blocking(move || prepare(&engine, &module, &config, capabilities))
        .await
        .map_err(|err| EvaluatorError::Startup(format!("compiling the policy panicked: {err}")))?
}

/// Compiles an admitted module in the execution mode its metadata names and validates its settings.
fn prepare(
    engine: &Engine,
    module: &AdmittedModule,
    config: &PolicyConfig,
    capabilities: KubewardenCapabilities,
) -> Result<LoadedPolicy, EvaluatorError> {
    let report = artifact::inspect::inspect(module.bytes())
        .map_err(|err| EvaluatorError::Compile(format!("{}: {err}", module.source())))?;
    let mode = report
        .metadata
        .map(|metadata| metadata.execution_mode)
        .unwrap_or_default();
    let policy = Policy::load_with(engine, &mode.to_string(), module, Arc::new(capabilities))?;
    let settings = config.settings();
    let verdict = policy.validate_settings(&settings)?;
    if !verdict.valid {
        return Err(EvaluatorError::InvalidInput(format!(
            "the policy rejects its settings: {}",
            verdict.message.as_deref().unwrap_or("no reason given")
        )));
    }
    Ok(LoadedPolicy {
        policy,
        settings,
        allowed_to_mutate: config.allowed_to_mutate.unwrap_or(false),
        mode: config.policy_mode,
        message: config.message.clone(),
    })
}

/// A group's entry, made of its members' entries (taken out of `policies`): ready when every
/// member is, else why each of the others is not.
fn group_slot(id: &str, group: &GroupConfig, policies: &mut BTreeMap<String, Slot>) -> Slot {
    let mut members = BTreeMap::new();
    let mut failed = Vec::new();
    for name in group.members.keys() {
        match policies.remove(&member_id(id, name)) {
            Some(Slot::Ready(loaded)) => {
                let member = Member {
                    policy: loaded.policy.clone(),
                    settings: loaded.settings.clone(),
                };
                members.insert(name.clone(), member);
            }
            Some(Slot::Failed(reason)) => failed.push(format!("member {name}: {reason}")),
            Some(Slot::Group(_)) | None => failed.push(format!("member {name} was not loaded")),
        }
    }
    if !failed.is_empty() {
        return Slot::Failed(failed.join("; "));
    }
    Slot::Group(Arc::new(LoadedGroup {
        members,
        expression: group.expression.clone(),
        message: group.message.clone(),
        mode: group.policy_mode,
    }))
}
