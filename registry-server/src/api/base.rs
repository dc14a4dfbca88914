//! `GET /v2/`: tells clients this is an OCI distribution registry, and checks their credentials (`docker login`
//! calls it to test them).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::headers::{API_VERSION, Headers};
use crate::auth::Identity;
use crate::state::AppState;
use crate::storage::Storage;

/// Answers `200 OK` with an empty JSON object, or `401` if credentials are wrong, or missing where some are needed.
pub async fn check<S: Storage>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let answer = match state.auth.identify(&headers).await {
        Ok(Identity::Anonymous) if state.auth.requires_login() => {
            Err(state.auth.challenge(&headers, None))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    match answer {
        Ok(()) => Headers::default()
            .with(API_VERSION, "registry/2.0")
            .with(axum::http::header::CONTENT_TYPE, "application/json")
            .respond(StatusCode::OK, "{}"),
        Err(e) => e.into_response(),
    }
}
