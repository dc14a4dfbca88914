//! What reloads did: a successful reload's report, how the last one ended, and what `/metrics` shows of them.

use chrono::{DateTime, SecondsFormat, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use super::generation::{Generation, Origin};

/// What a successful reload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// The generation now serving.
    pub generation: u64,
    /// The policies and group members loaded for it (new, or whose digest or configuration changed).
    pub loaded: Vec<String>,
    /// The policies and group members taken from the generation before.
    pub reused: Vec<String>,
    /// The policies and group members the generation before had and this one has not.
    pub removed: Vec<String>,
}

impl ReloadReport {
    pub(crate) fn between(before: &Generation, after: &Generation) -> ReloadReport {
        let with_origin = |origin: Origin| {
            after
                .units
                .iter()
                .filter(|(_, unit)| unit.origin == origin)
                .map(|(id, _)| id.clone())
                .collect()
        };
        ReloadReport {
            generation: after.number,
            loaded: with_origin(Origin::Loaded),
            reused: with_origin(Origin::Reused),
            removed: before
                .units
                .keys()
                .filter(|id| !after.units.contains_key(*id))
                .cloned()
                .collect(),
        }
    }
}

impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |ids: &[String]| match ids {
            [] => String::new(),
            ids => format!(" ({})", ids.join(", ")),
        };
        write!(
            f,
            "generation {}: {} loaded{}, {} reused, {} removed{}",
            self.generation,
            self.loaded.len(),
            list(&self.loaded),
            self.reused.len(),
            self.removed.len(),
            list(&self.removed)
        )
    }
}

/// How the last reload ended.
#[derive(Debug, Clone)]
pub(crate) struct LastReload {
    pub(crate) at: DateTime<Utc>,
    /// Why it failed; none when it succeeded.
    pub(crate) failure: Option<String>,
}

impl LastReload {
    pub(crate) fn describe(&self) -> Value {
        json!({
            "at": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "result": if self.failure.is_some() { "failure" } else { "success" },
            "error": self.failure,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

/// What `/metrics` shows of reloads.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReloadMetrics {
    generation: Gauge,
    reloads: Family<ResultLabel, Counter>,
    last_succeeded: Gauge,
    policies: Family<ActionLabel, Counter>,
}

impl ReloadMetrics {
    /// New metrics, registered in `registry`.
    pub(crate) fn registered(registry: &mut Registry) -> ReloadMetrics {
        let metrics = ReloadMetrics::default();
        registry.register(
            "palisade_policy_server_generation",
            "The generation of policies serving (1 at start-up, one more for each successful reload)",
            metrics.generation.clone(),
        );
        registry.register(
            "palisade_policy_server_reloads",
            "Reloads by result (success, failure)",
            metrics.reloads.clone(),
        );
        registry.register(
            "palisade_policy_server_last_reload_success",
            "1 when the last reload succeeded (or none was tried), 0 when it failed and an older generation serves",
            metrics.last_succeeded.clone(),
        );
        registry.register(
            "palisade_policy_server_reload_policies",
            "Policies and group members of successful reloads, by what the reload did with them (loaded, reused, removed)",
            metrics.policies.clone(),
        );
        for result in ["success", "failure"] {
            drop(metrics.reloads.get_or_create(&ResultLabel { result }));
        }
        for action in ["loaded", "reused", "removed"] {
            drop(metrics.policies.get_or_create(&ActionLabel { action }));
        }
        metrics.last_succeeded.set(1);
        metrics
    }

    /// Generation `number` serves.
    pub(crate) fn serving(&self, number: u64) {
        self.generation
            .set(i64::try_from(number).unwrap_or(i64::MAX));
    }

    pub(crate) fn succeeded(&self, report: &ReloadReport) {
        self.serving(report.generation);
        self.reloads
            .get_or_create(&ResultLabel { result: "success" })
            .inc();
        self.last_succeeded.set(1);
        for (action, ids) in [
            ("loaded", &report.loaded),
            ("reused", &report.reused),
            ("removed", &report.removed),
        ] {
            self.policies
                .get_or_create(&ActionLabel { action })
                .inc_by(ids.len() as u64);
        }
    }

    pub(crate) fn failed(&self) {
        self.reloads
            .get_or_create(&ResultLabel { result: "failure" })
            .inc();
        self.last_succeeded.set(0);
    }
}
