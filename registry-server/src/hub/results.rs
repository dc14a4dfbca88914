//! One page of search results, as the HTML list and the JSON API both show it.

use axum::http::HeaderMap;

use super::access;
use super::catalog::Hub;
use super::paging::Paging;
use super::search::Query;
use super::view::Summary;
use crate::errors::Result;
use crate::state::AppState;
use crate::storage::Storage;

/// The policies the client may see that `query` finds: how many in all, and the summaries of `paging`'s page.
pub async fn page<S: Storage>(
    state: &AppState<S>,
    hub: &Hub,
    headers: &HeaderMap,
    query: &Query,
    paging: Paging,
) -> Result<(usize, Vec<Summary>)> {
    let found = access::found(state, hub, headers, query).await?;
    let total = found.len();
    let shown = hub
        .repositories(&*state.storage, &paging.slice(found))
        .await?;
    let summaries = shown
        .iter()
        .filter_map(|repository| Some(Summary::new(repository, repository.default_policy()?)))
        .collect();
    Ok((total, summaries))
}
