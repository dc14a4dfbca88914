//! `GET /hub/diff/<repository>?from=&to=`: what changed between two tags of a policy, as a page, and
//! `GET /hub/api/diff/<repository>?from=&to=` as a [`PolicyDiff`]. `from` is required; `to` defaults to the tag the
//! policy's page shows first. A tag that names no policy is `404`, a missing `from` `400`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access;
use super::diff::{ChangeKind, PolicyDiff};
use super::html::{escape, page, respond};
use super::index::Repository;
use super::pages::error_page;
use super::state::HubState;
use crate::errors::Result;
use crate::storage::Storage;

/// The query string of a diff: the two tags.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiffParams {
    /// The older tag.
    pub from: Option<String>,
    /// The newer tag (default: the tag the policy's page shows first).
    pub to: Option<String>,
}

async fn compared<S: Storage>(
    state: &HubState<S>,
    name: &str,
    params: &DiffParams,
    headers: &HeaderMap,
) -> Result<(Repository, PolicyDiff)> {
    let repository = access::repository(&state.app, &state.hub, headers, name).await?;
    let diff = PolicyDiff::new(&repository, params.from.as_deref(), params.to.as_deref())?;
    Ok((repository, diff))
}

/// `GET /hub/diff/<repository>?from=&to=`.
pub async fn diff_page<S: Storage>(
    State(state): State<HubState<S>>,
    Path(name): Path<String>,
    Query(params): Query<DiffParams>,
    headers: HeaderMap,
) -> Response {
    match compared(&state, &name, &params, &headers).await {
        Ok((repository, diff)) => {
            let title = format!("{}: {} → {}", diff.repository, diff.from.tag, diff.to.tag);
            respond(
                StatusCode::OK,
                page(&title, "", &diff_main(&repository, &diff)),
            )
        }
        Err(e) => error_page(e, ""),
    }
}

/// `GET /hub/api/diff/<repository>?from=&to=`.
pub async fn diff_json<S: Storage>(
    State(state): State<HubState<S>>,
    Path(name): Path<String>,
    Query(params): Query<DiffParams>,
    headers: HeaderMap,
) -> Response {
    match compared(&state, &name, &params, &headers).await {
        Ok((_, diff)) => Json(diff).into_response(),
        Err(e) => e.into_response(),
    }
}

fn diff_main(repository: &Repository, diff: &PolicyDiff) -> String {
    let side = |side: &super::diff::Side| {
        format!(
            "<a href=\"{}\">{}</a> <code class=\"muted\">{}</code>",
            escape(&side.page),
            escape(&side.tag),
            escape(&side.digest.to_string())
        )
    };
    let mut out = format!(
        "<h1>Changes in {}</h1>\n<p>From {} to {}</p>\n",
        escape(&diff.repository),
        side(&diff.from),
        side(&diff.to)
    );
    out.push_str(&tag_form(repository, diff));
    if diff.same_manifest {
        out.push_str("<p>Both tags name the same manifest: nothing changed.</p>\n");
        return out;
    }
    if diff.changes.is_empty() {
        out.push_str(
            "<p>The metadata and the annotations are the same; the module's code may differ.</p>\n",
        );
        return out;
    }
    out.push_str(
        "<table>\n<caption>What changed</caption>\n<thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Change</th>\
         <th scope=\"col\">Before</th><th scope=\"col\">After</th></tr></thead>\n<tbody>\n",
    );
    for change in &diff.changes {
        let field = match &change.key {
            Some(key) => format!("{} <code>{}</code>", change.field, escape(key)),
            None => change.field.to_string(),
        };
        let kind = match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        };
        let value = |value: &Option<String>| {
            value
                .as_deref()
                .map(|v| format!("<pre>{}</pre>", escape(v)))
                .unwrap_or_default()
        };
        out.push_str(&format!(
            "<tr><td>{field}</td><td>{kind}</td><td>{}</td><td>{}</td></tr>\n",
            value(&change.from),
            value(&change.to)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// A form to compare two other tags.
fn tag_form(repository: &Repository, diff: &PolicyDiff) -> String {
    let options = |selected: &str| {
        repository
            .policies
            .iter()
            .map(|p| {
                let mark = if p.tag == selected { " selected" } else { "" };
                format!("<option{mark}>{}</option>", escape(&p.tag))
            })
            .collect::<String>()
    };
    format!(
        "<form class=\"compare\" action=\"/hub/diff/{}\" method=\"get\">\
<label for=\"from\">From</label> <select id=\"from\" name=\"from\">{}</select> \
<label for=\"to\">to</label> <select id=\"to\" name=\"to\">{}</select> \
<button type=\"submit\">Compare</button></form>\n",
        escape(&diff.repository),
        options(&diff.from.tag),
        options(&diff.to.tag)
    )
}
