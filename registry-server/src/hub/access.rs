//! Who may see what in the hub: the registry's own access rules. When anonymous clients may not pull, the hub asks
//! for the same credentials (HTTP Basic, which browsers prompt for); everyone sees only the repositories they may
//! pull, and a repository they may not pull is as unknown to them as one that does not exist.

use axum::http::{HeaderMap, header};

use super::catalog::Hub;
use super::index::Repository;
use super::search::Query;
use crate::auth::{Action, Identity};
use crate::errors::{RegistryError, Result};
use crate::state::AppState;
use crate::storage::Storage;

/// The challenge browsers answer with a login prompt.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"Palisade hub\", charset=\"UTF-8\"";

/// The client, if it may use the hub; `401` if it must (or failed to) log in.
pub async fn identity<S: Storage>(state: &AppState<S>, headers: &HeaderMap) -> Result<Identity> {
    let refused = || RegistryError::Unauthorized {
        challenge: BASIC_CHALLENGE.to_string(),
    };
    let identity = state.auth.identify(headers).await.map_err(|_| refused())?;
    if identity == Identity::Anonymous && !state.auth.allows(&identity, "", Action::Pull) {
        return Err(refused());
    }
    Ok(identity)
}

/// The repositories holding a policy that `query` finds and the client may pull, most relevant first.
pub async fn found<S: Storage>(
    state: &AppState<S>,
    hub: &Hub,
    headers: &HeaderMap,
    query: &Query,
) -> Result<Vec<String>> {
    let identity = identity(state, headers).await?;
    hub.refresh(&*state.storage, &state.trust).await?;
    let mut found = state.storage.search_catalog(&query.to_catalog()).await?;
    found.retain(|name| state.auth.allows(&identity, name, Action::Pull));
    Ok(found)
}

/// The visible repository `name`; `NAME_UNKNOWN` if it holds no policy or the client may not pull it.
pub async fn repository<S: Storage>(
    state: &AppState<S>,
    hub: &Hub,
    headers: &HeaderMap,
    name: &str,
) -> Result<Repository> {
    crate::names::RepoName::parse(name)?;
    let identity = identity(state, headers).await?;
    let unknown = || RegistryError::NameUnknown {
        name: name.to_string(),
    };
    if !state.auth.allows(&identity, name, Action::Pull) {
        return Err(unknown());
    }
    hub.refresh(&*state.storage, &state.trust).await?;
    hub.repositories(&*state.storage, &[name.to_string()])
        .await?
        .pop()
        .ok_or_else(unknown)
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
