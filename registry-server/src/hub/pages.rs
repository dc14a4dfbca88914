//! The hub's HTML pages: the list (and search results) and one policy. Every value that comes from a manifest, a
//! module or the request is escaped; the usage text is rendered from Markdown and sanitised (`markdown`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::html::{escape, link_if_web, page, respond};
use super::paging::Paging;
use super::policy_page::PolicyPage;
use super::state::HubState;
use super::view::{AttachmentLink, Detail, Summary};
use super::{access, policy_sections, results, search};
use crate::errors::RegistryError;
use crate::storage::Storage;

/// The query string of the list: `q`, the search; `page` and `per_page` (see [`Paging`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    /// The search text.
    pub q: String,
    /// The page, from 1.
    pub page: Option<String>,
    /// Results per page.
    pub per_page: Option<String>,
}

impl ListParams {
    /// The page asked for.
    pub fn paging(&self) -> crate::errors::Result<Paging> {
        Paging::parse(self.page.as_deref(), self.per_page.as_deref())
    }
}

/// The query string of a policy page: `tag`, the tag to show (the default tag if absent).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyParams {
    /// The tag.
    pub tag: Option<String>,
}

/// `GET /hub?q=`: every visible policy, or those the search finds.
pub async fn list<S: Storage>(
    State(state): State<HubState<S>>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Response {
    let parsed = search::Query::parse(&params.q)
        .and_then(|query| Ok((query, params.paging().map_err(|e| e.to_string())?)));
    let (query, paging) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            let main = format!(
                "<h1>Policies</h1>\n<section id=\"results\" aria-live=\"polite\"><p class=\"error\" role=\"alert\">{}</p></section>\n{}",
                escape(&problem),
                SEARCH_HELP
            );
            return respond(StatusCode::BAD_REQUEST, page("Search", &params.q, &main));
        }
    };
    let (total, shown) = match results::page(&state.app, &state.hub, &headers, &query, paging).await
    {
        Ok(found) => found,
        Err(e) => return error_page(e, &params.q),
    };
    let title = if params.q.trim().is_empty() {
        "Policies".to_string()
    } else {
        format!("Search: {}", params.q.trim())
    };
    let waiting_link = if state.app.trust.enforces() {
        "<p class=\"muted\"><a href=\"/hub/pending\">Tags waiting for a signature</a></p>\n"
    } else {
        ""
    };
    let main = format!(
        "<h1>{}</h1>\n{waiting_link}<section id=\"results\" aria-live=\"polite\">\n{}</section>\n{}",
        escape(&title),
        results_section(
            &shown,
            total,
            &paging,
            &params.q,
            query == search::Query::default()
        ),
        SEARCH_HELP
    );
    respond(StatusCode::OK, page(&title, &params.q, &main))
}

const SEARCH_HELP: &str = "<details><summary>Search syntax</summary>\n\
<p>Words match the beginning of words in the repository name, title, description, annotations, rule resources, \
execution mode and usage text, ignoring case; every word must match. Filters narrow the results:</p>\n<ul>\n\
<li><code>mutating:true</code>, <code>mutating:false</code></li>\n\
<li><code>mode:opa</code>, <code>mode:gatekeeper</code>, <code>mode:kubewarden-wapc</code> (or <code>mode:wapc</code>), <code>mode:wasi</code></li>\n\
<li><code>kind:Pod</code> or <code>kind:pods</code>: rules that match that resource, or every resource</li>\n\
<li><code>signed:true</code>, <code>signed:false</code></li>\n\
<li><code>verified:true</code>, <code>verified:false</code>: signatures that satisfy (do not satisfy) the trust policy of \
the repository's prefix</li>\n</ul>\n\
<p>The same search answers in JSON at <code>/hub/api/policies?q=</code>.</p></details>";

