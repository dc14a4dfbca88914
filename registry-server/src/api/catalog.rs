//! `GET /v2/_catalog`, paginated.

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::headers::Headers;
use super::pagination::{link, page};
use super::request::Params;
use crate::auth::{Action, Auth, Identity};
use crate::errors::Result;
use crate::storage::Storage;

/// Lists, in lexical order, the repositories the client may pull from.
pub async fn list<S: Storage>(
    storage: &S,
    auth: &Auth,
    identity: &Identity,
    params: &Params,
) -> Result<Response> {
    let mut names = storage.repositories().await?;
    names.retain(|name| auth.allows(identity, name, Action::Pull));
    let (names, next) = page(names, params.n.as_deref(), params.last.as_deref())?;
    let mut headers = Headers::default().with(header::CONTENT_TYPE, "application/json");
    if let Some(next) = next {
        headers = headers.with(header::LINK, link("/v2/_catalog", names.len(), &next));
    }
    Ok(headers.respond(StatusCode::OK, json!({ "repositories": names }).to_string()))
}
