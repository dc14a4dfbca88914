//! Start-up and reload: every policy of `policies.yml` resolved, then fetched, passed through the gate,
//! compiled and its settings validated, all in parallel, into a [`Generation`] (a reload takes the
//! policies whose digest and configuration did not change from the live one instead); and the state the
//! handlers share: the live generation, which a reload swaps whole.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use artifact::reference::PolicyRef;
use client::remote::Remote;

use super::generation::{Generation, GroupRecord, Origin, Unit};
use super::group::{GroupConfig, member_id};
use super::group_evaluation::{LoadedGroup, Member};
use super::isolation::{Isolation, IsolationLimits};
use super::metrics::Metrics;
use super::policies::{PoliciesFile, PolicyConfig};
use super::reload_outcome::{LastReload, ReloadMetrics};
use super::resolve::resolve;
use super::slot::{LoadedPolicy, Slot};
use crate::cache::ModuleCache;
use crate::engine::{Engine, EngineConfig};
use crate::error::EvaluatorError;
use crate::gate::{self, Admission, AdmittedModule, LocalStore};
use crate::host_capabilities::{ContextResources, KubewardenCapabilities, Registry};
use crate::policy::Policy;
use crate::precompiled::{self, PrecompiledTrust};

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
    /// How many evaluations run at once on tokio's blocking pool; a slow policy's run on as many low-priority
    /// threads besides ([`IsolationLimits`]).
    pub workers: usize,
    /// How much of the workers one policy may take, how many of its requests wait, when it fails fast.
    pub isolation: IsolationLimits,
    /// Host capabilities every policy may call besides `tracing/log` (`oci/v1/verify`, `oci/*`, `*`…).
    pub allowed_capabilities: Vec<String>,
    /// The Kubernetes resources the `kubernetes/*` capabilities answer from, for the kinds
    /// `policies.yml` grants each policy in its `contextAwareResources`.
    pub context_resources: Option<Arc<ContextResources>>,
}

/// What the handlers share: the live generation, the evaluation workers shared between policies and the
/// metrics (both kept across generations), and what a reload needs.
pub struct ServerState {
    pub(super) live: RwLock<Arc<Generation>>,
    pub(super) options: StartOptions,
    pub(super) engines: Engines,
    /// Held for the whole of a reload: one at a time.
    pub(super) reloading: tokio::sync::Mutex<()>,
    pub(super) last_reload: Mutex<Option<LastReload>>,
    pub(super) reloads: ReloadMetrics,
    pub(crate) isolation: Isolation,
    pub(crate) metrics: Metrics,
    /// Requests about objects in this namespace are accepted without evaluating ([`ServerState::always_accepting`]).
    pub(crate) always_accepted_namespace: Option<String>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.live();
        f.debug_struct("ServerState")
            .field("generation", &live.number())
            .field("policies", &live.ids())
            .field("failed", &live.failed())
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Loads every policy of `file` in parallel into generation 1. Refuses to start if one fails
    /// (verification, download, compilation, settings), naming each, unless `continue_on_errors`.
    pub async fn start(
        file: &PoliciesFile,
        options: StartOptions,
    ) -> Result<ServerState, EvaluatorError> {
        let engines = Engines::default();
        let (generation, mut failures) = load_generation(file, &options, &engines, None).await?;
        if !failures.is_empty() && !options.continue_on_errors {
            failures.sort();
            return Err(EvaluatorError::Startup(failures.join("; ")));
        }
        let mut metrics = Metrics::default();
        let isolation = Isolation::new(options.workers, options.isolation, metrics.registry_mut())?;
        let reloads = ReloadMetrics::registered(metrics.registry_mut());
        reloads.serving(generation.number);
        if let Some(trust) = &options.precompiled {
            trust.register(metrics.registry_mut());
        }
        Ok(ServerState {
            live: RwLock::new(Arc::new(generation)),
            options,
            engines,
            reloading: tokio::sync::Mutex::new(()),
            last_reload: Mutex::new(None),
            reloads,
            isolation,
            metrics,
            always_accepted_namespace: None,
        })
    }

