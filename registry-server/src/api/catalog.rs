//! `GET /v2/_catalog`, paginated.

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::pagination::{link, page};
use super::{Headers, Params};
use crate::errors::Result;
use crate::storage::Storage;

/// Lists every repository in lexical order.
pub async fn list<S: Storage>(storage: &S, params: &Params) -> Result<Response> {
    let names = storage.repositories().await?;
    let (names, next) = page(names, params.n.as_deref(), params.last.as_deref())?;
    let mut headers = Headers::default().with(header::CONTENT_TYPE, "application/json");
    if let Some(next) = next {
        headers = headers.with(header::LINK, link("/v2/_catalog", names.len(), &next));
    }
    Ok(headers.respond(StatusCode::OK, json!({ "repositories": names }).to_string()))
}
