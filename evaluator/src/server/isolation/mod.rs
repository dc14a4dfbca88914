//! Isolation between policies: one slow or looping policy delays only its own requests.
//!
//! - **Slow policies aside**: a policy that answers quickly may use every worker; one whose evaluation ran
//!   longer than [`SLOW_EVALUATION`] (or into its deadline) is, for the breaker's cool-down after, held to
//!   `policy_workers` evaluations at once (default: half the workers, at least one) and evaluated on threads
//!   of its own at a lower priority ([`crate::background`]), never on the workers: the quick policies keep
//!   every worker and come first on the cores, and a looping policy burns only what they leave. The
//!   breaker's trial runs there too. A quick policy pays nothing for isolation; a slow one costs the others
//!   only until it is first seen to be slow.
//! - **Fair queueing**: a request waits first in its policy's own queue, then for a worker in a FIFO queue
//!   that holds at most `workers` requests of each policy (`policy_workers` of a slow one); a policy's
//!   backlog stays in its own queue and never stands in front of another policy's requests.
//! - **A bounded queue**: at most `queue` requests of one policy wait, each at most `queue_timeout`; one
//!   more, or one that waited that long, is refused ([`EvaluatorError::Overloaded`], answered HTTP 503 so
//!   that Kubernetes applies the webhook's `failurePolicy`, as it would once its own timeout expired),
//!   never left waiting without bound.
//! - **A circuit breaker** per policy ([`breaker`]): a policy that keeps running into its deadline is failed
//!   fast ([`EvaluatorError::CircuitOpen`], a 503 rejection: the answer its timeouts gave, without the wait)
//!   for a cool-down, then tried with one request. Transitions are logged; states are in `/metrics`.

mod breaker;
mod metrics;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use breaker::{BreakerOptions, BreakerState};

use crate::admission::ValidationResponse;
use crate::background::BackgroundPool;
use crate::error::EvaluatorError;
use breaker::{Admit, Breaker};
use metrics::{IsolationMetrics, Refusal};

/// What the circuit breaker learns from one evaluation that answered: whether it ran into a deadline
/// all the same (a policy group whose member timed out answers, with a rejection).
pub trait Evaluated {
    /// Whether the evaluation, or a part of it, ran out of time.
    fn ran_out_of_time(&self) -> bool;
}

impl Evaluated for ValidationResponse {
    /// A policy's answer: a policy that runs out of time answers nothing (an error), so never.
    fn ran_out_of_time(&self) -> bool {
        false
    }
}

/// An evaluation that runs longer than this marks its policy slow: policies answer in milliseconds, and
/// one that takes this long is on its way to holding a worker until its deadline.
pub const SLOW_EVALUATION: Duration = Duration::from_millis(100);

/// How much of the server one policy may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolationLimits {
    /// At most this many evaluations of a slow policy run at once; `None`: half the workers, at least one.
    pub policy_workers: Option<usize>,
    /// At most this many requests of one policy wait for a worker; more are refused.
    pub queue: usize,
    /// A request that waited this long for a worker is refused (Kubernetes' webhook timeout is 10 s by
    /// default: an answer after it is read by nobody).
    pub queue_timeout: Duration,
    /// When a policy is failed fast.
    pub breaker: BreakerOptions,
}

impl Default for IsolationLimits {
    fn default() -> Self {
        IsolationLimits {
            policy_workers: None,
            queue: 128,
            queue_timeout: Duration::from_secs(10),
            breaker: BreakerOptions::default(),
        }
    }
}

/// The evaluation workers and every policy's lane to them.
#[derive(Debug)]
pub struct Isolation {
    workers: Arc<Semaphore>,
    /// Where slow policies are evaluated, as many threads as there are workers.
    aside: BackgroundPool,
    /// The threads of `aside` free: a permit is a thread.
    aside_threads: Arc<Semaphore>,
    worker_count: usize,
    policy_workers: usize,
    queue: usize,
    queue_timeout: Duration,
    breaker: BreakerOptions,
    lanes: Mutex<BTreeMap<String, Arc<Lane>>>,
    metrics: IsolationMetrics,
}

/// One policy's share of the workers, its waiting requests and its breaker.
#[derive(Debug)]
struct Lane {
    policy: String,
    /// Places in the workers' queue: as many as there are workers.
    places: Arc<Semaphore>,
    /// The share of a slow policy: `policy_workers` places, taken first while it is slow.
    share: Arc<Semaphore>,
    /// Until when the policy is held to its share (it was slow before then, minus the hold).
    slow_until: Mutex<Option<Instant>>,
    /// How long a slow evaluation holds the policy to its share: the breaker's cool-down.
    hold: Duration,
    waiting: AtomicUsize,
    breaker: Mutex<Breaker>,
    metrics: IsolationMetrics,
}

