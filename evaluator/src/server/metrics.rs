//! Per-policy evaluation metrics in the Prometheus text format: a latency histogram and the
//! number of evaluations that accepted, rejected or failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

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

#[derive(Debug, Default, Clone)]
struct PolicyMetrics {
    accepted: u64,
    rejected: u64,
    errors: u64,
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Metrics of every policy since the server started.
#[derive(Debug, Default)]
pub struct Metrics {
    policies: Mutex<BTreeMap<String, PolicyMetrics>>,
}

impl Metrics {
    /// Records one evaluation of `policy`.
    pub fn record(&self, policy: &str, outcome: Outcome, latency: Duration) {
        let mut policies = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        let entry = policies.entry(policy.to_string()).or_default();
        match outcome {
            Outcome::Accepted => entry.accepted += 1,
            Outcome::Rejected => entry.rejected += 1,
            Outcome::Error => entry.errors += 1,
        }
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in entry.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        entry.count += 1;
        entry.sum += seconds;
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let policies = self
            .policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::new();
        out.push_str("# HELP palisade_policy_evaluations_total Evaluations by policy and outcome (accepted, rejected, error).\n");
        out.push_str("# TYPE palisade_policy_evaluations_total counter\n");
        for (policy, m) in &policies {
            for (outcome, count) in [
                ("accepted", m.accepted),
                ("rejected", m.rejected),
                ("error", m.errors),
            ] {
                let _ = writeln!(
                    out,
                    "palisade_policy_evaluations_total{{policy=\"{}\",outcome=\"{outcome}\"}} {count}",
                    escape(policy)
                );
            }
        }
        out.push_str("# HELP palisade_policy_evaluation_duration_seconds Time to evaluate one request, by policy.\n");
        out.push_str("# TYPE palisade_policy_evaluation_duration_seconds histogram\n");
        for (policy, m) in &policies {
            let policy = escape(policy);
            for (bound, count) in LATENCY_BUCKETS.iter().zip(m.buckets) {
                let _ = writeln!(
                    out,
                    "palisade_policy_evaluation_duration_seconds_bucket{{policy=\"{policy}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "palisade_policy_evaluation_duration_seconds_bucket{{policy=\"{policy}\",le=\"+Inf\"}} {}",
                m.count
            );
            let _ = writeln!(
                out,
                "palisade_policy_evaluation_duration_seconds_sum{{policy=\"{policy}\"}} {}",
                m.sum
            );
            let _ = writeln!(
                out,
                "palisade_policy_evaluation_duration_seconds_count{{policy=\"{policy}\"}} {}",
                m.count
            );
        }
        out
    }
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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
        let text = metrics.render();
        for line in [
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"accepted\"} 1",
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"rejected\"} 1",
            "palisade_policy_evaluations_total{policy=\"p\",outcome=\"error\"} 1",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"0.00005\"} 1",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"0.005\"} 2",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"2\"} 2",
            "palisade_policy_evaluation_duration_seconds_bucket{policy=\"p\",le=\"+Inf\"} 3",
            "palisade_policy_evaluation_duration_seconds_count{policy=\"p\"} 3",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}
