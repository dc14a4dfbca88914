//! The web hub: browse and search the policies the registry holds, as HTML pages and as a JSON API, served by the
//! registry process beside `/v2/`.
//!
//! - [`index`]: the policies of every repository, rebuilt for the repositories that pushes and deletes touch;
//! - [`module`]: a policy's manifest and the metadata read from its module layer, computed once per digest;
//! - [`search`]: the query language (words and `mutating:`, `mode:`, `kind:`, `signed:` filters) and relevance;
//! - [`view`]: what the pages and the JSON API show about a policy;
//! - `access`: who may see which repositories (the registry's own rules);
//! - `html` and `pages`: the server-rendered pages; `api`: the JSON API; `paging`: pages of results; `state`: what
//!   their handlers share.
//!
//! Routes: `/` redirects to `/hub`; `/hub?q=&page=&per_page=` lists and searches; `/hub/policies/<repository>?tag=`
//! shows one policy; `/hub/api/policies?q=&page=&per_page=` and `/hub/api/policies/<repository>?tag=` answer the
//! same in JSON.

mod access;
mod api;
mod html;
pub mod index;
pub mod module;
mod pages;
mod paging;
pub mod search;
mod state;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum::routing::get;

use crate::state::AppState;
use crate::storage::Storage;
pub use index::Hub;
use state::HubState;

/// The hub's routes, over the registry's `state` and the `hub`'s index.
pub fn router<S: Storage>(app: AppState<S>, hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/hub") }))
        .route("/hub/", get(|| async { Redirect::to("/hub") }))
        .route("/hub", get(pages::list::<S>))
        .route("/hub/policies/{*repository}", get(pages::policy::<S>))
        .route("/hub/api/policies", get(api::list::<S>))
        .route("/hub/api/policies/{*repository}", get(api::policy::<S>))
        .with_state(HubState { app, hub })
}

/// Middleware around the registry API: once a manifest `PUT` or `DELETE` has succeeded, marks its repository for
/// the index to rebuild, so that no page is stale after a push.
pub async fn watch(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let changed = matches!(*request.method(), Method::PUT | Method::DELETE)
        .then(|| manifest_repository(request.uri().path()))
        .flatten()
        .map(str::to_string);
    let response = next.run(request).await;
    if let Some(repository) = changed
        && response.status().is_success()
    {
        hub.index.touch(&repository);
    }
    response
}

/// The repository of a `/v2/<name>/manifests/<reference>` path; `None` for other paths.
fn manifest_repository(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v2/")?;
    let (before_reference, _) = rest.rsplit_once('/')?;
    let repository = before_reference.strip_suffix("/manifests")?;
    (!repository.is_empty()).then_some(repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_repository_of_manifest_paths_only() {
        assert_eq!(
            manifest_repository("/v2/policies/pod-guard/manifests/v1"),
            Some("policies/pod-guard")
        );
        assert_eq!(manifest_repository("/v2/a/manifests/sha256:00"), Some("a"));
        assert_eq!(manifest_repository("/v2/a/blobs/sha256:00"), None);
        assert_eq!(manifest_repository("/v2/a/tags/list"), None);
        assert_eq!(manifest_repository("/v2//manifests/x"), None);
        assert_eq!(manifest_repository("/hub/policies/a"), None);
    }
}
