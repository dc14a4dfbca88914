//! What a policy id serves: a policy ready to serve, a group, or why it could not be loaded.

use std::sync::Arc;

use serde_json::Value;

use super::group_evaluation::LoadedGroup;
use super::policies::PolicyMode;
use crate::policy::Policy;

/// A policy ready to serve.
pub(crate) struct LoadedPolicy {
    pub(crate) policy: Policy,
    pub(crate) settings: Value,
    pub(crate) allowed_to_mutate: bool,
    pub(crate) mode: PolicyMode,
    /// The message that replaces the policy's own in its rejections (`message` in `policies.yml`).
    pub(crate) message: Option<String>,
}

/// A policy id's entry: ready, a group ready, or why it could not be loaded (`--continue-on-errors`).
#[derive(Clone)]
pub(crate) enum Slot {
    Ready(Arc<LoadedPolicy>),
    Group(Arc<LoadedGroup>),
    Failed(String),
}
