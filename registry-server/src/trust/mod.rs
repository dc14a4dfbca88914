//! Trust enforced by the registry: per repository prefix (`trust:` in the configuration), tags that only appear
//! once a signature satisfies a Kubewarden verification config (`enforce`), or whose verification is only reported
//! (`audit`). Verification is the `signing` crate's, offline, on the signatures the storage holds.
//!
//! - `rules`: the configuration and the rule of a repository;
//! - `evidence`: the signatures the storage holds for a manifest;
//! - `enforce`: waiting tags, published when their signatures arrive;
//! - `waiting`: what waits, and why;
//! - `reverify`: every tag checked again after the policy changed;
//! - `opened`: both, on a storage opened from a configuration;
//! - `verdict`: what the hub shows of a digest's trust.

mod enforce;
mod evidence;
mod opened;
mod reverify;
mod rules;
mod verdict;
mod waiting;

pub use enforce::{evaluate, is_attachment_tag, push_tag, settle, signature_arrived, vouched_for};
pub use opened::{reverify_in, waiting_in};
pub use reverify::{Moved, Reverified, reverify};
pub use rules::{TrustEntry, TrustMode, TrustPolicy, TrustRule};
pub use verdict::Verdict;
pub use waiting::{Waiting, waiting};
