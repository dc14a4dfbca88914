//! `palisade bench`: measure a policy's evaluation latency on one admission request.

use std::time::Duration;

use anyhow::Context;
use evaluator::ValidationRequest;
use evaluator::bench::{BenchOptions, BenchReport, Budget, bench};
use serde::Serialize;

use crate::evaluation_options::{EvaluationOptions, LoadedEvaluation};
use crate::output::{OutputFormat, print_structured};

/// Measure how fast a policy evaluates an AdmissionReview: a warm-up, then evaluations each in
/// a fresh instance (as `run` and the server do), timed one by one; prints the p50 and p99
/// latency and the evaluations per second.
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
    /// Measure for this long instead (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Evaluations before measuring, not timed.
    #[arg(long, value_name = "N", default_value_t = 100)]
    warmup: u64,
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
    let loaded = args.evaluation.load()?;
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
    };
    let request = ValidationRequest {
        request: review.request,
        settings,
    };
    let report = bench(&policy, &request, &options).context("the policy failed an evaluation")?;
    match args.output {
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
