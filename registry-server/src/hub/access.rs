//! Who may see what in the hub: the registry's own access rules. When anonymous clients may not pull, the hub asks
//! for the same credentials (HTTP Basic, which browsers prompt for); everyone sees only the repositories they may
//! pull, and a repository they may not pull is as unknown to them as one that does not exist.

use std::sync::Arc;

use axum::http::{HeaderMap, header};

use super::index::{Hub, Repository};
use crate::auth::{Action, Identity};
use crate::errors::{RegistryError, Result};
use crate::state::AppState;
use crate::storage::Storage;

/// The challenge browsers answer with a login prompt.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"Palisade hub\", charset=\"UTF-8\"";

/// The repositories holding policies that the client may pull, by name; `401` if it must (or failed to) log in.
pub async fn visible<S: Storage>(
    state: &AppState<S>,
    hub: &Hub,
    headers: &HeaderMap,
) -> Result<Vec<Arc<Repository>>> {
    let refused = || RegistryError::Unauthorized {
        challenge: BASIC_CHALLENGE.to_string(),
    };
    let identity = state.auth.identify(headers).await.map_err(|_| refused())?;
    if identity == Identity::Anonymous && !state.auth.allows(&identity, "", Action::Pull) {
        return Err(refused());
    }
    let snapshot = hub.index.snapshot(&*state.storage).await?;
    Ok(snapshot
        .repositories
        .values()
        .filter(|r| state.auth.allows(&identity, &r.name, Action::Pull))
        .cloned()
        .collect())
}

/// The visible repository `name`; `NAME_UNKNOWN` if it holds no policy or the client may not pull it.
pub async fn repository<S: Storage>(
    state: &AppState<S>,
    hub: &Hub,
    headers: &HeaderMap,
    name: &str,
) -> Result<Arc<Repository>> {
    crate::names::RepoName::parse(name)?;
    visible(state, hub, headers)
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| RegistryError::NameUnknown {
            name: name.to_string(),
        })
}

/// The registry's name as this client reaches it (`Host`), for references and pull commands.
pub fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost")
        .to_string()
}
