//! Measures a policy's evaluation latency (`palisade bench`): a warm-up, then evaluations, each
//! in a fresh instance as in production, timed one by one. On request, the evaluations share one
//! instance instead, as `kwctl bench` measures them.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::admission::{ValidationRequest, ValidationResponse};
use crate::error::EvaluatorError;
use crate::opa::ReusedOpaInstance;
use crate::policy::Policy;
use crate::wapc::ReusedWapcInstance;

/// How long to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Exactly this many evaluations.
    Iterations(u64),
    /// Evaluations until this much time has passed (at least one).
    Duration(Duration),
}

/// What to measure: the budget and the warm-up evaluations before it (not measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    /// How many evaluations, or for how long.
    pub budget: Budget,
    /// Evaluations run first, untimed (caches, page faults, pool slots).
    pub warmup: u64,
    /// Evaluate in one instance kept across evaluations, as `kwctl bench` does, instead of a
    /// fresh one each time. WASI policies run as a program for each evaluation either way.
    pub reuse_instance: bool,
}

impl Default for BenchOptions {
    /// 1000 evaluations after 100 of warm-up.
    fn default() -> Self {
        BenchOptions {
            budget: Budget::Iterations(1000),
            warmup: 100,
            reuse_instance: false,
        }
    }
}

/// Latency figures in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// The median.
    pub p50: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The mean.
    pub mean: f64,
    /// The fastest evaluation.
    pub min: f64,
    /// The slowest evaluation.
    pub max: f64,
}

/// The outcome of a benchmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    /// Evaluations measured.
    pub iterations: u64,
    /// Evaluations run before measuring.
    pub warmup: u64,
    /// Whether the evaluations shared one instance (else each had a fresh one).
    pub reused_instance: bool,
    /// Wall-clock time of the measured evaluations, in seconds.
    pub elapsed_seconds: f64,
    /// Measured evaluations per second of wall-clock time.
    pub evaluations_per_second: f64,
    /// Latency of one evaluation (instance, validate, answer parsed), in microseconds.
    pub latency_micros: Latency,
    /// How many measured evaluations accepted the request.
    pub accepted: u64,
    /// How many rejected it.
    pub rejected: u64,
}

/// Evaluates `request` with `policy` as `options` say and reports the latency; the first
/// evaluation that fails (trap, timeout, malformed answer) stops the benchmark with its error.
pub fn bench(
    policy: &Policy,
    request: &ValidationRequest,
    options: &BenchOptions,
) -> Result<BenchReport, EvaluatorError> {
    let mut instances = Instances::new(policy, options.reuse_instance)?;
    for _ in 0..options.warmup {
        instances.validate(request)?;
    }
    let mut samples: Vec<Duration> = Vec::new();
    let mut accepted = 0;
    let started = Instant::now();
    loop {
        let done = match options.budget {
            Budget::Iterations(count) => samples.len() as u64 >= count,
            Budget::Duration(limit) => !samples.is_empty() && started.elapsed() >= limit,
        };
        if done {
            break;
        }
        let before = Instant::now();
        let answer = instances.validate(request)?;
        samples.push(before.elapsed());
        accepted += u64::from(answer.accepted);
    }
    let elapsed = started.elapsed();
    let mut report = report(samples, elapsed, options.warmup, accepted);
    report.reused_instance = !matches!(instances, Instances::Fresh(_));
    Ok(report)
}

/// Where the benchmark's evaluations run.
enum Instances<'a> {
    /// A fresh instance each time.
    Fresh(&'a Policy),
    /// One Rego instance kept across evaluations.
    Rego(Box<ReusedOpaInstance>),
    /// One waPC instance kept across evaluations.
    Wapc(Box<ReusedWapcInstance>),
}