    /// This server, accepting every AdmissionReview about an object in `namespace` without evaluating it (as
    /// Kubewarden's policy-server does for its own namespace, so that a broken policy cannot lock out the
    /// components that would fix it); `validate_raw` requests have no namespace and are always evaluated.
    pub fn always_accepting(mut self, namespace: Option<String>) -> ServerState {
        self.always_accepted_namespace = namespace;
        self
    }

    /// The generation serving now; a request takes it once and is answered by it, whatever a reload swaps in
    /// meanwhile.
    pub fn live(&self) -> Arc<Generation> {
        Arc::clone(&self.live.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The live generation's policies that could not be loaded, and why (only with `continue_on_errors`).
    pub fn failed(&self) -> Vec<(String, String)> {
        self.live().failed()
    }

    /// The ids of the live generation's policies and groups (ready or not).
    pub fn policy_ids(&self) -> Vec<String> {
        self.live().ids()
    }
}

/// Builds the generation after `live` (the first when there is none) from `file`: every policy and group
/// member resolved ([`resolve`]), then taken from `live` as it is when its digest and configuration did not
/// change, else fetched, admitted, compiled and its settings validated; all in parallel. Returns it with the
/// failures, each naming its policy; the caller decides whether it may serve.
pub(super) async fn load_generation(
    file: &PoliciesFile,
    options: &StartOptions,
    engines: &Engines,
    live: Option<&Generation>,
) -> Result<(Generation, Vec<String>), EvaluatorError> {
    let number = live.map_or(1, |live| live.number + 1);
    let mut loading = tokio::task::JoinSet::new();
    for (id, config) in file.policies_to_load() {
        let deadline = config.timeout().unwrap_or(options.engine.deadline);
        let engine = engines.get(deadline, options)?;
        let reusable = live
            .and_then(|live| live.units.get(&id))
            .and_then(|unit| unit.reusable(&config));
        let (remote, admission) = (options.remote.clone(), options.admission.clone());
        let options = options.clone();
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
            let (digest, loaded) = match resolve(&remote, &config.module).await {
                Err(err) => (None, Err(err)),
                Ok(resolved) => match reusable {
                    Some((digest, policy, loaded_in)) if digest == resolved.digest => {
                        (Some(digest), Ok((policy, Origin::Reused, loaded_in)))
                    }
                    _ => {
                        let source = &resolved.source;
                        let loaded = load(&options, engine, &config, source, capabilities).await;
                        let loaded =
                            loaded.map(|policy| (Arc::new(policy), Origin::Loaded, number));
                        (Some(resolved.digest), loaded)
                    }
                },
            };
            (id, config, digest, loaded)
        });
    }
    let mut units = BTreeMap::new();
    let mut failures = Vec::new();
    while let Some(joined) = loading.join_next().await {
        let (id, config, digest, loaded) = joined
            .map_err(|err| EvaluatorError::Startup(format!("a policy loader panicked: {err}")))?;
        let (loaded, origin, loaded_in) = match loaded {
            Ok((policy, origin, loaded_in)) => {
                if origin == Origin::Loaded {
                    tracing::info!(policy = %id, "policy ready");
                }
                (Ok(policy), origin, loaded_in)
            }
            Err(err) => {
                let described = err.describe();
                tracing::error!(policy = %id, error = %described, "policy not loaded");
                failures.push(format!("policy {id}: {described}"));
                (Err(described), Origin::Loaded, number)
            }
        };
        let unit = Unit {
            config,
            digest,
            loaded,
            origin,
            loaded_in,
        };
        units.insert(id, unit);
    }
    let mut slots = BTreeMap::new();
    for id in file.policies.keys() {
        if let Some(unit) = units.get(id) {
            let slot = match &unit.loaded {
                Ok(policy) => Slot::Ready(Arc::clone(policy)),
                Err(reason) => Slot::Failed(reason.clone()),
            };
            slots.insert(id.clone(), slot);
        }
    }
    let mut groups = BTreeMap::new();
    for (id, group) in &file.groups {
        let (slot, origin) = group_slot(id, group, &units, live);
        slots.insert(id.clone(), slot);
        let record = GroupRecord {
            config: group.clone(),
            origin,
        };
        groups.insert(id.clone(), record);
    }
    let generation = Generation {
        number,
        loaded_at: chrono::Utc::now(),
        file_digest: file.digest.clone(),
        slots,
        units,
        groups,
    };
    Ok((generation, failures))
}

