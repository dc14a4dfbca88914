//! Where what policies log goes.

/// The tracing target of what policies log (waPC `tracing/log` calls, their stdout and stderr, Rego's
/// `print` and `trace`), so that a front end can show it apart from the host's own logs.
pub const POLICY_LOG_TARGET: &str = "palisade::policy";
