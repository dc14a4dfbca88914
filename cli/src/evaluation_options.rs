//! What `palisade run` and `palisade bench` share: the policy (verified through the gate), the
//! admission request, the settings, the execution mode and the engine's limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use artifact::inspect::inspect;
use artifact::metadata::{ExecutionMode, PolicyType};
use artifact::reference::PolicyRef;
use artifact::wasm::{DetectedAbi, detect_abi};
use client::remote::Remote;
use evaluator::admission::RequestForm;
use evaluator::gate;
use evaluator::server::{IsolationLimits, StartOptions};
use evaluator::{AdmissionReview, Engine, EngineConfig, ModuleCache, Policy};
use serde_json::Value;

use crate::capability_options::{CapabilityOptions, SessionOptions};
use crate::environment;
use crate::exit::{UsageError, usage_error};
use crate::options::{RegistryOptions, StoreOptions};
use crate::progress::block_on;
use crate::verification_options::VerificationOptions;

/// The policy to evaluate, what to evaluate it on, and how it is verified and run.
#[derive(Debug, clap::Args)]
pub struct EvaluationOptions {
    /// The policy: a Wasm module file, registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST], HOST/REPO:TAG, or
    /// oci-layout://DIR[:TAG].
    #[arg(value_name = "REF|FILE")]
    pub policy: String,
    /// The request to evaluate, as JSON; `-` for stdin: an AdmissionReview (admission.k8s.io/v1, `kind:
    /// AdmissionReview`) or the AdmissionRequest it carries, as kwctl reads them; with --raw, any document.
    #[arg(long, short = 'r', visible_alias = "request", value_name = "FILE")]
    request_path: PathBuf,
    /// The request is raw (not Kubernetes): the policy gets the document as it is and a mutation patches the
    /// whole of it. Implied by a policy whose metadata says `policyType: raw`.
    #[arg(long)]
    raw: bool,
    /// The policy's settings, as JSON or YAML (default: `{}`).
    #[arg(
        long,
        short = 's',
        visible_alias = "settings",
        value_name = "FILE",
        conflicts_with = "settings_json"
    )]
    settings_path: Option<PathBuf>,
    /// The policy's settings, inline, as JSON.
    #[arg(long, value_name = "JSON")]
    settings_json: Option<String>,
    /// Run the module in this mode, whatever its metadata says.
    #[arg(long, short = 'e', value_enum, value_name = "MODE")]
    execution_mode: Option<Mode>,
    #[command(flatten)]
    deadline: DeadlineOptions,
    #[command(flatten)]
    cache: ModuleCacheOptions,
    #[command(flatten)]
    verification: VerificationOptions,
    /// Run the policy without verifying its signatures (development only; warns on every use).
    #[arg(long, conflicts_with_all = ["key", "verification_config", "certificate_identity", "github_owner"])]
    insecure_skip_verification: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    /// A registry policy the store holds is run from there (and kept there once downloaded); one loaded from
    /// palisade's archive is verified and run from there, with no registry.
    #[command(flatten)]
    store: StoreOptions,
    #[command(flatten)]
    capabilities: CapabilityOptions,
    #[command(flatten)]
    session: SessionOptions,
}

/// Kubewarden's execution modes, as `--execution-mode` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// The waPC protocol (kwctl's `kubewarden` works too).
    #[value(alias = "kubewarden")]
    KubewardenWapc,
    /// A WASI command.
    Wasi,
    /// An OPA Rego policy.
    Opa,
    /// A Gatekeeper Rego policy.
    Gatekeeper,
}

impl From<Mode> for ExecutionMode {
    fn from(mode: Mode) -> ExecutionMode {
        match mode {
            Mode::KubewardenWapc => ExecutionMode::KubewardenWapc,
            Mode::Wasi => ExecutionMode::Wasi,
            Mode::Opa => ExecutionMode::Opa,
            Mode::Gatekeeper => ExecutionMode::Gatekeeper,
        }
    }
}

/// A policy through the gate and compiled, with the request and settings to evaluate.
pub struct LoadedEvaluation {
    /// The compiled policy.
    pub policy: Policy,
    /// The AdmissionReview to answer.
    pub review: AdmissionReview,
    /// The policy's settings.
    pub settings: Value,
    /// Whether the policy's metadata lets it return a mutated object.
    pub allowed_to_mutate: bool,
}