impl Isolation {
    /// `workers` evaluation workers shared under `limits`, and as many low-priority threads for slow policies;
    /// the metrics go into `registry`.
    pub fn new(
        workers: usize,
        limits: IsolationLimits,
        registry: &mut Registry,
    ) -> Result<Isolation, EvaluatorError> {
        let workers = workers.max(1);
        let policy_workers = limits
            .policy_workers
            .unwrap_or(workers / 2)
            .clamp(1, workers);
        tracing::info!(
            workers,
            policy_workers,
            queue = limits.queue,
            queue_timeout = %humantime::format_duration(limits.queue_timeout),
            breaker_timeouts = limits.breaker.timeouts,
            "evaluation workers shared between policies"
        );
        Ok(Isolation {
            workers: Arc::new(Semaphore::new(workers)),
            aside: BackgroundPool::new("slow-policy", workers)?,
            aside_threads: Arc::new(Semaphore::new(workers)),
            worker_count: workers,
            policy_workers,
            queue: limits.queue,
            queue_timeout: limits.queue_timeout,
            breaker: limits.breaker,
            lanes: Mutex::new(BTreeMap::new()),
            metrics: IsolationMetrics::registered(registry),
        })
    }

    /// Runs `work` (one evaluation of `policy`) on tokio's blocking pool once its policy's lane and a worker
    /// are free (a slow policy's on its own low-priority threads, once one is free); refuses it when the policy's queue is full, when it waited `queue_timeout` in it, or when
    /// the policy's breaker is open. A timeout of `work` counts towards the breaker.
    pub async fn run<T, W>(&self, policy: &str, work: W) -> Result<T, EvaluatorError>
    where
        T: Evaluated + Send + 'static,
        W: FnOnce() -> Result<T, EvaluatorError> + Send + 'static,
    {
        let lane = self.lane(policy);
        let mut trial = Trial::new(Arc::clone(&lane), lane.admit()?);
        let waiting = Waiting::enter(&lane, self.queue)?;
        let (permits, aside) =
            tokio::time::timeout(self.queue_timeout, self.permits(&lane, trial.is_trial))
                .await
                .map_err(|_| {
                    lane.metrics.refused(&lane.policy, Refusal::QueueTimeout);
                    EvaluatorError::Overloaded {
                        policy: lane.policy.clone(),
                        why: format!(
                            "the request waited {} for an evaluation worker",
                            humantime::format_duration(self.queue_timeout)
                        ),
                    }
                })??;
        drop(waiting);
        if !trial.is_trial {
            // The breaker may have opened while this request waited: then it fails fast, not run.
            trial = Trial::new(Arc::clone(&lane), lane.admit()?);
        }
        let evaluation = move || {
            let _permits = permits;
            let started = Instant::now();
            let result = work();
            let timed_out = match &result {
                Ok(evaluated) => evaluated.ran_out_of_time(),
                Err(err) => matches!(err, EvaluatorError::Timeout(_)),
            };
            if timed_out || started.elapsed() > SLOW_EVALUATION {
                trial.lane.slowed();
            }
            trial.finish(timed_out);
            result
        };
        if aside {
            self.aside.run(evaluation).await?
        } else {
            tokio::task::spawn_blocking(evaluation)
                .await
                .map_err(|err| {
                    EvaluatorError::Trap(format!("the evaluation thread failed: {err}"))
                })?
        }
    }

    /// A place in `lane`, then, for a slow policy (slow by then) or the breaker's `trial`, a place in its share
    /// and one of the slow policies' threads, else a worker; always in that order (so that no two requests
    /// wait for each other): a policy's backlog waits in its own lane. Returns them and whether the request
    /// runs aside.
    async fn permits(
        &self,
        lane: &Lane,
        trial: bool,
    ) -> Result<(Vec<OwnedSemaphorePermit>, bool), EvaluatorError> {
        let closed = |err| EvaluatorError::Startup(format!("the evaluation pool is closed: {err}"));
        let mut permits = Vec::with_capacity(3);
        permits.push(
            Arc::clone(&lane.places)
                .acquire_owned()
                .await
                .map_err(closed)?,
        );
        let aside = trial || lane.is_slow();
        let thread = if aside {
            permits.push(
                Arc::clone(&lane.share)
                    .acquire_owned()
                    .await
                    .map_err(closed)?,
            );
            &self.aside_threads
        } else {
            &self.workers
        };
        permits.push(Arc::clone(thread).acquire_owned().await.map_err(closed)?);
        Ok((permits, aside))
    }

