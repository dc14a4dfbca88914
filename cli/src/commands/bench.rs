//! `palisade bench`: measure a policy's evaluation latency on one admission request.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use artifact::inspect::inspect;
use evaluator::bench::{BenchOptions, BenchReport, Budget, bench};
use evaluator::gate::{self, PolicySource};
use evaluator::{AdmissionReview, Engine, EngineConfig, Policy, ValidationRequest};
use serde::Serialize;
use serde_json::Value;

use super::UsageError;
use super::run::{Mode, read_input, read_settings};
use crate::capability_options::CapabilityOptions;
use crate::options::RegistryOptions;
use crate::output::{OutputFormat, print_structured};
use crate::progress::block_on;
use crate::verification_options::VerificationOptions;

/// Measure how fast a policy evaluates an AdmissionReview: a warm-up, then evaluations each in
/// a fresh instance (as `run` and the server do), timed one by one; prints the p50 and p99
/// latency and the evaluations per second.
///
/// The policy is loaded and verified as `palisade run` does. Exit 1 when the policy fails an
/// evaluation (the benchmark stops there) or rejects its settings.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: a Wasm module file, registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST],
    /// HOST/REPO:TAG, or oci-layout://DIR[:TAG].
    #[arg(value_name = "REF|FILE")]
    policy: String,
    /// The AdmissionReview (admission.k8s.io/v1) to evaluate, as JSON; `-` for stdin.
    #[arg(long, short = 'r', visible_alias = "request", value_name = "FILE")]
    request_path: PathBuf,
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
    /// How many evaluations to measure [default: 1000].
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    iterations: Option<u64>,
    /// Measure for this long instead (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Run the module in this mode, whatever its metadata says.
    #[arg(long, value_enum, value_name = "MODE")]
    execution_mode: Option<Mode>,
    /// Evaluations before measuring, not timed.
    #[arg(long, value_name = "N", default_value_t = 100)]
    warmup: u64,
    /// The per-evaluation deadline.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    verification: VerificationOptions,
    /// Run the policy without verifying its signatures (development only; warns on every use).
    #[arg(long, conflicts_with_all = ["key", "verification_config", "certificate_identity", "github_owner"])]
    insecure_skip_verification: bool,
    #[command(flatten)]
    registry: RegistryOptions,
    #[command(flatten)]
    capabilities: CapabilityOptions,
    /// How to print the result.
    #[arg(short, long, value_enum, default_value_t)]
    output: OutputFormat,
}

#[derive(Serialize)]
struct Printed<'a> {
    policy: &'a str,
    #[serde(flatten)]
    report: &'a BenchReport,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let source = PolicySource::parse(&args.policy).map_err(|err| UsageError(err.to_string()))?;
    let review = AdmissionReview::from_json(&read_input(&args.request_path)?)
        .map_err(|err| UsageError(format!("{}: {err}", args.request_path.display())))?;
    let settings = match (&args.settings_path, &args.settings_json) {
        (Some(path), _) => read_settings(path)?,
        (None, Some(text)) => serde_json::from_str(text)
            .map_err(|err| UsageError(format!("--settings-json: not JSON: {err}")))?,
        (None, None) => Value::Object(serde_json::Map::new()),
    };
    // As `run`: a local file without verification flags is a development run.
    let unverified_file = matches!(source, PolicySource::File(_)) && args.verification.is_empty();
    let admission = args.verification.admission(
        args.insecure_skip_verification || unverified_file,
        &args.policy,
    )?;
    let remote = args.registry.remote()?;
    let module = block_on(
        format!("fetching {source}"),
        gate::admit(&remote, &source, &admission),
    )??;
    let metadata = inspect(module.bytes())
        .with_context(|| args.policy.clone())?
        .metadata;
    let mode = match (args.execution_mode, &metadata) {
        (Some(mode), _) => mode.into(),
        (None, Some(metadata)) => metadata.execution_mode,
        (None, None) => Default::default(),
    };
    let engine = Engine::new(EngineConfig {
        deadline: args.timeout,
        ..EngineConfig::default()
    })?;
    let host_calls = args.capabilities.for_policy(metadata.as_ref(), &remote)?;
    let policy = Policy::load_with(&engine, &mode.to_string(), &module, host_calls)
        .with_context(|| format!("loading {} ({mode})", args.policy))?;
    let verdict = policy
        .validate_settings(&settings)
        .context("validating the settings")?;
    if !verdict.valid {
        return Err(anyhow!(
            "the policy rejects its settings: {}",
            verdict.message.as_deref().unwrap_or("no reason given")
        ));
    }

    let options = BenchOptions {
        budget: match (args.iterations, args.duration) {
            (_, Some(duration)) => Budget::Duration(duration),
            (Some(count), None) => Budget::Iterations(count),
            (None, None) => BenchOptions::default().budget,
        },
        warmup: args.warmup,
    };
    let request = ValidationRequest {
        request: review.request,
        settings,
    };
    let report = bench(&policy, &request, &options).context("the policy failed an evaluation")?;
    match args.output {
        OutputFormat::Text => print_text(&args.policy, &report),
        format => print_structured(
            format,
            &Printed {
                policy: &args.policy,
                report: &report,
            },
        )?,
    }
    Ok(())
}

fn print_text(policy: &str, report: &BenchReport) {
    let latency = &report.latency_micros;
    println!(
        "{policy}: {} evaluations after {} warm-up, a fresh instance each",
        report.iterations, report.warmup
    );
    println!("  p50      {:.1} µs", latency.p50);
    println!("  p99      {:.1} µs", latency.p99);
    println!("  mean     {:.1} µs", latency.mean);
    println!("  min/max  {:.1} µs / {:.1} µs", latency.min, latency.max);
    println!(
        "  rate     {:.0} evaluations/s",
        report.evaluations_per_second
    );
    println!(
        "  answers  {} accepted, {} rejected",
        report.accepted, report.rejected
    );
}
