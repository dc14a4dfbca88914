//! Palisade's bundled OCI registry: the OCI Distribution Specification v1.1 (blobs, chunked and monolithic uploads,
//! cross-repository mounts, manifests by tag and digest, tags, referrers, catalog) over a content-addressed local
//! folder that never shows a partial or unverified blob.
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
pub mod storage;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use axum::serve::Listener;
use tokio::net::TcpListener;

pub use auth::Auth;
pub use config::Config;
pub use errors::{RegistryError, Result};
pub use metrics::Metrics;
pub use storage::{LocalStorage, Storage};

/// Limits on what a request may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest manifest accepted, in bytes.
    pub max_manifest_bytes: usize,
    /// Registry API requests answered at once; more answer `429`. Unlimited if `None`.
    pub max_requests_in_flight: Option<usize>,
}

/// What every request handler shares: the storage, the limits, the metrics, the access rules and the hub's index.
pub struct AppState<S> {
    /// Where content lives.
    pub storage: Arc<S>,
    /// Request limits.
    pub limits: Limits,
    /// Request counters, served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Who may do what.
    pub auth: Arc<Auth>,
    /// The web hub's index of policies; `None` when the hub is not served.
    pub hub: Option<Arc<hub::Hub>>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            storage: Arc::clone(&self.storage),
            limits: self.limits.clone(),
            metrics: Arc::clone(&self.metrics),
            auth: Arc::clone(&self.auth),
            hub: self.hub.clone(),
        }
    }
}

impl<S: Storage> AppState<S> {
    /// The state for `storage` with `limits` and `auth`, fresh metrics, and the hub served.
    pub fn new(storage: Arc<S>, limits: Limits, auth: Auth) -> AppState<S> {
        AppState {
            storage,
            limits,
            metrics: Arc::default(),
            auth: Arc::new(auth),
            hub: Some(Arc::default()),
        }
    }
}

impl AppState<LocalStorage> {
    /// The state for `config`: local storage under its root, with its limits and access rules.
    pub fn from_config(config: &Config) -> Result<AppState<LocalStorage>> {
        let mut storage = LocalStorage::new(&config.root);
        if let Some(max) = config.max_blob_bytes {
            storage = storage.with_max_blob_bytes(max);
        }
        let limits = Limits {
            max_manifest_bytes: config.max_manifest_bytes,
            max_requests_in_flight: config.max_requests_in_flight,
        };
        let mut state = AppState::new(
            Arc::new(storage),
            limits,
            Auth::from_config(&config.auth, config.tls.is_some())?,
        );
        if !config.hub {
            state.hub = None;
        }
        Ok(state)
    }
}

/// The registry as an HTTP service: the OCI API and the hub (capped if so configured), `/healthz` and `/metrics`,
/// every request counted and logged.
pub fn app<S: Storage>(state: AppState<S>) -> Router {
    let metrics = Arc::clone(&state.metrics);
    let cap = state.limits.max_requests_in_flight.map(limit::Cap::new);
    let hub = state.hub.clone();
    let mut router = api::router(state.clone());
    if let Some(hub) = hub {
        router = router
            .layer(middleware::from_fn_with_state(Arc::clone(&hub), hub::watch))
            .merge(hub::router(state, hub));
    }
    if let Some(cap) = cap {
        router = router.layer(middleware::from_fn_with_state(cap, limit::enforce));
    }
    router
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(metrics::handler).with_state(Arc::clone(&metrics)),
        )
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
}

/// Serves the registry on `listener` (a [`TcpListener`] or a [`tls::TlsListener`]) until `shutdown` completes,
/// then lets in-flight requests, uploads included, finish.
///
/// Upload sessions untouched for `upload_ttl` are removed in the background.
pub async fn serve<S: Storage, L: Listener<Addr = SocketAddr>>(
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
    let local = listener.local_addr().ok();
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| RegistryError::Serve {
            addr: local.map_or_else(|| "the listener".to_string(), |a| a.to_string()),
            source,
        });
    expiry.abort();
    served
}

/// A registry bound to its address, ready to serve: binding first lets the caller learn the port (`--addr
/// 127.0.0.1:0`) before serving.
pub struct Server {
    listener: Bound,
    local_addr: SocketAddr,
    state: AppState<LocalStorage>,
    upload_ttl: Duration,
}

/// A plain or a TLS listener.
enum Bound {
    Plain(TcpListener),
    Tls(tls::TlsListener),
}

impl Server {
    /// Checks `config`, opens its storage and binds its address.
    pub async fn bind(config: &Config) -> Result<Server> {
        let state = AppState::from_config(config)?;
        let acceptor = config
            .tls
            .as_ref()
            .map(tls::TlsConfig::acceptor)
            .transpose()?;
        let bind_error = |source| RegistryError::Serve {
            addr: config.addr.clone(),
            source,
        };
        let tcp = TcpListener::bind(&config.addr).await.map_err(bind_error)?;
        let local_addr = tcp.local_addr().map_err(bind_error)?;
        let listener = match acceptor {
            Some(acceptor) => Bound::Tls(tls::TlsListener::new(tcp, acceptor).map_err(bind_error)?),
            None => Bound::Plain(tcp),
        };
        Ok(Server {
            listener,
            local_addr,
            state,
            upload_ttl: config.upload_ttl(),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until Ctrl-C or SIGTERM, then lets the requests in flight finish.
    pub async fn run_until_signal(self) -> Result<()> {
        let root = self.state.storage.root().display().to_string();
        tracing::info!(addr = %self.local_addr, %root, "registry listening");
        let served = match self.listener {
            Bound::Plain(listener) => {
                serve(listener, self.state, self.upload_ttl, shutdown_signal()).await
            }
            Bound::Tls(listener) => {
                serve(listener, self.state, self.upload_ttl, shutdown_signal()).await
            }
        };
        tracing::info!("registry stopped");
        served
    }
}

/// Completes on Ctrl-C, or on SIGTERM on Unix: the graceful-shutdown trigger shared by
/// the registry and `palisade policy-server`.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
