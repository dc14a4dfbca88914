//! `GET /token`: the token endpoint of the Docker token flow.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::headers::Headers;
use crate::auth::Identity;
use crate::auth::token::{Access, parse_scope};
use crate::errors::Result;
use crate::state::AppState;
use crate::storage::Storage;

/// Issues a token for the requested `scope`s, granting the actions the (Basic-authenticated or anonymous) client
/// may do; wrong credentials answer `401`.
pub async fn issue<S: Storage>(
    State(state): State<AppState<S>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    answer(&state, &uri, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn answer<S: Storage>(
    state: &AppState<S>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response> {
    let identity = state.auth.identify(headers).await?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let access: Vec<Access> = pairs
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' '))
        .filter_map(parse_scope)
        .map(|(name, wanted)| Access {
            kind: "repository".to_string(),
            actions: state
                .auth
                .granted(&identity, &name, &wanted)
                .into_iter()
                .map(|a| a.name().to_string())
                .collect(),
            name,
        })
        .collect();
    let subject = match &identity {
        Identity::User(user) => user.clone(),
        Identity::Token(claims) => claims.sub.clone(),
        Identity::Anonymous => String::new(),
    };
    let (token, expires_in) = state.auth.tokens().issue(&subject, access)?;
    let body = json!({ "token": token, "access_token": token, "expires_in": expires_in });
    Ok(Headers::default()
        .with(header::CONTENT_TYPE, "application/json")
        .respond(StatusCode::OK, body.to_string()))
}
