//! The HTTP API of the OCI Distribution Specification v1.1: routing, and one module per area of the spec.

mod base;
mod blobs;
mod catalog;
mod manifests;
mod pagination;
mod referrers;
mod route;
mod tags;
mod token;
mod uploads;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::auth::{Action, Identity};
use crate::errors::{RegistryError, Result};
use crate::state::AppState;
use crate::storage::{Storage, Upload};
use route::Route;

/// `Docker-Content-Digest`: the digest of the content sent or stored.
pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// `OCI-Subject`: the subject of a pushed manifest, telling the client the registry indexed it as a referrer.
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// `OCI-Filters-Applied`: which filters a referrers listing applied.
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
/// `Blob-Upload-Session-ID`: the id of an upload session.
pub const BLOB_UPLOAD_SESSION_ID: HeaderName = HeaderName::from_static("blob-upload-session-id");
/// `Docker-Upload-UUID`: the legacy name of the upload session id.
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// `Docker-Distribution-API-Version`: tells clients this is a v2 registry.
pub const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");

/// The routes of the registry API.
pub fn router<S: Storage>(state: AppState<S>) -> Router {
    Router::new()
        .route("/v2", get(base::check::<S>))
        .route("/v2/", get(base::check::<S>))
        .route("/v2/{*path}", any(dispatch::<S>))
        .route("/token", get(token::issue::<S>))
        .with_state(state)
}

/// The query parameters any endpoint reads.
#[derive(Debug, Default, Deserialize)]
struct Params {
    digest: Option<String>,
    mount: Option<String>,
    from: Option<String>,
    n: Option<String>,
    last: Option<String>,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
}

/// Everything a handler may read from the request.
struct Request {
    method: Method,
    params: Params,
    headers: HeaderMap,
    body: Body,
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
        (Route::Manifest(repo, reference), Method::GET) => {
            manifests::get(storage, &repo, &reference, false).await
        }
        (Route::Manifest(repo, reference), Method::HEAD) => {
            manifests::get(storage, &repo, &reference, true).await
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

/// Builds response headers from values that are known to be header-safe (digests, names, numbers).
#[derive(Default)]
struct Headers(HeaderMap);

impl Headers {
    fn with(mut self, name: HeaderName, value: impl ToString) -> Headers {
        if let Ok(value) = HeaderValue::try_from(value.to_string()) {
            self.0.insert(name, value);
        }
        self
    }

    fn respond(self, status: StatusCode, body: impl Into<Body>) -> Response {
        (status, self.0, body.into()).into_response()
    }
}

/// A request body as an [`Upload`], with the length from `Content-Length` unless `declared` overrides it.
fn upload(headers: &HeaderMap, body: Body, declared: Option<u64>) -> Result<Upload> {
    let content_length = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    RegistryError::SizeInvalid("Content-Length is not a number".into())
                })?,
        ),
    };
    if let (Some(length), Some(declared)) = (content_length, declared)
        && length != declared
    {
        return Err(RegistryError::SizeInvalid(format!(
            "Content-Length {length} disagrees with the {declared} bytes of Content-Range"
        )));
    }
    Ok(Upload {
        body: body
            .into_data_stream()
            .map_err(std::io::Error::other)
            .boxed(),
        declared_len: declared.or(content_length),
    })
}