    /// Drops the lanes (queue, breaker and their gauges) of the policies a reload removed: those `keep` refuses
    /// that no request holds. A lane still held by a request of the generation before is dropped at a later
    /// reload; a policy that comes back gets a new lane.
    pub(crate) fn retain(&self, keep: impl Fn(&str) -> bool) {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.retain(|policy, lane| {
            let dropped = !keep(policy) && Arc::strong_count(lane) == 1;
            if dropped {
                self.metrics.forget(policy);
            }
            !dropped
        });
    }

    /// `policy`'s lane, made on its first request.
    fn lane(&self, policy: &str) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = lanes.entry(policy.to_string()).or_insert_with(|| {
            self.metrics.breaker(policy, BreakerState::Closed);
            self.metrics.queued(policy, 0);
            Arc::new(Lane {
                policy: policy.to_string(),
                places: Arc::new(Semaphore::new(self.worker_count)),
                share: Arc::new(Semaphore::new(self.policy_workers)),
                slow_until: Mutex::new(None),
                hold: self.breaker.cool_down,
                waiting: AtomicUsize::new(0),
                breaker: Mutex::new(Breaker::new(self.breaker)),
                metrics: self.metrics.clone(),
            })
        });
        Arc::clone(lane)
    }
}

impl Lane {
    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the policy is held to its share: it was slow within the hold.
    fn is_slow(&self) -> bool {
        let slow_until = self
            .slow_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slow_until.is_some_and(|until| Instant::now() < until)
    }

    /// Holds the policy to its share for `hold` from now (logged when it was not held yet).
    fn slowed(&self) {
        let now = Instant::now();
        let mut slow_until = self
            .slow_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !slow_until.is_some_and(|until| now < until) {
            tracing::info!(
                policy = %self.policy,
                hold = %humantime::format_duration(self.hold),
                "slow policy: held to its share of the workers"
            );
        }
        *slow_until = Some(now + self.hold);
    }

    /// Asks the breaker whether a request runs; whether it is the trial, or the fast failure.
    fn admit(&self) -> Result<bool, EvaluatorError> {
        let mut breaker = self.breaker();
        let before = breaker.state();
        let admitted = breaker.admit(Instant::now());
        if breaker.state() != before {
            self.changed(breaker.state());
        }
        match admitted {
            Admit::Run { trial } => Ok(trial),
            Admit::FailFast { retry_in } => {
                self.metrics.refused(&self.policy, Refusal::CircuitOpen);
                let next = match retry_in {
                    Some(wait) => format!("it is tried again in {} s", wait.as_secs().max(1)),
                    None => "a trial evaluation is running".to_string(),
                };
                Err(EvaluatorError::CircuitOpen {
                    policy: self.policy.clone(),
                    next,
                })
            }
        }
    }

    /// Logs and shows a transition of the breaker.
    fn changed(&self, state: BreakerState) {
        self.metrics.breaker(&self.policy, state);
        match state {
            BreakerState::Open => tracing::warn!(
                policy = %self.policy,
                state = state.label(),
                "circuit breaker open: the policy keeps timing out, its requests fail fast"
            ),
            BreakerState::HalfOpen | BreakerState::Closed => tracing::info!(
                policy = %self.policy,
                state = state.label(),
                "circuit breaker {}", state.label()
            ),
        }
    }
}

/// A request counted in its policy's queue until it runs or leaves.
struct Waiting<'a> {
    lane: &'a Lane,
}

impl<'a> Waiting<'a> {
    fn enter(lane: &'a Lane, queue: usize) -> Result<Waiting<'a>, EvaluatorError> {
        let before = lane.waiting.fetch_add(1, Ordering::AcqRel);
        if before >= queue {
            lane.waiting.fetch_sub(1, Ordering::AcqRel);
            lane.metrics.refused(&lane.policy, Refusal::QueueFull);
            return Err(EvaluatorError::Overloaded {
                policy: lane.policy.clone(),
                why: format!("{queue} of its requests already wait for an evaluation worker"),
            });
        }
        lane.metrics.queued(&lane.policy, 1);
        Ok(Waiting { lane })
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.lane.waiting.fetch_sub(1, Ordering::AcqRel);
        self.lane.metrics.queued(&self.lane.policy, -1);
    }
}

/// Whether a request is its breaker's trial; a trial that leaves before it ran hands the trial on.
struct Trial {
    lane: Arc<Lane>,
    is_trial: bool,
    finished: bool,
}

impl Trial {
    fn new(lane: Arc<Lane>, is_trial: bool) -> Trial {
        Trial {
            lane,
            is_trial,
            finished: false,
        }
    }

    /// Records how the evaluation ended with the breaker.
    fn finish(mut self, timed_out: bool) {
        self.finished = true;
        let mut breaker = self.lane.breaker();
        if let Some(state) = breaker.record(Instant::now(), timed_out, self.is_trial) {
            self.lane.changed(state);
        }
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        if self.is_trial && !self.finished {
            self.lane.breaker().abandon_trial();
        }
    }
}
