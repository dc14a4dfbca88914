//! What the host keeps in each evaluation's store, for the host functions and the runtime.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::builtins::Builtin;
use super::guest::Guest;
use crate::engine::Limiter;

/// The builtins a policy calls through `opa_builtinN`, by the ids its `builtins()` export gave.
pub(super) type BuiltinTable = BTreeMap<i32, (String, Builtin)>;

/// Per-evaluation state: lives in one store, dropped with it.
pub(super) struct HostState {
    pub(super) limiter: Limiter,
    /// The instance's exports, once it is instantiated.
    pub(super) guest: Option<Guest>,
    pub(super) builtins: Arc<BuiltinTable>,
}
