//! `GET /hub/artifacthub-pkg/<repository>?tag=`: the tag's `artifacthub-pkg.yml`, as `palisade scaffold
//! artifacthub` (and `kwctl scaffold artifacthub`) write it from the same metadata; `422` naming what the metadata
//! lacks when it cannot make one.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::access;
use super::install::artifacthub_pkg;
use super::pages::PolicyParams;
use super::state::HubState;
use crate::errors::RegistryError;
use crate::storage::Storage;

/// `GET /hub/artifacthub-pkg/<repository>?tag=`.
pub async fn artifacthub_package<S: Storage>(
    State(state): State<HubState<S>>,
    Path(name): Path<String>,
    Query(params): Query<PolicyParams>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let repository = access::repository(&state.app, &state.hub, &headers, &name).await?;
        let shown = repository.shown(params.tag.as_deref())?;
        artifacthub_pkg(&shown.policy).map_err(RegistryError::HubDocumentUnavailable)
    };
    match answer.await {
        Ok(document) => {
            let mut response = document.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/yaml; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"artifacthub-pkg.yml\""),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}
