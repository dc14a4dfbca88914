//! The hub's JSON API: the data of the pages, for scripts. Errors use the registry's error document
//! (`{"errors":[{"code","message","detail"}]}`).
//!
//! - `GET /hub/api/policies?q=` → `{"query": "…", "policies": [Summary…]}`;
//! - `GET /hub/api/policies/<repository>?tag=` → a [`Detail`].

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::pages::{ListParams, PolicyParams};
use super::state::HubState;
use super::view::{Detail, Summary};
use super::{access, search};
use crate::errors::{RegistryError, Result};
use crate::storage::Storage;

/// The answer of a search.
#[derive(Debug, Serialize)]
pub struct SearchResults {
    /// The search text, as given.
    pub query: String,
    /// The policies found, most relevant first.
    pub policies: Vec<Summary>,
}

/// `GET /hub/api/policies?q=`.
pub async fn list<S: Storage>(
    State(state): State<HubState<S>>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let query = search::Query::parse(&params.q).map_err(RegistryError::QueryInvalid)?;
        let repositories = access::visible(&state.app, &state.hub, &headers).await?;
        let policies = Summary::found(&query, &repositories);
        Ok(SearchResults {
            query: params.q.clone(),
            policies,
        })
    };
    json(answer.await)
}

/// `GET /hub/api/policies/<repository>?tag=`.
pub async fn policy<S: Storage>(
    State(state): State<HubState<S>>,
    Path(name): Path<String>,
    Query(params): Query<PolicyParams>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let repository = access::repository(&state.app, &state.hub, &headers, &name).await?;
        let shown = repository.shown(params.tag.as_deref())?;
        Ok(Detail::new(&repository, shown, &access::host(&headers)))
    };
    json(answer.await)
}

fn json<T: Serialize>(answer: Result<T>) -> Response {
    match answer {
        Ok(value) => Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}
