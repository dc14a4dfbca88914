//! A policy's circuit breaker: after `timeouts` evaluations ran into their deadline within `window`, the
//! policy is not run for `cool_down` (its requests fail fast); then one trial request runs, and the breaker
//! closes if it finishes in time or opens again if it does not. Time is given, not read, so the states are
//! tested without waiting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When a policy's breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerOptions {
    /// Timeouts within `window` that open the breaker; 0 never opens it.
    pub timeouts: usize,
    /// The span the timeouts are counted over.
    pub window: Duration,
    /// How long an open breaker fails requests fast before it lets one trial through.
    pub cool_down: Duration,
}

impl Default for BreakerOptions {
    fn default() -> Self {
        BreakerOptions {
            timeouts: 3,
            window: Duration::from_secs(60),
            cool_down: Duration::from_secs(30),
        }
    }
}

/// A breaker's state, as `/metrics` and the logs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests run.
    Closed,
    /// Requests fail fast until the cool-down ends.
    Open,
    /// One trial request runs; the others fail fast until it ends.
    HalfOpen,
}

impl BreakerState {
    /// Every state, in the order `/metrics` lists them.
    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];

    /// The state's name in `/metrics` and the logs.
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// What the breaker lets a request do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Run it; `trial` when its outcome decides whether the breaker closes.
    Run {
        /// Whether this is the half-open breaker's trial.
        trial: bool,
    },
    /// Fail it fast; `retry_in` is the rest of the cool-down (none while a trial runs).
    FailFast {
        /// When the next trial may run.
        retry_in: Option<Duration>,
    },
}

/// One policy's breaker.
#[derive(Debug)]
pub struct Breaker {
    options: BreakerOptions,
    recent_timeouts: VecDeque<Instant>,
    phase: Phase,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

impl Breaker {
    /// A closed breaker.
    pub fn new(options: BreakerOptions) -> Breaker {
        Breaker {
            options,
            recent_timeouts: VecDeque::new(),
            phase: Phase::Closed,
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether a request arriving (or leaving the queue) at `now` runs. An open breaker whose cool-down
    /// has ended turns half-open and makes this request its trial.
    pub fn admit(&mut self, now: Instant) -> Admit {
        match self.phase {
            Phase::Closed => Admit::Run { trial: false },
            Phase::Open { until } if now < until => Admit::FailFast {
                retry_in: Some(until - now),
            },
            Phase::Open { .. }
            | Phase::HalfOpen {
                trial_running: false,
            } => {
                self.phase = Phase::HalfOpen {
                    trial_running: true,
                };
                Admit::Run { trial: true }
            }
            Phase::HalfOpen {
                trial_running: true,
            } => Admit::FailFast { retry_in: None },
        }
    }

    /// Records how an admitted request's evaluation ended at `now`; returns the new state if it changed.
    pub fn record(&mut self, now: Instant, timed_out: bool, trial: bool) -> Option<BreakerState> {
        if trial {
            self.recent_timeouts.clear();
            self.phase = if timed_out {
                Phase::Open {
                    until: now + self.options.cool_down,
                }
            } else {
                Phase::Closed
            };
            return Some(self.state());
        }
        if !timed_out || self.options.timeouts == 0 || !matches!(self.phase, Phase::Closed) {
            return None;
        }
        self.recent_timeouts.push_back(now);
        while self
            .recent_timeouts
            .front()
            .is_some_and(|&at| now.duration_since(at) > self.options.window)
        {
            self.recent_timeouts.pop_front();
        }
        if self.recent_timeouts.len() < self.options.timeouts {
            return None;
        }
        self.recent_timeouts.clear();
        self.phase = Phase::Open {
            until: now + self.options.cool_down,
        };
        Some(BreakerState::Open)
    }

    /// The trial left before it ran (its client went away): the next request becomes the trial.
    pub fn abandon_trial(&mut self) {
        if let Phase::HalfOpen {
            trial_running: true,
        } = self.phase
        {
            self.phase = Phase::HalfOpen {
                trial_running: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn breaker() -> Breaker {
        Breaker::new(BreakerOptions {
            timeouts: 2,
            window: 10 * SECOND,
            cool_down: 5 * SECOND,
        })
    }

    #[test]
    fn opens_after_enough_timeouts_within_the_window() {
        let start = Instant::now();
        let mut breaker = breaker();
        assert_eq!(breaker.record(start, true, false), None);
        // The first timeout left the window: this one is alone in it.
        assert_eq!(breaker.record(start + 11 * SECOND, true, false), None);
        assert_eq!(breaker.record(start + 12 * SECOND, false, false), None);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(
            breaker.record(start + 13 * SECOND, true, false),
            Some(BreakerState::Open)
        );
        assert_eq!(
            breaker.admit(start + 14 * SECOND),
            Admit::FailFast {
                retry_in: Some(4 * SECOND)
            }
        );
        // A request admitted before it opened finishes late: nothing changes.
        assert_eq!(breaker.record(start + 14 * SECOND, true, false), None);
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[test]
    fn one_trial_after_the_cool_down_closes_or_opens_it_again() {
        let start = Instant::now();
        let mut breaker = breaker();
        breaker.record(start, true, false);
        breaker.record(start, true, false);
        let later = start + 5 * SECOND;
        assert_eq!(breaker.admit(later), Admit::Run { trial: true });
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert_eq!(breaker.admit(later), Admit::FailFast { retry_in: None });
        assert_eq!(
            breaker.record(later, true, true),
            Some(BreakerState::Open),
            "the trial timed out"
        );
        let later = later + 5 * SECOND;
        assert_eq!(breaker.admit(later), Admit::Run { trial: true });
        breaker.abandon_trial();
        assert_eq!(
            breaker.admit(later),
            Admit::Run { trial: true },
            "an abandoned trial is handed on"
        );
        assert_eq!(
            breaker.record(later, false, true),
            Some(BreakerState::Closed)
        );
        assert_eq!(breaker.admit(later), Admit::Run { trial: false });
        // The timeouts before it opened are forgotten: one more does not open it.
        assert_eq!(breaker.record(later, true, false), None);
    }

    #[test]
    fn zero_timeouts_never_opens() {
        let start = Instant::now();
        let mut breaker = Breaker::new(BreakerOptions {
            timeouts: 0,
            ..BreakerOptions::default()
        });
        for _ in 0..10 {
            assert_eq!(breaker.record(start, true, false), None);
        }
        assert_eq!(breaker.admit(start), Admit::Run { trial: false });
    }
}
