//! `GET /trust/pending`: the tags of `enforce` prefixes that wait for a trusted signature, each checked now with why
//! its signatures fall short; a client sees those of the repositories it may push to (the ones it could sign).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Action;
use crate::errors::Result;
use crate::state::AppState;
use crate::storage::Storage;
use crate::trust;

/// `GET /trust/pending` → `{"pending": [Waiting…]}`.
pub async fn pending<S: Storage>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    let answer: Result<_> = async {
        let identity = state.auth.identify(&headers).await?;
        let may_push = |repository: &str| state.auth.allows(&identity, repository, Action::Push);
        trust::waiting(&*state.storage, &state.trust, may_push).await
    }
    .await;
    match answer {
        Ok(waiting) => Json(json!({ "pending": waiting })).into_response(),
        Err(e) => e.into_response(),
    }
}