/// The trust root policies' own keyless `oci/*/verify` calls are checked against: the server's.
fn trust_root(admission: &Admission) -> Option<signing::trust::TrustRoot> {
    match admission {
        Admission::Verify(verification) => Some(verification.trust_root.clone()),
        Admission::InsecureSkipVerification => None,
    }
}

/// One engine per distinct deadline (the deadline is an engine setting), sharing the cache: made when a
/// generation first needs it and kept for the next ones.
#[derive(Default)]
pub(super) struct Engines(Mutex<BTreeMap<Duration, Engine>>);

impl Engines {
    /// The engine of `deadline`, made with `options` if no generation needed it before.
    fn get(&self, deadline: Duration, options: &StartOptions) -> Result<Engine, EvaluatorError> {
        let mut engines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = engines.get(&deadline) {
            return Ok(engine.clone());
        }
        let mut engine = Engine::new(EngineConfig {
            deadline,
            ..options.engine.clone()
        })?;
        if let Some(cache) = &options.cache {
            engine = engine.with_cache(Arc::clone(cache));
        }
        engines.insert(deadline, engine.clone());
        Ok(engine)
    }
}

/// Fetches and admits one policy from `source` (its module, resolved), then compiles it and checks its
/// settings off the reactor (wasmtime compiles a module's functions in parallel on rayon's global pool, whose
/// threads the policy server runs at a lower priority: [`crate::background::lower_compiler_threads`]).
async fn load(
    options: &StartOptions,
    engine: Engine,
    config: &PolicyConfig,
    source: &PolicyRef,
    capabilities: KubewardenCapabilities,
) -> Result<LoadedPolicy, EvaluatorError> {
    let remote = &options.remote;
    let module = gate::admit(remote, source, &options.admission, options.store.as_ref()).await?;
    let trust = options.precompiled.as_ref();
    let engine = precompiled::engine_for(remote, source, &module, engine, trust).await;
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
    let policy = Policy::load_by_metadata(engine, module, Arc::new(capabilities))?;
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

/// A group's entry, made of its members' `units`: ready when every member is, else why each of the others
/// is not. The `live` generation's group is taken as it is when its configuration is the same and every
/// member was.
fn group_slot(
    id: &str,
    group: &GroupConfig,
    units: &BTreeMap<String, Unit>,
    live: Option<&Generation>,
) -> (Slot, Origin) {
    let mut members = BTreeMap::new();
    let mut failed = Vec::new();
    let mut every_member_reused = true;
    for name in group.members.keys() {
        let Some(unit) = units.get(&member_id(id, name)) else {
            failed.push(format!("member {name} was not loaded"));
            continue;
        };
        every_member_reused &= unit.origin == Origin::Reused;
        match &unit.loaded {
            Ok(loaded) => {
                let member = Member {
                    policy: loaded.policy.clone(),
                    settings: loaded.settings.clone(),
                };
                members.insert(name.clone(), member);
            }
            Err(reason) => failed.push(format!("member {name}: {reason}")),
        }
    }
    if !failed.is_empty() {
        return (Slot::Failed(failed.join("; ")), Origin::Loaded);
    }
    let same_group = live.filter(|live| {
        every_member_reused
            && live
                .groups
                .get(id)
                .is_some_and(|record| record.config == *group)
    });
    if let Some(Slot::Group(loaded)) = same_group.and_then(|live| live.slots.get(id)) {
        return (Slot::Group(Arc::clone(loaded)), Origin::Reused);
    }
    let slot = Slot::Group(Arc::new(LoadedGroup {
        members,
        expression: group.expression.clone(),
        message: group.message.clone(),
        mode: group.policy_mode,
    }));
    (slot, Origin::Loaded)
}
