//! `GET /v2/`: tells clients this is an OCI distribution registry.

use axum::http::StatusCode;
use axum::response::Response;

use super::{API_VERSION, Headers};

/// Answers `200 OK` with an empty JSON object.
pub async fn check() -> Response {
    Headers::default()
        .with(API_VERSION, "registry/2.0")
        .with(axum::http::header::CONTENT_TYPE, "application/json")
        .respond(StatusCode::OK, "{}")
}
