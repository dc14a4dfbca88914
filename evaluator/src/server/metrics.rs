//! Per-policy evaluation metrics, recorded with the Prometheus project's `prometheus-client` and
//! served at `/metrics`: a latency histogram and the number of evaluations that accepted,
//! rejected or failed.

use std::time::Duration;

use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Upper bounds of the latency histogram's buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
];

/// How one evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The policy accepted the request.
    Accepted,
    /// The policy rejected the request.
    Rejected,
    /// The policy failed (timeout, trap, out of memory, bad answer) or could not be loaded.
    Error,
}

impl Outcome {
    const ALL: [Outcome; 3] = [Outcome::Accepted, Outcome::Rejected, Outcome::Error];

    /// The `outcome` label's value.
    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Error => "error",
        }
    }
}

/// The labels of an evaluation count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyAndOutcome {
    policy: String,
    outcome: &'static str,
}

/// The label of an evaluation latency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyLabel {
    policy: String,
}

/// Metrics of every policy since the server started.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    evaluations: Family<PolicyAndOutcome, Counter>,
    latencies: Family<PolicyLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let evaluations = Family::<PolicyAndOutcome, Counter>::default();
        let latencies: Family<PolicyLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        let mut registry = Registry::default();
        registry.register(
            "palisade_policy_evaluations",
            "Evaluations by policy and outcome (accepted, rejected, error)",
            evaluations.clone(),
        );
        registry.register_with_unit(
            "palisade_policy_evaluation_duration",
            "Time to evaluate one request, by policy",
            Unit::Seconds,
            latencies.clone(),
        );
        Metrics {
            registry,
            evaluations,
            latencies,
        }
    }
}

impl Metrics {
    /// Records one evaluation of `policy`. A policy's three outcome counters appear together, from
    /// its first evaluation on.
    pub fn record(&self, policy: &str, outcome: Outcome, latency: Duration) {
        for counted in Outcome::ALL {
            let counter = self.evaluations.get_or_create(&PolicyAndOutcome {
                policy: policy.to_string(),
                outcome: counted.label(),
            });
            if counted == outcome {
                counter.inc();
            }
        }
        self.latencies
            .get_or_create(&PolicyLabel {
                policy: policy.to_string(),
            })
            .observe(latency.as_secs_f64());
    }

    /// The registry, for the server's other metrics (the isolation between policies).
    pub(crate) fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The answer to `GET /metrics`.
    pub fn response(&self) -> Response {
        http_server::metrics::response(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_fills_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record("p", Outcome::Accepted, Duration::from_micros(30));
        metrics.record("p", Outcome::Rejected, Duration::from_millis(3));
        metrics.record("p", Outcome::Error, Duration::from_secs(5));
        let text = http_server::metrics::text(&metrics.registry).unwrap();
        for line in [
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"accepted\"} 1",
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"rejected\"} 1",
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"error\"} 1",
            "# TYPE palisade_policy_evaluations_total counter",
            "# TYPE palisade_policy_evaluation_duration_seconds histogram",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"5e-05\"} 1",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"0.005\"} 2",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"2\"} 2",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"+Inf\"} 3",
            "palisade_policy_evaluation_duration_seconds_count{policy=\"p\"} 3",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn escapes_label_values() {
        let metrics = Metrics::default();
        metrics.record("a\"b\\", Outcome::Accepted, Duration::from_micros(30));
        let text = http_server::metrics::text(&metrics.registry).unwrap();
        assert!(
            text.contains(
                "palisade_policy_evaluation_duration_seconds_count{policy=\"a\\\"b\\\\\"} 1"
            ),
            "{text}"
        );
    }
}
