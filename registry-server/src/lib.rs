//! Palisade's bundled OCI registry: the OCI Distribution Specification v1.1 (blobs, chunked and monolithic uploads,
//! cross-repository mounts, manifests by tag and digest, tags, referrers, catalog) over a content-addressed local
//! folder, or over an object store and PostgreSQL shared by replicas, never showing a partial or unverified blob.
//!
//! [`app`] builds the HTTP service (testable without a socket); [`serve`] runs it on a listener; [`Server`] binds
//! and serves what a [`Config`] describes. The same service serves the web [`hub`], which browses and searches the
//! policies the registry holds.

mod api;
pub mod auth;
pub mod config;
pub mod errors;
pub mod hub;
mod limit;
pub mod manifest;
pub mod metrics;
pub mod names;
pub mod state;
pub mod storage;
pub mod trust;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::middleware;
use axum::routing::get;
use http_server::Listener;

pub use auth::Auth;
pub use config::Config;
pub use errors::{RegistryError, Result};
pub use metrics::Metrics;
pub use state::{AppState, Limits};
pub use storage::{LocalStorage, OpenedStorage, SharedStorage, Storage, StorageKind};

/// The registry as an HTTP service: the OCI API and the hub (capped if so configured), `/healthz` (the process
/// answers), `/readyz` (its storage answers too) and `/metrics`, every request counted and logged.
pub fn app<S: Storage>(state: AppState<S>) -> Router {
    let metrics = Arc::clone(&state.metrics);
    let storage = Arc::clone(&state.storage);
    let cap = state.limits.max_requests_in_flight.map(limit::Cap::new);
    let hub = state.hub.clone();
    let mut router = api::router(state.clone());
    if let Some(hub) = hub {
        router = router.merge(hub::router(state, hub));
    }
    if let Some(cap) = cap {
        router = router.layer(middleware::from_fn_with_state(cap, limit::enforce));
    }
    router
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness::<S>).with_state(storage))
        .route(
            "/metrics",
            get(metrics::handler).with_state(Arc::clone(&metrics)),
        )
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
}

/// `/readyz`: `ready` when the storage can serve, else why not (`503` when its database or object store cannot be
/// reached), so that a load balancer sends requests elsewhere.
async fn readiness<S: Storage>(State(storage): State<Arc<S>>) -> Result<&'static str> {
    storage.ready().await?;
    Ok("ready\n")
}

/// Serves the registry on `listener` (an [`http_server::Listener`], plain or TLS, or any other) until `shutdown`
/// completes, then lets in-flight requests, uploads included, finish.
///
/// Upload sessions untouched for `upload_ttl` are removed in the background.
pub async fn serve<S: Storage, L: axum::serve::Listener<Addr = SocketAddr>>(
    listener: L,
    state: AppState<S>,
    upload_ttl: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let storage = Arc::clone(&state.storage);
    let expiry = tokio::spawn(async move {
        let mut ticks = tokio::time::interval((upload_ttl / 4).max(Duration::from_secs(1)));
        loop {
            ticks.tick().await;
            match storage.expire_uploads(upload_ttl).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "expired abandoned uploads"),
                Err(error) => tracing::warn!(%error, "could not expire abandoned uploads"),
            }
        }
    });
    let served = http_server::serve(listener, app(state), shutdown).await;
    expiry.abort();
    Ok(served?)
}

/// A registry bound to its address, ready to serve: binding first lets the caller learn the port (`--addr
/// 127.0.0.1:0`) before serving.
pub struct Server {
    listener: Listener,
    state: Served,
    upload_ttl: Duration,
}

/// The state of a server, on whichever storage its configuration names.
enum Served {
    Folder(AppState<LocalStorage>),
    Shared(AppState<SharedStorage>),
}

impl Server {
    /// Checks `config`, opens its storage (connecting to the object store and the database of a shared registry,
    /// whose schema is brought up to date) and binds its address.
    pub async fn bind(config: &Config) -> Result<Server> {
        let state = match OpenedStorage::open(config.storage_kind()?, config.max_blob_bytes).await?
        {
            OpenedStorage::Folder(storage) => {
                Served::Folder(AppState::configured(storage, config)?)
            }
            OpenedStorage::Shared(storage) => {
                Served::Shared(AppState::configured(storage, config)?)
            }
        };
        let acceptor = config
            .tls
            .as_ref()
            .map(http_server::TlsConfig::acceptor)
            .transpose()?;
        let listener = Listener::bind(&config.addr, acceptor).await?;
        Ok(Server {
            listener,
            state,
            upload_ttl: config.upload_ttl(),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr()
    }

    /// Where it stores, for people to read: the folder, or the object store and the database (without credentials).
    pub fn storage_description(&self) -> String {
        match &self.state {
            Served::Folder(state) => state.storage.root().display().to_string(),
            Served::Shared(state) => state.storage.to_string(),
        }
    }

    /// Serves until Ctrl-C or SIGTERM, then lets the requests in flight finish.
    pub async fn run_until_signal(self) -> Result<()> {
        let storage = self.storage_description();
        tracing::info!(addr = %self.local_addr(), %storage, "registry listening");
        let shutdown = http_server::shutdown_signal();
        let served = match self.state {
            Served::Folder(state) => serve(self.listener, state, self.upload_ttl, shutdown).await,
            Served::Shared(state) => serve(self.listener, state, self.upload_ttl, shutdown).await,
        };
        tracing::info!("registry stopped");
        served
    }
}
