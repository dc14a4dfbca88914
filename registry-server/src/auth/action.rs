//! The actions a request can do to a repository, as the access rules and the token scopes name them.

use serde::{Deserialize, Serialize};

use crate::errors::{RegistryError, Result};

/// What a request does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Read blobs, manifests, tags, referrers.
    Pull,
    /// Upload blobs, put manifests and tags.
    Push,
    /// Delete blobs, manifests and tags.
    Delete,
}

impl Action {
    /// All actions.
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];

    /// The name used in token scopes.
    pub fn name(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl std::str::FromStr for Action {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Action> {
        Action::from_name(s).ok_or_else(|| {
            RegistryError::Config(format!(
                "unknown action {s:?}: expected pull, push or delete"
            ))
        })
    }
}
