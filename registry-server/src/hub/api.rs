//! The hub's JSON API: the data of the pages, for scripts. Errors use the registry's error document
//! (`{"errors":[{"code","message","detail"}]}`).
//!
//! - `GET /hub/api/policies?q=&page=&per_page=` → `{"query", "total", "page", "per_page", "policies": [Summary…]}`,
//!   with a `Link` header to the first, previous, next and last pages;
//! - `GET /hub/api/policies/<repository>?tag=` → a [`PolicyPage`] (a [`Detail`](super::view::Detail) and what the page shows beside it).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::pages::{ListParams, PolicyParams};
use super::paging::Paging;
use super::policy_page::PolicyPage;
use super::state::HubState;
use super::view::Summary;
use super::{access, results, search};
use crate::errors::{RegistryError, Result};
use crate::storage::Storage;

/// The answer of a search: one page of it.
#[derive(Debug, Serialize)]
pub struct SearchResults {
    /// The search text, as given.
    pub query: String,
    /// How many policies the search found, on every page.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
    /// The policies found on this page, most relevant first.
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
        let paging = params.paging()?;
        let (total, policies) =
            results::page(&state.app, &state.hub, &headers, &query, paging).await?;
        Ok::<_, RegistryError>(SearchResults {
            query: params.q.clone(),
            total,
            page: paging.page,
            per_page: paging.per_page,
            policies,
        })
    };
    match answer.await {
        Ok(results) => {
            let paging = Paging {
                page: results.page,
                per_page: results.per_page,
            };
            let link = paging.link_header("/hub/api/policies", &results.query, results.total);
            let mut response = Json(results).into_response();
            if let Ok(value) = HeaderValue::try_from(link)
                && !value.is_empty()
            {
                response.headers_mut().insert(header::LINK, value);
            }
            response
        }
        Err(e) => e.into_response(),
    }
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
        PolicyPage::new(
            &*state.app.storage,
            &repository,
            shown,
            &access::host(&headers),
        )
        .await
    };
    json(answer.await)
}

fn json<T: Serialize>(answer: Result<T>) -> Response {
    match answer {
        Ok(value) => Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}
