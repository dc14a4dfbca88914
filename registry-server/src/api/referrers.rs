//! `GET /v2/<name>/referrers/<digest>`: the manifests whose subject is `<digest>`, as an OCI index.

use artifact::oci::media_types;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::headers::{Headers, OCI_FILTERS_APPLIED};
use super::request::Params;
use crate::errors::Result;
use crate::names::{RepoName, parse_digest};
use crate::storage::Storage;

/// Lists referrers, filtered by `artifactType` if asked; never `404`, as the spec requires.
pub async fn list<S: Storage>(
    storage: &S,
    repo: &RepoName,
    subject: &str,
    params: &Params,
) -> Result<Response> {
    let subject = parse_digest(subject)?;
    let mut found = storage.referrers(repo, &subject).await?;
    let mut headers = Headers::default().with(header::CONTENT_TYPE, media_types::OCI_INDEX);
    if let Some(wanted) = &params.artifact_type {
        found.retain(|d| d.artifact_type.as_deref() == Some(wanted.as_str()));
        headers = headers.with(OCI_FILTERS_APPLIED, "artifactType");
    }
    let body =
        json!({ "schemaVersion": 2, "mediaType": media_types::OCI_INDEX, "manifests": found });
    Ok(headers.respond(StatusCode::OK, body.to_string()))
}
