//! What `/metrics` shows of the isolation between policies: each policy's waiting requests, the requests
//! refused without running (queue full, breaker open) and the state of its circuit breaker.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::breaker::BreakerState;

/// Why a request was refused without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its policy's queue was full (HTTP 503).
    QueueFull,
    /// It waited too long in its policy's queue (HTTP 503).
    QueueTimeout,
    /// Its policy's circuit breaker was open (a 503 rejection).
    CircuitOpen,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue_full",
            Refusal::QueueTimeout => "queue_timeout",
            Refusal::CircuitOpen => "circuit_open",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyLabel {
    policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyAndReason {
    policy: String,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyAndState {
    policy: String,
    state: &'static str,
}

/// The isolation metrics, registered in the server's registry.
#[derive(Debug, Clone, Default)]
pub struct IsolationMetrics {
    queued: Family<PolicyLabel, Gauge>,
    refusals: Family<PolicyAndReason, Counter>,
    breaker: Family<PolicyAndState, Gauge>,
}

impl IsolationMetrics {
    /// New metrics, registered in `registry`.
    pub fn registered(registry: &mut Registry) -> IsolationMetrics {
        let metrics = IsolationMetrics::default();
        registry.register(
            "palisade_policy_queued_requests",
            "Requests waiting for an evaluation worker, by policy",
            metrics.queued.clone(),
        );
        registry.register(
            "palisade_policy_refusals",
            "Requests answered without running the policy, by policy and reason (queue_full, queue_timeout, circuit_open)",
            metrics.refusals.clone(),
        );
        registry.register(
            "palisade_policy_circuit_breaker_state",
            "1 for the state each policy's circuit breaker is in (closed, open, half-open), 0 for the others",
            metrics.breaker.clone(),
        );
        metrics
    }

    /// One more (`+1`) or one fewer (`-1`) request of `policy` waiting.
    pub fn queued(&self, policy: &str, change: i64) {
        self.queued
            .get_or_create(&PolicyLabel {
                policy: policy.to_string(),
            })
            .inc_by(change);
    }

    /// A request of `policy` refused.
    pub fn refused(&self, policy: &str, refusal: Refusal) {
        self.refusals
            .get_or_create(&PolicyAndReason {
                policy: policy.to_string(),
                reason: refusal.label(),
            })
            .inc();
    }

    /// Removes the gauges of `policy`, which is no longer served (its refusal counts stay).
    pub fn forget(&self, policy: &str) {
        self.queued.remove(&PolicyLabel {
            policy: policy.to_string(),
        });
        for state in BreakerState::ALL {
            self.breaker.remove(&PolicyAndState {
                policy: policy.to_string(),
                state: state.label(),
            });
        }
    }

    /// `policy`'s breaker is now in `current`.
    pub fn breaker(&self, policy: &str, current: BreakerState) {
        for state in BreakerState::ALL {
            self.breaker
                .get_or_create(&PolicyAndState {
                    policy: policy.to_string(),
                    state: state.label(),
                })
                .set(i64::from(state == current));
        }
    }
}