/// The results section; `everything` when the query asked for every policy (so that none found means none yet).
fn results_section(
    found: &[Summary],
    total: usize,
    paging: &Paging,
    query: &str,
    everything: bool,
) -> String {
    if everything && total == 0 {
        return "<p>No policies yet. Push one with <code>palisade push policy.wasm HOST/REPOSITORY:TAG</code>.</p>\n"
            .to_string();
    }
    if total == 0 {
        return format!(
            "<p>No policy matches <q>{}</q>.</p>\n",
            escape(query.trim())
        );
    }
    let mut count = match total {
        1 => "1 policy".to_string(),
        n => format!("{n} policies"),
    };
    let pages = paging.pages(total);
    if pages > 1 {
        count.push_str(&format!(", page {} of {pages}", paging.page));
    }
    let mut out = format!("<p class=\"muted\">{count}</p>\n<ul class=\"results\">\n");
    for summary in found {
        let mut badges = vec![format!("tag {}", summary.tag)];
        badges.extend(summary.execution_mode.clone());
        badges.extend(
            summary
                .mutating
                .map(|m| if m { "mutating" } else { "validating" }.to_string()),
        );
        badges.extend(summary.resources.iter().map(|r| format!("resource {r}")));
        let mut html_badges: Vec<String> = badges
            .iter()
            .map(|b| format!("<span class=\"badge\">{}</span>", escape(b)))
            .collect();
        if summary.signed {
            html_badges.push("<span class=\"badge ok\">signed</span>".to_string());
        }
        match summary.verified {
            Some(true) => html_badges.push("<span class=\"badge ok\">verified</span>".to_string()),
            Some(false) => {
                html_badges.push("<span class=\"badge warn\">not verified</span>".to_string())
            }
            None => {}
        }
        if summary.sbom {
            html_badges.push("<span class=\"badge ok\">SBOM</span>".to_string());
        }
        let title = summary
            .title
            .as_deref()
            .map(|t| format!("<p><strong>{}</strong></p>", escape(t)))
            .unwrap_or_default();
        let description = summary
            .description
            .as_deref()
            .map(|d| format!("<p>{}</p>", escape(d)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<li><h2><a href=\"{}\">{}</a></h2>{title}{description}<div>{}</div></li>\n",
            escape(&summary.page),
            escape(&summary.repository),
            html_badges.join(" ")
        ));
    }
    out.push_str("</ul>\n");
    let links: Vec<String> = paging
        .relations(total)
        .into_iter()
        .map(|(rel, page)| {
            let label = match rel {
                "first" => "First",
                "prev" => "Previous",
                "next" => "Next",
                _ => "Last",
            };
            format!(
                "<a rel=\"{rel}\" href=\"/hub{}\">{label}</a>",
                escape(&paging.query(query, page))
            )
        })
        .collect();
    if !links.is_empty() {
        out.push_str(&format!(
            "<nav class=\"pages\" aria-label=\"Pages\">{}</nav>\n",
            links.join(" ")
        ));
    }
    out
}

/// `GET /hub/policies/<repository>?tag=`: one policy, all it says, its tags, signatures and SBOMs.
pub async fn policy<S: Storage>(
    State(state): State<HubState<S>>,
    Path(name): Path<String>,
    Query(params): Query<PolicyParams>,
    headers: HeaderMap,
) -> Response {
    let repository = match access::repository(&state.app, &state.hub, &headers, &name).await {
        Ok(repository) => repository,
        Err(e) => return error_page(e, ""),
    };
    let shown = match repository.shown(params.tag.as_deref()) {
        Ok(shown) => shown,
        Err(e) => return error_page(e, ""),
    };
    let host = access::host(&headers);
    let shown = match PolicyPage::new(&*state.app.storage, &repository, shown, &host).await {
        Ok(shown) => shown,
        Err(e) => return error_page(e, ""),
    };
    let detail = &shown.detail;
    let title = detail.title.as_deref().unwrap_or(&detail.repository);
    respond(StatusCode::OK, page(title, "", &policy_main(&shown)))
}

