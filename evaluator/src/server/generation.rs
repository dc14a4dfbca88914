//! A generation: the policies one `policies.yml` made, immutable once built. The server serves one
//! generation at a time and swaps it whole on a reload; a request holds the generation it started on
//! until it is answered. Each policy (and group member) keeps what identifies it, its resolved digest
//! and its configuration, so that the next generation takes it as it is when neither changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use artifact::oci::Digest;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::group::{GroupConfig, member_id};
use super::policies::PolicyConfig;
use super::slot::{LoadedPolicy, Slot};

/// Whether a policy of a generation was loaded for it or taken as it was from the generation before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Fetched, verified, compiled and its settings validated for this generation.
    Loaded,
    /// Taken from the generation before: same digest, same configuration.
    Reused,
}

impl Origin {
    /// The name `/policies` and the logs give it.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Loaded => "loaded",
            Origin::Reused => "reused",
        }
    }
}

/// One policy (or group member) of a generation and what identifies it.
pub(crate) struct Unit {
    /// Its entry in `policies.yml`.
    pub(crate) config: PolicyConfig,
    /// Its resolved digest (none when it could not be resolved).
    pub(crate) digest: Option<Digest>,
    /// The policy, or why it could not be loaded.
    pub(crate) loaded: Result<Arc<LoadedPolicy>, String>,
    /// Whether this generation loaded it or took it from the one before.
    pub(crate) origin: Origin,
    /// The generation that loaded it.
    pub(crate) loaded_in: u64,
}

impl Unit {
    /// The digest and policy to take as they are for `config`, if this unit is ready with that same
    /// configuration (its digest is then compared with the one `config`'s module resolves to now).
    pub(crate) fn reusable(
        &self,
        config: &PolicyConfig,
    ) -> Option<(Digest, Arc<LoadedPolicy>, u64)> {
        match (&self.loaded, &self.digest) {
            (Ok(policy), Some(digest)) if self.config == *config => {
                Some((digest.clone(), Arc::clone(policy), self.loaded_in))
            }
            _ => None,
        }
    }

    /// `/policies`' view of it.
    fn describe(&self) -> Value {
        let mut view = json!({
            "module": self.config.module,
            "digest": self.digest.as_ref().map(ToString::to_string),
            "status": if self.loaded.is_ok() { "ready" } else { "failed" },
            "origin": self.origin.label(),
            "loadedIn": self.loaded_in,
        });
        if let Err(reason) = &self.loaded {
            view["error"] = json!(reason);
        }
        view
    }
}

/// A group of a generation: its configuration and whether it was taken from the generation before.
pub(crate) struct GroupRecord {
    pub(crate) config: GroupConfig,
    pub(crate) origin: Origin,
}

/// The policies served together, built from one `policies.yml`.
pub struct Generation {
    /// 1 for the generation start-up loaded, one more for each successful reload.
    pub(crate) number: u64,
    /// When it started serving.
    pub(crate) loaded_at: DateTime<Utc>,
    /// The sha256 of the `policies.yml` text it was built from, when it was read from a file.
    pub(crate) file_digest: Option<Digest>,
    /// What each id of `/validate/{id}` serves.
    pub(crate) slots: BTreeMap<String, Slot>,
    /// Every policy and group member (`GROUP/MEMBER`) loaded, by id.
    pub(crate) units: BTreeMap<String, Unit>,
    /// The groups, by id.
    pub(crate) groups: BTreeMap<String, GroupRecord>,
}

impl Generation {
    /// Its number (1 for start-up's).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The ids served, policies and groups.
    pub fn ids(&self) -> Vec<String> {
        self.slots.keys().cloned().collect()
    }

    /// The policies and groups that could not be loaded, and why (only with `continue_on_errors`).
    pub fn failed(&self) -> Vec<(String, String)> {
        self.slots
            .iter()
            .filter_map(|(id, slot)| match slot {
                Slot::Failed(reason) => Some((id.clone(), reason.clone())),
                Slot::Ready(_) | Slot::Group(_) => None,
            })
            .collect()
    }

    /// When it started serving, as RFC 3339.
    pub fn loaded_at(&self) -> String {
        self.loaded_at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `/policies`' view: the generation and each served id's module, digest, state and origin (a group
    /// lists its members).
    pub(crate) fn describe(&self) -> Value {
        let mut policies = serde_json::Map::new();
        for (id, slot) in &self.slots {
            let view = match (self.units.get(id), self.groups.get(id)) {
                (Some(unit), _) => unit.describe(),
                (None, Some(group)) => self.describe_group(id, group, slot),
                (None, None) => continue,
            };
            policies.insert(id.clone(), view);
        }
        json!({
            "generation": self.number,
            "loadedAt": self.loaded_at(),
            "policiesDigest": self.file_digest.as_ref().map(ToString::to_string),
            "policies": policies,
        })
    }

    fn describe_group(&self, id: &str, group: &GroupRecord, slot: &Slot) -> Value {
        let members = group
            .config
            .members
            .keys()
            .filter_map(|name| {
                let unit = self.units.get(&member_id(id, name))?;
                Some((name.clone(), unit.describe()))
            })
            .collect::<serde_json::Map<_, _>>();
        let mut view = json!({
            "group": true,
            "status": if matches!(slot, Slot::Failed(_)) { "failed" } else { "ready" },
            "origin": group.origin.label(),
            "members": members,
        });
        if let Slot::Failed(reason) = slot {
            view["error"] = json!(reason);
        }
        view
    }
}
