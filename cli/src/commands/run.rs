//! `palisade run`: evaluate a policy on one admission request, locally.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use artifact::inspect::inspect;
use artifact::metadata::ExecutionMode;
use evaluator::gate::{self, PolicySource};
use evaluator::{
    AdmissionReview, Engine, EngineConfig, ModuleCache, Policy, ValidationRequest,
    ValidationResponse,
};
use serde_json::Value;

use super::UsageError;
use crate::capability_options::CapabilityOptions;
use crate::options::RegistryOptions;
use crate::output::{OutputFormat, print_structured};
use crate::progress::block_on;
use crate::verification_options::VerificationOptions;

/// Evaluate a policy on an AdmissionReview and print the AdmissionReview response.
///
/// The policy is a file or a reference (registry://…, HOST/REPO:TAG, oci-layout://…). A policy from a
/// registry runs only once its signatures meet the verification flags (fail closed: without any, exit 2),
/// and only the verified module runs; with verification flags, a file is verified by the Sigstore bundle next
/// to it (FILE.sigstore.json). --insecure-skip-verification skips verification, for development, with a warning.
/// The execution mode comes from `--execution-mode`, else the module's metadata
/// (`kubewarden-wapc` when it has none).
/// A policy rejecting the request is a result (exit 0); exit 1 when the policy cannot be verified or run or
/// rejects its settings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: a Wasm module file, registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST], HOST/REPO:TAG, or
    /// oci-layout://DIR[:TAG].
    #[arg(value_name = "REF|FILE")]
    policy: String,
    /// The AdmissionReview (admission.k8s.io/v1) to evaluate, as JSON; `-` for stdin.
    #[arg(long, short = 'r', visible_alias = "request-path", value_name = "FILE")]
    request: PathBuf,
    /// The policy's settings, as JSON or YAML (default: `{}`).
    #[arg(
        long,
        short = 's',
        visible_alias = "settings-path",
        value_name = "FILE",
        conflicts_with = "settings_json"
    )]
    settings: Option<PathBuf>,
    /// The policy's settings, inline, as JSON.
    #[arg(long, value_name = "JSON")]
    settings_json: Option<String>,
    /// Run the module in this mode, whatever its metadata says.
    #[arg(long, value_enum, value_name = "MODE")]
    execution_mode: Option<Mode>,
    /// The per-evaluation deadline.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: std::time::Duration,
    /// Keep compiled modules in this folder (compiled once, reused by later runs).
    #[arg(long, value_name = "DIR", env = "PALISADE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    #[command(flatten)]
    verification: VerificationOptions,
    /// Run the policy without verifying its signatures (development only; warns on every use).
    #[arg(long, conflicts_with_all = ["key", "verification_config", "certificate_identity", "github_owner"])]
    insecure_skip_verification: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    capabilities: CapabilityOptions,
    /// How to print the result: a summary (text) or the AdmissionReview response.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// Kubewarden's execution modes, as `--execution-mode` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Mode {
    /// The waPC protocol.
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

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = PolicySource::parse(&args.policy).map_err(|err| UsageError(err.to_string()))?;
    let request = read_input(&args.request)?;
    let review = AdmissionReview::from_json(&request)
        .map_err(|err| UsageError(format!("{}: {err}", args.request.display())))?;
    let settings = match (&args.settings, &args.settings_json) {
        (Some(path), _) => read_settings(path)?,
        (None, Some(text)) => serde_json::from_str(text)
            .map_err(|err| UsageError(format!("--settings-json: not JSON: {err}")))?,
        (None, None) => Value::Object(serde_json::Map::new()),
    };
    let admission =
        args.verification
            .admission_for(&source, args.insecure_skip_verification, &args.policy)?;
    let remote = args.registry.remote()?;
    let module = block_on(
        format!("fetching {source}"),
        gate::admit(&remote, &source, &admission),
    )??;

    let report = inspect(module.bytes()).with_context(|| args.policy.clone())?;
    let mode = match args.execution_mode {
        Some(mode) => mode.into(),
        None => report
            .metadata
            .as_ref()
            .map(|metadata| metadata.execution_mode)
            .unwrap_or_default(),
    };
    // Only a policy whose metadata says it mutates may return a mutated object.
    let allowed_to_mutate = report
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.mutating);
    let mut engine = Engine::new(EngineConfig {
        deadline: args.timeout,
        ..EngineConfig::default()
    })?;
    if let Some(dir) = &args.cache_dir {
        engine = engine.with_cache(Arc::new(ModuleCache::new(dir)?));
    }
    let host_calls = args
        .capabilities
        .for_policy(report.metadata.as_ref(), &remote)?;
    let policy = Policy::load_with(&engine, &mode.to_string(), &module, host_calls)
        .with_context(|| format!("loading {} ({mode})", args.policy))?;
    // A policy that misbehaves while validating its settings costs this request (500), like
    // one that misbehaves in `validate`; one that answers "invalid" is a configuration error.
    let answer = match policy.validate_settings(&settings) {
        Ok(verdict) if !verdict.valid => {
            return Err(anyhow!(
                "the policy rejects its settings: {}",
                verdict.message.as_deref().unwrap_or("no reason given")
            ));
        }
        Ok(_) => policy.evaluate(&ValidationRequest {
            request: review.request.clone(),
            settings,
        }),
        Err(err) if err.is_evaluation_failure() => ValidationResponse {
            message: Some(format!("validating the settings: {err}")),
            ..ValidationResponse::from_failure(&err)
        },
        Err(err) => return Err(err).context("validating the settings"),
    };
    let review_response = review.response(&answer, allowed_to_mutate);
    match args.output {
        OutputFormat::Text => print_text(&args.policy, &review.uid, &review_response["response"]),
        format => print_structured(format, &review_response)?,
    }
    Ok(())
}

/// A summary of the AdmissionReview `response` for people.
fn print_text(policy: &str, uid: &str, response: &Value) {
    let verdict = if response["allowed"] == Value::Bool(true) {
        "accepted"
    } else {
        "rejected"
    };
    println!("{verdict}: {policy} (uid {uid})");
    if let Some(code) = response["status"].get("code") {
        println!("  code     {code}");
    }
    if let Some(message) = response["status"].get("message").and_then(Value::as_str) {
        println!("  message  {message}");
    }
    for warning in response["warnings"].as_array().into_iter().flatten() {
        println!("  warning  {}", warning.as_str().unwrap_or_default());
    }
    if let Some(patch) = response.get("patch").and_then(Value::as_str) {
        println!("  patch    {patch} (JSONPatch, base64)");
    }
}

pub(super) fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|err| UsageError(format!("reading stdin: {err}")))?;
        return Ok(bytes);
    }
    std::fs::read(path)
        .map_err(|err| UsageError(format!("reading {}: {err}", path.display())).into())
}

pub(super) fn read_settings(path: &Path) -> anyhow::Result<Value> {
    let text = read_input(path)?;
    serde_norway::from_slice(&text)
        .map_err(|err| UsageError(format!("{}: not JSON or YAML: {err}", path.display())).into())
}