fn policy_main(shown: &PolicyPage) -> String {
    let detail = &shown.detail;
    let mut out = format!(
        "<h1>{}</h1>\n<p class=\"muted\">{}:{}</p>\n",
        escape(detail.title.as_deref().unwrap_or(&detail.repository)),
        escape(&detail.repository),
        escape(&detail.tag)
    );
    if let Some(description) = &detail.description {
        out.push_str(&format!("<p>{}</p>\n", escape(description)));
    }
    if let Some(problem) = &detail.metadata_problem {
        out.push_str(&format!(
            "<p class=\"error\" role=\"note\">No metadata shown: {}</p>\n",
            escape(problem)
        ));
    }
    out.push_str(&format!(
        "<h2>Pull</h2>\n<pre><code>{}</code></pre>\n",
        escape(&detail.pull)
    ));
    out.push_str(&policy_sections::install(shown));
    out.push_str(&details_list(detail));
    out.push_str(&rules_table(detail));
    out.push_str(&policy_sections::usage(shown));
    out.push_str(&annotations_table(detail));
    out.push_str("<h2>Tags</h2>\n<ul>\n");
    for tag in &detail.tags {
        let current = if tag.tag == detail.tag {
            " aria-current=\"page\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<li><a href=\"{}\"{current}>{}</a> <code class=\"muted\">{}</code></li>\n",
            escape(&tag.page),
            escape(&tag.tag),
            escape(&tag.digest.to_string())
        ));
    }
    out.push_str("</ul>\n");
    out.push_str(&trust_section(detail));
    out.push_str(&attachments(
        "Signatures",
        "No signature attached.",
        &detail.signatures,
    ));
    out.push_str(&attachments("SBOMs", "No SBOM attached.", &detail.sboms));
    out.push_str(&policy_sections::sbom_packages(shown));
    out
}

/// The verdict of the trust policy of the repository's prefix and who vouched for the digest; nothing outside every
/// trust prefix.
fn trust_section(detail: &Detail) -> String {
    let Some(verdict) = &detail.trust else {
        return String::new();
    };
    let mut out = format!(
        "<h2>Trust</h2>\n<p>Checked against the trust policy of prefix <code>{}</code> ({}).</p>\n",
        escape(&verdict.prefix),
        escape(&verdict.mode)
    );
    if verdict.verified {
        out.push_str("<p class=\"ok\" role=\"status\">Verified by:</p>\n<ul class=\"signers\">\n");
        for signer in &verdict.signers {
            out.push_str(&format!("<li><code>{}</code></li>\n", escape(signer)));
        }
        out.push_str("</ul>\n");
        if !verdict.signed_at.is_empty() {
            out.push_str(&format!(
                "<p class=\"muted\">Signed at {}, as the transparency log records it.</p>\n",
                escape(&verdict.signed_at.join(", "))
            ));
        }
    } else {
        out.push_str(&format!(
            "<p class=\"error\" role=\"status\">Not verified: {}</p>\n",
            escape(
                verdict
                    .failure
                    .as_deref()
                    .unwrap_or("no signature satisfies it")
            )
        ));
    }
    out
}

