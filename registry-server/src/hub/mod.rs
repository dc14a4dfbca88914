//! The web hub: browse and search the policies the registry holds, as HTML pages and as a JSON API, served by the
//! registry process beside `/v2/`.
//!
//! - [`catalog`]: keeps the storage's catalog (one entry per repository, searched by the storage's database)
//!   current with every change, through whichever server, and reads entries back;
//! - [`index`]: what a repository holds: its policy tags, with what is attached to each;
//! - [`module`]: a policy's manifest and the metadata read from its module layer, computed once per digest;
//! - [`search`]: the query language (words and `mutating:`, `mode:`, `kind:`, `signed:` filters) and what an entry is
//!   found by;
//! - [`view`]: what the pages and the JSON API show about a policy;
//! - `access`: who may see which repositories (the registry's own rules);
//! - [`diff`]: what changed between two tags; [`install`]: the `ClusterAdmissionPolicy`, `palisade run` command and
//!   `artifacthub-pkg.yml` of a tag; [`markdown`]: the usage text rendered and sanitised; [`sbom_packages`]: the
//!   packages an attached SBOM lists; [`policy_page`]: all a policy's page shows;
//! - `html`, `pages`, `policy_sections` and `diff_page`: the server-rendered pages; `api`: the JSON API;
//!   `artifacthub_download`: the package file; `paging` and `results`: pages of results; `state`: what their
//!   handlers share.
//!
//! Routes: `/` redirects to `/hub`; `/hub?q=&page=&per_page=` lists and searches; `/hub/policies/<repository>?tag=`
//! shows one policy; `/hub/api/policies?q=&page=&per_page=` and `/hub/api/policies/<repository>?tag=` answer the
//! same in JSON; `/hub/diff/<repository>?from=&to=` (and `/hub/api/diff/…`) compares two tags;
//! `/hub/artifacthub-pkg/<repository>?tag=` downloads a tag's `artifacthub-pkg.yml`; `/hub/pending` lists the tags
//! that wait for a trusted signature in the repositories the client may push to. (These name the repository
//! last, because a repository's name may end in any word.)

mod access;
mod api;
mod artifacthub_download;
pub mod catalog;
pub mod diff;
mod diff_page;
mod html;
pub mod index;
pub mod install;
pub mod markdown;
pub mod module;
mod pages;
mod paging;
mod pending_page;
pub mod policy_page;
mod policy_sections;
mod results;
pub mod sbom_packages;
pub mod search;
mod state;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::state::AppState;
use crate::storage::Storage;
pub use catalog::Hub;
use state::HubState;

/// The hub's routes, over the registry's `state` and the `hub`'s index.
pub fn router<S: Storage>(app: AppState<S>, hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/hub") }))
        .route("/hub/", get(|| async { Redirect::to("/hub") }))
        .route("/hub", get(pages::list::<S>))
        .route("/hub/policies/{*repository}", get(pages::policy::<S>))
        .route("/hub/pending", get(pending_page::pending::<S>))
        .route("/hub/api/policies", get(api::list::<S>))
        .route("/hub/api/policies/{*repository}", get(api::policy::<S>))
        .route("/hub/diff/{*repository}", get(diff_page::diff_page::<S>))
        .route(
            "/hub/api/diff/{*repository}",
            get(diff_page::diff_json::<S>),
        )
        .route(
            "/hub/artifacthub-pkg/{*repository}",
            get(artifacthub_download::artifacthub_package::<S>),
        )
        .with_state(HubState { app, hub })
}