/// How many evaluations a policy is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `run`: a handful of instances, where reserving a pool of them would cost more than it saves.
    Once,
    /// `bench`: many fresh instances, taken from wasmtime's pool.
    Repeated,
}

impl EvaluationOptions {
    /// Reads the request and settings, admits the policy (verifying it unless told not to), picks its
    /// execution mode and compiles it on an engine fit for `workload`.
    pub fn load(&self, workload: Workload) -> anyhow::Result<LoadedEvaluation> {
        let source = PolicyRef::parse(&self.policy).map_err(usage_error)?;
        let request = read_input(&self.request_path)?;
        let settings = match (&self.settings_path, &self.settings_json) {
            (Some(path), _) => read_settings(path)?,
            (None, Some(text)) => serde_json::from_str(text)
                .map_err(|err| UsageError(format!("--settings-json: not JSON: {err}")))?,
            (None, None) => Value::Object(serde_json::Map::new()),
        };
        let admission = self.verification.admission_for(
            &source,
            self.insecure_skip_verification,
            &self.policy,
        )?;
        let (remote, store) = self.fetching()?;
        let module = block_on(
            format!("fetching {source}"),
            gate::admit(&remote, &source, &admission, store.as_ref()),
        )??;

        let metadata = inspect(module.bytes())
            .with_context(|| self.policy.clone())?
            .metadata;
        let mode = match (self.execution_mode, &metadata) {
            (Some(mode), _) => mode.into(),
            (None, Some(metadata)) => metadata.execution_mode,
            // Without metadata a Rego module could be either Rego mode: the user must say which.
            (None, None) => match detect_abi(module.bytes()) {
                Ok(Some(DetectedAbi::Rego)) => {
                    return Err(UsageError(format!(
                        "{}: the module has no metadata and {}: pass --execution-mode opa or gatekeeper",
                        self.policy,
                        DetectedAbi::Rego.evidence()
                    ))
                    .into());
                }
                _ => ExecutionMode::default(),
            },
        };
        let raw = self.raw
            || metadata
                .as_ref()
                .is_some_and(|metadata| metadata.policy_type == PolicyType::Raw);
        if raw && mode == ExecutionMode::Gatekeeper {
            return Err(UsageError(format!(
                "{}: a Gatekeeper policy evaluates Kubernetes requests only, not raw ones",
                self.policy
            ))
            .into());
        }
        let form = if raw {
            RequestForm::Raw
        } else {
            RequestForm::Kubernetes
        };
        let review = AdmissionReview::from_request_document(&request, form)
            .with_context(|| self.request_path.display().to_string())
            .map_err(usage_error)?;
        let mut engine = Engine::new(EngineConfig {
            pooling: workload == Workload::Repeated,
            ..self.deadline.engine_config()
        })?;
        if let Some(cache) = self.cache.module_cache()? {
            engine = engine.with_cache(Arc::new(cache));
        }
        let host_calls = self.capabilities.for_policy(
            metadata.as_ref(),
            &remote,
            Some(self.verification.trust_root()?),
            &self.session,
        )?;
        let policy = Policy::load_with(&engine, &mode.to_string(), &module, host_calls)
            .with_context(|| format!("loading {} ({mode})", self.policy))?;
        Ok(LoadedEvaluation {
            policy,
            review,
            settings,
            // A policy whose metadata says it does not mutate may not return a mutated object (policy-server
            // would refuse it); one without metadata may, as kwctl lets it.
            allowed_to_mutate: metadata.is_none_or(|metadata| metadata.mutating),
        })
    }
}

impl EvaluationOptions {
    /// What `run` needs to evaluate a policy group resource (the policy argument): the request to
    /// answer, and how the group's members are fetched, verified (each like any policy) and run.
    /// Flags about one module (settings, execution mode, raw requests, sessions) are refused: the
    /// resource gives each member its settings, and the members' metadata their modes.
    pub fn group_start(&self) -> anyhow::Result<(StartOptions, AdmissionReview)> {
        let single = [
            (self.raw, "--raw"),
            (self.settings_path.is_some(), "--settings-path"),
            (self.settings_json.is_some(), "--settings-json"),
            (self.execution_mode.is_some(), "--execution-mode"),
            (self.session.in_use(), "a host capabilities session"),
        ];
        if let Some((_, flag)) = single.iter().find(|(given, _)| *given) {
            return Err(UsageError(format!(
                "{}: {flag} cannot be used with a policy group (its resource gives each member its settings)",
                self.policy
            ))
            .into());
        }
        let request = read_input(&self.request_path)?;
        let review = AdmissionReview::from_request_document(&request, RequestForm::Kubernetes)
            .with_context(|| self.request_path.display().to_string())
            .map_err(usage_error)?;
        let (remote, store) = self.fetching()?;
        let options = StartOptions {
            remote,
            store,
            admission: self
                .verification
                .admission(self.insecure_skip_verification, &self.policy)?,
            engine: self.deadline.engine_config(),
            cache: self.cache.module_cache()?.map(Arc::new),
            precompiled: None,
            continue_on_errors: false,
            workers: 1,
            isolation: IsolationLimits::default(),
            allowed_capabilities: self.capabilities.allowed().to_vec(),
            context_resources: self.capabilities.context_resources()?,
        };
        Ok((options, review))
    }
}

