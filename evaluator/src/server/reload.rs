//! Hot reload: a new `policies.yml` becomes a new [`Generation`], built beside the live one and swapped in
//! whole, or not at all.
//!
//! - A policy whose resolved digest and configuration did not change is taken from the live generation as
//!   it is: not fetched, verified or compiled again. References pinned by digest are never resolved again,
//!   tags are resolved (a `HEAD`), files hashed (see [`super::resolve`]).
//! - The others go through start-up's path (gate, compile, settings validation).
//! - All or nothing: if one policy fails (even when the server started with `--continue-on-errors`), the
//!   live generation keeps serving; the failure is logged (each policy and why), counted in `/metrics`
//!   and shown by `/readiness` (still HTTP 200: a failed reload does not take a serving replica out of
//!   its Service) and `/policies`.
//! - Requests in flight finish on the generation they started on. Queues, circuit breakers and metrics
//!   are per policy id and live across generations; a removed policy's queue and breaker are dropped.
//! - One reload at a time.

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;

use super::policies::PoliciesFile;
use super::reload_outcome::{LastReload, ReloadReport};
use super::state::{ServerState, load_generation};
use crate::error::EvaluatorError;

impl ServerState {
    /// Builds the generation of `file` beside the live one and swaps it in (see the [module](self)); one
    /// reload at a time. On failure the live generation keeps serving and the failure is logged, counted
    /// and shown by `/readiness` and `/policies`.
    pub async fn reload(&self, file: &PoliciesFile) -> Result<ReloadReport, EvaluatorError> {
        let _one_at_a_time = self.reloading.lock().await;
        let started = Instant::now();
        let live = self.live();
        let built = load_generation(file, &self.options, &self.engines, Some(&live)).await;
        let generation = match built {
            Ok((generation, failures)) if failures.is_empty() => generation,
            Ok((_, mut failures)) => {
                failures.sort();
                return Err(self.refuse(live.number, failures.join("; ")));
            }
            Err(err) => return Err(self.refuse(live.number, err.describe())),
        };
        let report = ReloadReport::between(&live, &generation);
        let kept = generation.ids();
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(generation);
        self.isolation
            .retain(|id| kept.iter().any(|kept| kept == id));
        self.reloads.succeeded(&report);
        self.record(None);
        tracing::info!(
            generation = report.generation,
            loaded = report.loaded.len(),
            reused = report.reused.len(),
            removed = report.removed.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "policies reloaded: {report}"
        );
        Ok(report)
    }

    /// Records a reload that could not even start, such as a `policies.yml` that no longer reads or parses:
    /// the live generation keeps serving. Returns the error to report.
    pub fn refuse_reload(&self, error: &EvaluatorError) -> EvaluatorError {
        self.refuse(self.live().number, error.describe())
    }

    fn refuse(&self, live: u64, why: String) -> EvaluatorError {
        tracing::error!(generation = live, error = %why, "reload failed: the live generation keeps serving");
        self.reloads.failed();
        self.record(Some(why.clone()));
        EvaluatorError::Reload { live, why }
    }

    fn record(&self, failure: Option<String>) {
        let last = LastReload {
            at: Utc::now(),
            failure,
        };
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(last);
    }

    fn last_reload(&self) -> Option<LastReload> {
        self.last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The body of `/readiness`: the live generation, and the last reload when it failed.
    pub fn readiness(&self) -> String {
        let live = self.live();
        let mut text = format!(
            "ready: generation {} (loaded at {})\n",
            live.number,
            live.loaded_at()
        );
        if let Some(LastReload {
            at,
            failure: Some(why),
        }) = self.last_reload()
        {
            text.push_str(&format!(
                "last reload failed at {}: {why}\n",
                at.to_rfc3339_opts(SecondsFormat::Millis, true)
            ));
        }
        text
    }

    /// The body of `/policies`: the live generation, its policies, and the last reload (null before any).
    pub fn describe_policies(&self) -> Value {
        let mut view = self.live().describe();
        view["lastReload"] = self
            .last_reload()
            .map_or(Value::Null, |last| last.describe());
        view
    }
}