fn details_list(detail: &Detail) -> String {
    let yes_no = |value: Option<bool>| value.map(|v| if v { "yes" } else { "no" }.to_string());
    let text = |value: &Option<String>| value.as_deref().map(escape);
    let rows: [(&str, Option<String>); 16] = [
        ("Reference", Some(escape(&detail.reference))),
        (
            "Digest",
            Some(format!(
                "<code>{}</code>",
                escape(&detail.digest.to_string())
            )),
        ),
        (
            "Manifest size",
            Some(format!("{} bytes", detail.manifest_size)),
        ),
        ("Module size", Some(format!("{} bytes", detail.module_size))),
        ("Version", text(&detail.version)),
        ("Author", text(&detail.author)),
        ("License", text(&detail.license)),
        ("Source", detail.source.as_deref().map(link_if_web)),
        ("Home page", detail.url.as_deref().map(link_if_web)),
        ("Category", text(&detail.category)),
        ("Severity", text(&detail.severity)),
        ("Execution mode", text(&detail.execution_mode)),
        ("Mutating", yes_no(detail.mutating)),
        ("Background audit", yes_no(detail.background_audit)),
        ("Policy type", text(&detail.policy_type)),
        (
            "Context-aware resources",
            (!detail.context_aware_resources.is_empty())
                .then(|| escape(&detail.context_aware_resources.join(", "))),
        ),
    ];
    let mut out = "<h2>Details</h2>\n<dl>\n".to_string();
    for (label, value) in rows {
        if let Some(value) = value {
            out.push_str(&format!("<dt>{label}</dt><dd>{value}</dd>\n"));
        }
    }
    out.push_str("</dl>\n");
    out
}

fn rules_table(detail: &Detail) -> String {
    if detail.rules.is_empty() {
        return "<h2>Rules</h2>\n<p>No rules.</p>\n".to_string();
    }
    let list = |values: &[String]| {
        values
            .iter()
            .map(|v| {
                if v.is_empty() {
                    "\"\" (core)".to_string()
                } else {
                    v.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = "<h2>Rules</h2>\n<table>\n<caption>The admission requests the policy evaluates</caption>\n\
<thead><tr><th scope=\"col\">API groups</th><th scope=\"col\">API versions</th><th scope=\"col\">Resources</th><th scope=\"col\">Operations</th></tr></thead>\n<tbody>\n"
        .to_string();
    for rule in &detail.rules {
        let operations: Vec<String> = rule.operations.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&list(&rule.api_groups)),
            escape(&list(&rule.api_versions)),
            escape(&list(&rule.resources)),
            escape(&operations.join(", "))
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn annotations_table(detail: &Detail) -> String {
    let usage = artifact::metadata::WellKnown::Usage.key();
    let shown: Vec<_> = detail
        .annotations
        .iter()
        .filter(|(key, _)| key.as_str() != usage)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let mut out = "<h2>Annotations</h2>\n<table>\n<thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Value</th></tr></thead>\n<tbody>\n".to_string();
    for (key, value) in shown {
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td></tr>\n",
            escape(key),
            escape(value)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn attachments(heading: &str, none: &str, links: &[AttachmentLink]) -> String {
    let mut out = format!("<h2>{heading}</h2>\n");
    if links.is_empty() {
        out.push_str(&format!("<p>{none}</p>\n"));
        return out;
    }
    out.push_str("<ul>\n");
    for link in links {
        let attachment = &link.attachment;
        let name = attachment
            .tag
            .clone()
            .unwrap_or_else(|| attachment.manifest.to_string());
        out.push_str(&format!(
            "<li>{} <code>{}</code> <a href=\"{}\" download>download</a></li>\n",
            escape(attachment.kind.name()),
            escape(&name),
            escape(&link.url)
        ));
    }
    out.push_str("</ul>\n");
    out
}

/// An error as a page, with the status (and, for `401`, the login challenge) the error calls for.
pub fn error_page(error: RegistryError, query: &str) -> Response {
    let (_, status) = error.code_and_status();
    let message = match &error {
        RegistryError::Unauthorized { .. } => {
            "Log in with a registry user to browse its policies.".to_string()
        }
        RegistryError::NameUnknown { name } => format!("No policy in repository {name}."),
        other => other.to_string(),
    };
    let main = format!(
        "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n<p><a href=\"/hub\">All policies</a></p>",
        escape(status.canonical_reason().unwrap_or("Error")),
        escape(&message)
    );
    let mut response = respond(status, page("Error", query, &main));
    if let RegistryError::Unauthorized { challenge } = &error
        && let Ok(value) = HeaderValue::from_str(challenge)
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
