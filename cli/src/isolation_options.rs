//! How `palisade policy-server` shares its evaluation workers between policies: a policy's share, its
//! queue, and its circuit breaker.

use std::num::NonZeroUsize;
use std::time::Duration;

use evaluator::server::{BreakerOptions, IsolationLimits};

/// The isolation flags of `policy-server`.
#[derive(Debug, clap::Args)]
pub struct IsolationOptions {
    /// At most this many evaluations of a slow policy run at once, on low-priority threads of their own, so
    /// that a slow or looping policy leaves the workers and the cores to the other policies; a policy is slow
    /// for --breaker-cool-down after one of its evaluations took over 100ms or ran into its deadline, and a
    /// quick one may use every worker [default: half of --workers, at least 1].
    #[arg(long, value_name = "N")]
    policy_workers: Option<NonZeroUsize>,
    /// At most this many requests of one policy wait for a worker; one more is answered at once with HTTP 503
    /// (Kubernetes then applies the webhook's failurePolicy).
    #[arg(long, value_name = "N", default_value = "128")]
    policy_queue: NonZeroUsize,
    /// A request that waited this long for a worker is answered with HTTP 503 (Kubernetes' webhook timeout is
    /// 10s unless the webhook sets another).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    policy_queue_timeout: Duration,
    /// Open a policy's circuit breaker after this many timeouts within --breaker-window: its requests are then
    /// rejected at once (code 503) for --breaker-cool-down, then one trial request decides (0: never).
    #[arg(long, value_name = "N", default_value = "3")]
    breaker_timeouts: usize,
    /// The span the breaker counts timeouts over.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    breaker_window: Duration,
    /// How long an open breaker rejects a policy's requests before it lets a trial through.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    breaker_cool_down: Duration,
}

impl IsolationOptions {
    /// The limits the server is started with.
    pub fn limits(&self) -> IsolationLimits {
        IsolationLimits {
            policy_workers: self.policy_workers.map(NonZeroUsize::get),
            queue: self.policy_queue.get(),
            queue_timeout: self.policy_queue_timeout,
            breaker: BreakerOptions {
                timeouts: self.breaker_timeouts,
                window: self.breaker_window,
                cool_down: self.breaker_cool_down,
            },
        }
    }
}
