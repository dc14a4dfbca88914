//! `GET /v2/<name>/tags/list`, paginated.

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::headers::Headers;
use super::pagination::{link, page};
use super::request::Params;
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::Storage;

/// Lists a repository's tags in lexical order.
pub async fn list<S: Storage>(storage: &S, repo: &RepoName, params: &Params) -> Result<Response> {
    let tags = storage
        .tags(repo)
        .await?
        .ok_or_else(|| RegistryError::NameUnknown {
            name: repo.to_string(),
        })?;
    let (tags, next) = page(tags, params.n.as_deref(), params.last.as_deref())?;
    let mut headers = Headers::default().with(header::CONTENT_TYPE, "application/json");
    if let Some(next) = next {
        headers = headers.with(
            header::LINK,
            link(&format!("/v2/{repo}/tags/list"), tags.len(), &next),
        );
    }
    let body = json!({ "name": repo.as_str(), "tags": tags });
    Ok(headers.respond(StatusCode::OK, body.to_string()))
}
