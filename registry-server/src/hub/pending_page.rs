//! `GET /hub/pending`: the tags of `enforce` trust prefixes that wait for a trusted signature, in the repositories the
//! client may push to (the ones it could sign), each checked now with why its signatures fall short.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::access;
use super::html::{escape, page, respond};
use super::pages::error_page;
use super::state::HubState;
use crate::auth::Action;
use crate::storage::Storage;
use crate::trust::{Waiting, waiting};

/// `GET /hub/pending`.
pub async fn pending<S: Storage>(State(state): State<HubState<S>>, headers: HeaderMap) -> Response {
    let app = &state.app;
    let found = async {
        let identity = access::identity(app, &headers).await?;
        let may_push = |repository: &str| app.auth.allows(&identity, repository, Action::Push);
        waiting(&*app.storage, &app.trust, may_push).await
    };
    match found.await {
        Ok(waiting) => respond(
            StatusCode::OK,
            page("Waiting for a signature", "", &listing(&waiting)),
        ),
        Err(e) => error_page(e, ""),
    }
}

fn listing(waiting: &[Waiting]) -> String {
    let mut out = "<h1>Waiting for a signature</h1>\n".to_string();
    if waiting.is_empty() {
        out.push_str("<p>No tag you may push to waits for a signature.</p>\n");
        return out;
    }
    out.push_str(
        "<p>These tags are stored but not published: clients cannot pull them until a signature that satisfies the \
         trust policy of their prefix is pushed (sign the digest shown).</p>\n<table>\n<thead><tr><th scope=\"col\">\
         Tag</th><th scope=\"col\">Digest to sign</th><th scope=\"col\">Why it waits</th></tr></thead>\n<tbody>\n",
    );
    for tag in waiting {
        out.push_str(&format!(
            "<tr><td><code>{}:{}</code></td><td><code>{}@{}</code></td><td>{}</td></tr>\n",
            escape(&tag.repository),
            escape(&tag.tag),
            escape(&tag.repository),
            escape(&tag.digest.to_string()),
            escape(
                tag.failure
                    .as_deref()
                    .unwrap_or("satisfied now: published at the next push of a signature")
            )
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
