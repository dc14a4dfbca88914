//! The HTTP API of the OCI Distribution Specification v1.1: routing, and one module per area of the spec.

mod base;
mod blobs;
mod catalog;
mod headers;
mod manifests;
mod pagination;
mod referrers;
mod request;
mod route;
mod tags;
mod token;
mod trust;
mod uploads;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::auth::{Action, Identity};
use crate::errors::{RegistryError, Result};
use crate::state::AppState;
use crate::storage::Storage;
use request::{Params, Request};
use route::Route;

/// The routes of the registry API.
pub fn router<S: Storage>(state: AppState<S>) -> Router {
    Router::new()
        .route("/v2", get(base::check::<S>))
        .route("/v2/", get(base::check::<S>))
        .route("/v2/{*path}", any(dispatch::<S>))
        .route("/token", get(token::issue::<S>))
        .route("/trust/pending", get(trust::pending::<S>))
        .with_state(state)
}

async fn dispatch<S: Storage>(
    State(state): State<AppState<S>>,
    method: Method,
    Path(path): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = match Query::<Params>::try_from_uri(&uri) {
        Ok(Query(params)) => params,
        Err(e) => {
            return RegistryError::QueryInvalid(e.to_string()).into_response();
        }
    };
    let request = Request {
        method,
        params,
        headers,
        body,
    };
    let handled = match route::parse(&path) {
        Ok(Some(route)) => authorize_and_handle(&state, route, request).await,
        Ok(None) => Ok(not_found()),
        Err(e) => Err(e),
    };
    handled.unwrap_or_else(IntoResponse::into_response)
}

async fn authorize_and_handle<S: Storage>(
    state: &AppState<S>,
    route: Route,
    request: Request,
) -> Result<Response> {
    let identity = state.auth.identify(&request.headers).await?;
    if let Some(repo) = route.repo() {
        let action = required_action(&route, &request.method);
        state
            .auth
            .authorize(&request.headers, &identity, repo.as_str(), action)?;
    }
    handle(state, &identity, route, request).await
}

/// What a request does: reads pull, deleting content deletes, everything else (cancelling an upload too) pushes.
fn required_action(route: &Route, method: &Method) -> Action {
    match (route, method) {
        (_, &Method::GET | &Method::HEAD) => Action::Pull,
        (Route::Blob(..) | Route::Manifest(..), &Method::DELETE) => Action::Delete,
        _ => Action::Push,
    }
}

async fn handle<S: Storage>(
    state: &AppState<S>,
    identity: &Identity,
    route: Route,
    request: Request,
) -> Result<Response> {
    let storage = &*state.storage;
    match (route, request.method.clone()) {
        (Route::Catalog, Method::GET) => {
            catalog::list(storage, &state.auth, identity, &request.params).await
        }
        (Route::Tags(repo), Method::GET) => tags::list(storage, &repo, &request.params).await,
        (Route::Referrers(repo, digest), Method::GET) => {
            referrers::list(storage, &repo, &digest, &request.params).await
        }
        (Route::Manifest(repo, reference), method @ (Method::GET | Method::HEAD)) => {
            let may_push = state.auth.allows(identity, repo.as_str(), Action::Push);
            manifests::get(state, &repo, &reference, method == Method::HEAD, may_push).await
        }
        (Route::Manifest(repo, reference), Method::PUT) => {
            manifests::put(state, &repo, &reference, request.headers, request.body).await
        }
        (Route::Manifest(repo, reference), Method::DELETE) => {
            manifests::delete(storage, &repo, &reference).await
        }
        (Route::Blob(repo, digest), Method::GET) => {
            blobs::get(storage, &repo, &digest, &request.headers, false).await
        }
        (Route::Blob(repo, digest), Method::HEAD) => {
            blobs::get(storage, &repo, &digest, &request.headers, true).await
        }
        (Route::Blob(repo, digest), Method::DELETE) => blobs::delete(storage, &repo, &digest).await,
        (Route::UploadStart(repo), Method::POST) => {
            let may_mount_from = |from: &str| state.auth.allows(identity, from, Action::Pull);
            uploads::start(storage, &repo, may_mount_from, request).await
        }
        (Route::Upload(repo, id), method) => {
            uploads::session(storage, &repo, &id, method, request).await
        }
        (_, method) => Err(RegistryError::Unsupported(format!(
            "{method} is not allowed here"
        ))),
    }
}

fn not_found() -> Response {
    let body = serde_json::json!({ "errors": [{ "code": "NOT_FOUND", "message": "no such endpoint", "detail": null }] });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}