impl EvaluationOptions {
    /// The registry client and the store, if it exists: a registry policy the store holds is run from there
    /// (its signatures still checked), and one it does not is kept there once downloaded, as `palisade pull`
    /// would.
    fn fetching(&self) -> anyhow::Result<(Remote, Option<gate::LocalStore>)> {
        let store = self.store.existing()?;
        let remote = self.registry.remote_with(store.clone())?;
        let store = store.map(|store| gate::LocalStore {
            store,
            refresh: false,
        });
        Ok((remote, store))
    }
}

/// How long one evaluation may run (`--timeout`), for `run`, `bench` and `policy-server` alike.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DeadlineOptions {
    /// The per-evaluation deadline.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

impl DeadlineOptions {
    /// The engine's configuration with this deadline, and the defaults for the rest.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            deadline: self.timeout,
            ..EngineConfig::default()
        }
    }
}

/// Where compiled modules are kept, for `run`, `bench` and `policy-server` alike.
#[derive(Debug, Clone, clap::Args)]
pub struct ModuleCacheOptions {
    /// Keep compiled modules in this folder: a module is compiled once and reused by later runs (keyed by
    /// the module, the wasmtime version and the engine's configuration)
    /// [default: palisade/modules in the user's cache folder: $XDG_CACHE_HOME, else ~/.cache].
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile modules afresh and keep nothing (kwctl's `--disable-wasmtime-cache` works too).
    #[arg(long, alias = "disable-wasmtime-cache")]
    disable_cache: bool,
}

impl ModuleCacheOptions {
    /// The cache of compiled modules: `--cache-dir`, else the default folder, none with `--disable-cache`.
    /// A default folder that cannot be made costs a warning and a compilation, not the run.
    pub fn module_cache(&self) -> anyhow::Result<Option<ModuleCache>> {
        if self.disable_cache {
            return Ok(None);
        }
        if let Some(dir) = &self.cache_dir {
            return Ok(Some(ModuleCache::new(dir)?));
        }
        let Some(dir) = environment::module_cache() else {
            return Ok(None);
        };
        match ModuleCache::new(&dir) {
            Ok(cache) => Ok(Some(cache)),
            Err(err) => {
                eprintln!("warning: compiling without a module cache: {err}");
                Ok(None)
            }
        }
    }
}

impl LoadedEvaluation {
    /// Asks the policy whether its settings are valid, before any evaluation, as kwctl does: settings the
    /// policy refuses, or a policy that fails while checking them, end the command (exit 1) with the
    /// policy's own message.
    pub fn validate_settings(&self) -> anyhow::Result<()> {
        let message = match self.policy.validate_settings(&self.settings) {
            Ok(verdict) if verdict.valid => return Ok(()),
            Ok(verdict) => verdict
                .message
                .unwrap_or_else(|| "the policy gave no reason".into()),
            Err(evaluator::EvaluatorError::Guest { message, .. }) => message,
            Err(err) if err.is_evaluation_failure() => err.to_string(),
            Err(err) => return Err(err).context("validating the settings"),
        };
        bail!("Provided settings are not valid: {message}")
    }
}

/// The bytes of `path`, or of standard input for `-`.
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|err| UsageError(format!("reading stdin: {err}")))?;
        return Ok(bytes);
    }
    std::fs::read(path)
        .map_err(|err| UsageError(format!("reading {}: {err}", path.display())).into())
}

/// Settings from a JSON or YAML file.
fn read_settings(path: &Path) -> anyhow::Result<Value> {
    let text = read_input(path)?;
    serde_norway::from_slice(&text)
        .map_err(|err| UsageError(format!("{}: not JSON or YAML: {err}", path.display())).into())
}
