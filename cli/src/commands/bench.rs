//! `palisade bench`: measure a policy's evaluation latency on one admission request.

use std::time::Duration;

use anyhow::Context;
use evaluator::ValidationRequest;
use evaluator::bench::{BenchOptions, BenchReport, Budget, bench};
use serde::Serialize;

use crate::evaluation_options::{EvaluationOptions, LoadedEvaluation, Workload};
use crate::output::{OutputFormat, OutputOptions, print_structured};

/// Measure how fast a policy evaluates an AdmissionReview: a warm-up, then evaluations each in
/// a fresh instance (as `run` and the server do), timed one by one; prints the p50 and p99
/// latency and the evaluations per second. `--reuse-instance` measures what `kwctl bench` does
/// instead: one instance kept across the evaluations.
///
/// The policy is loaded and verified as `palisade run` does. Exit 1 when the policy fails an
/// evaluation (the benchmark stops there) or rejects its settings.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    evaluation: EvaluationOptions,
    /// How many evaluations to measure [default: 1000].
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    iterations: Option<u64>,
    /// Measure for this long instead (e.g. 5s; a bare number is seconds, as kwctl's
    /// `--measurement-time`, which works too, takes it).
    #[arg(
        long,
        alias = "measurement-time",
        value_name = "DURATION",
        value_parser = parse_duration_or_seconds
    )]
    duration: Option<Duration>,
    /// Evaluations before measuring, not timed.
    #[arg(long, value_name = "N", default_value_t = 100)]
    warmup: u64,
    /// Keep one instance across the evaluations, as `kwctl bench` does (Rego and waPC policies;
    /// a WASI policy runs as a program each time either way), instead of a fresh one each.
    #[arg(long)]
    reuse_instance: bool,
    #[command(flatten)]
    output: OutputOptions,
    #[command(flatten)]
    kwctl_sampling: KwctlSampling,
}

/// kwctl bench's sampling settings: taken, so that its command lines run, and ignored with a
/// warning, since palisade times every evaluation.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "kwctl's sampling settings (ignored: every evaluation is timed)")]
struct KwctlSampling {
    /// kwctl's warm-up time; here --warmup N evaluations.
    #[arg(long, value_name = "SECONDS")]
    warm_up_time: Option<u64>,
    /// kwctl's number of samples; here --iterations N or --duration.
    #[arg(long, value_name = "NUM")]
    num_samples: Option<u64>,
    /// kwctl's number of resamples.
    #[arg(long, value_name = "NUM")]
    num_resamples: Option<u64>,
    /// kwctl's results folder; here --output json.
    #[arg(long)]
    dump_results_to_disk: bool,
}

impl KwctlSampling {
    /// Says, on standard error, which of kwctl's settings were given and are ignored.
    fn warn_ignored(&self) {
        let given = [
            ("--warm-up-time", self.warm_up_time.is_some()),
            ("--num-samples", self.num_samples.is_some()),
            ("--num-resamples", self.num_resamples.is_some()),
            ("--dump-results-to-disk", self.dump_results_to_disk),
        ];
        for (flag, _) in given.iter().filter(|(_, given)| *given) {
            eprintln!(
                "warning: {flag} (kwctl's sampling) is ignored: palisade bench times every evaluation (see --iterations, --duration, --warmup)"
            );
        }
    }
}

/// A duration such as `5s` or `1m`, or a bare number of seconds (kwctl's `--measurement-time`).
fn parse_duration_or_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text).map_err(|err| err.to_string()),
    }
}

#[derive(Serialize)]
struct Printed<'a> {
    policy: &'a str,
    #[serde(flatten)]
    report: &'a BenchReport,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    args.kwctl_sampling.warn_ignored();
    let loaded = args.evaluation.load(Workload::Repeated)?;
    loaded.validate_settings()?;
    let LoadedEvaluation {
        policy,
        review,
        settings,
        ..
    } = loaded;

    let options = BenchOptions {
        budget: match (args.iterations, args.duration) {
            (_, Some(duration)) => Budget::Duration(duration),
            (Some(count), None) => Budget::Iterations(count),
            (None, None) => BenchOptions::default().budget,
        },
        warmup: args.warmup,
        reuse_instance: args.reuse_instance,
    };
    let request = ValidationRequest {
        request: review.request,
        settings,
    };
    let report = bench(&policy, &request, &options).context("the policy failed an evaluation")?;
    match args.output.format {
        OutputFormat::Text => print_text(&args.evaluation.policy, &report),
        format => print_structured(
            format,
            &Printed {
                policy: &args.evaluation.policy,
                report: &report,
            },
        )?,
    }
    Ok(())
}

fn print_text(policy: &str, report: &BenchReport) {
    let latency = &report.latency_micros;
    let instances = if report.reused_instance {
        "one instance reused"
    } else {
        "a fresh instance each"
    };
    println!(
        "{policy}: {} evaluations after {} warm-up, {instances}",
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