impl<'a> Instances<'a> {
    fn new(policy: &'a Policy, reuse: bool) -> Result<Instances<'a>, EvaluatorError> {
        match (reuse, policy) {
            (true, Policy::Opa(policy)) => Ok(Instances::Rego(Box::new(policy.reused_instance()?))),
            (true, Policy::Wapc(policy)) => {
                Ok(Instances::Wapc(Box::new(policy.reused_instance()?)))
            }
            _ => Ok(Instances::Fresh(policy)),
        }
    }

    fn validate(
        &mut self,
        request: &ValidationRequest,
    ) -> Result<ValidationResponse, EvaluatorError> {
        match self {
            Instances::Fresh(policy) => policy.validate(request),
            Instances::Rego(instance) => instance.validate(request),
            Instances::Wapc(instance) => instance.validate(request),
        }
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The nearest-rank percentile `p` (0–100) of sorted samples.
fn percentile(sorted: &[Duration], p: u64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() as u64 * p).div_ceil(100).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
    sorted[index.min(sorted.len() - 1)]
}

fn report(
    mut samples: Vec<Duration>,
    elapsed: Duration,
    warmup: u64,
    accepted: u64,
) -> BenchReport {
    samples.sort_unstable();
    let iterations = samples.len() as u64;
    let total: Duration = samples.iter().sum();
    let mean = if samples.is_empty() {
        Duration::ZERO
    } else {
        total / u32::try_from(samples.len()).unwrap_or(u32::MAX)
    };
    let seconds = elapsed.as_secs_f64();
    BenchReport {
        iterations,
        warmup,
        reused_instance: false,
        elapsed_seconds: seconds,
        evaluations_per_second: if seconds > 0.0 {
            iterations as f64 / seconds
        } else {
            0.0
        },
        latency_micros: Latency {
            p50: micros(percentile(&samples, 50)),
            p99: micros(percentile(&samples, 99)),
            mean: micros(mean),
            min: micros(samples.first().copied().unwrap_or_default()),
            max: micros(samples.last().copied().unwrap_or_default()),
        },
        accepted,
        rejected: iterations - accepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&samples, 50), Duration::from_micros(50));
        assert_eq!(percentile(&samples, 99), Duration::from_micros(99));
        assert_eq!(
            percentile(&[Duration::from_micros(7)], 99),
            Duration::from_micros(7)
        );
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn the_report_counts_and_rates() {
        let samples = vec![
            Duration::from_micros(30),
            Duration::from_micros(10),
            Duration::from_micros(20),
            Duration::from_micros(40),
        ];
        let report = report(samples, Duration::from_millis(2), 5, 3);
        assert_eq!(report.iterations, 4);
        assert_eq!(report.rejected, 1);
        assert_eq!(report.evaluations_per_second, 2000.0);
        assert_eq!(report.latency_micros.p50, 20.0);
        assert_eq!(report.latency_micros.min, 10.0);
        assert_eq!(report.latency_micros.max, 40.0);
        assert_eq!(report.latency_micros.mean, 25.0);
    }

    fn policy(fixture: &str) -> Policy {
        let engine = crate::engine::Engine::new(crate::engine::EngineConfig {
            pooling: false,
            ..crate::engine::EngineConfig::default()
        })
        .unwrap_or_else(|err| panic!("engine: {err}"));
        Policy::Wapc(
            engine
                .load_wapc(&crate::gate::AdmittedModule::insecure(
                    fixture,
                    test_support::compile_fixture(fixture),
                ))
                .unwrap_or_else(|err| panic!("{fixture}: {err}")),
        )
    }

    fn request() -> ValidationRequest {
        ValidationRequest {
            request: serde_json::json!({"uid": "1"}),
            settings: serde_json::json!({}),
        }
    }

    #[test]
    fn measures_the_evaluations_asked_for() -> Result<(), EvaluatorError> {
        let options = BenchOptions {
            budget: Budget::Iterations(20),
            warmup: 3,
            ..BenchOptions::default()
        };
        let report = bench(&policy("wapc-accept"), &request(), &options)?;
        assert_eq!((report.iterations, report.warmup), (20, 3));
        assert_eq!((report.accepted, report.rejected), (20, 0));
        assert!(report.latency_micros.min <= report.latency_micros.p50);
        assert!(report.latency_micros.p50 <= report.latency_micros.p99);
        let rejected = bench(&policy("wapc-reject"), &request(), &options)?;
        assert_eq!(rejected.rejected, 20);
        let timed = BenchOptions {
            budget: Budget::Duration(Duration::ZERO),
            warmup: 0,
            ..BenchOptions::default()
        };
        assert_eq!(
            bench(&policy("wapc-accept"), &request(), &timed)?.iterations,
            1
        );
        Ok(())
    }

    #[test]
    fn evaluations_share_one_rego_instance_on_request() -> Result<(), EvaluatorError> {
        let engine = crate::engine::Engine::new(crate::engine::EngineConfig::default())?;
        let module = crate::gate::AdmittedModule::insecure(
            "opa-stateful",
            test_support::compile_fixture("opa-stateful"),
        );
        let policy = Policy::load(&engine, "opa", &module)?;
        let options = BenchOptions {
            budget: Budget::Iterations(4),
            warmup: 1,
            reuse_instance: true,
        };
        let report = bench(&policy, &request(), &options)?;
        assert!(report.reused_instance);
        assert_eq!((report.iterations, report.rejected), (4, 4));
        let fresh = bench(&policy, &request(), &BenchOptions::default())?;
        assert!(!fresh.reused_instance);
        Ok(())
    }

    #[test]
    fn evaluations_share_one_wapc_instance_on_request() -> Result<(), EvaluatorError> {
        let options = BenchOptions {
            budget: Budget::Iterations(4),
            warmup: 1,
            reuse_instance: true,
        };
        let report = bench(&policy("wapc-stateful"), &request(), &options)?;
        assert!(report.reused_instance);
        assert_eq!((report.iterations, report.rejected), (4, 4));
        let fresh = bench(
            &policy("wapc-stateful"),
            &request(),
            &BenchOptions::default(),
        )?;
        assert_eq!((fresh.reused_instance, fresh.rejected), (false, 0));
        Ok(())
    }

    #[test]
    fn a_failing_policy_stops_the_benchmark_with_its_error() {
        let failed = bench(&policy("wapc-trap"), &request(), &BenchOptions::default());
        assert!(matches!(failed, Err(EvaluatorError::Trap(_))), "{failed:?}");
    }
}
