//! What every request handler shares: the storage, the limits, the metrics, the access rules, the hub's catalog and
//! the trust policy.

use std::sync::Arc;

use crate::auth::Auth;
use crate::config::Config;
use crate::errors::Result;
use crate::hub::catalog::Hub;
use crate::metrics::Metrics;
use crate::storage::{LocalStorage, Storage};
use crate::trust::TrustPolicy;

/// Limits on what a request may send.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest manifest accepted, in bytes.
    pub max_manifest_bytes: usize,
    /// Registry API requests answered at once; more answer `429`. Unlimited if `None`.
    pub max_requests_in_flight: Option<usize>,
}

/// What every request handler shares: the storage, the limits, the metrics, the access rules and the hub's catalog.
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
    pub hub: Option<Arc<Hub>>,
    /// Which tags must be vouched for by a trusted signer before clients see them.
    pub trust: Arc<TrustPolicy>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            storage: Arc::clone(&self.storage),
            limits: self.limits.clone(),
            metrics: Arc::clone(&self.metrics),
            auth: Arc::clone(&self.auth),
            hub: self.hub.clone(),
            trust: Arc::clone(&self.trust),
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
            trust: Arc::default(),
        }
    }
}

impl<S: Storage> AppState<S> {
    /// The state for `config` over `storage`: its limits, access rules and hub.
    pub fn configured(storage: S, config: &Config) -> Result<AppState<S>> {
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
        state.trust = Arc::new(TrustPolicy::load(&config.trust)?);
        Ok(state)
    }
}

impl AppState<LocalStorage> {
    /// The state for `config` on local storage under its root.
    pub fn from_config(config: &Config) -> Result<AppState<LocalStorage>> {
        let mut storage = LocalStorage::new(&config.root);
        if let Some(max) = config.max_blob_bytes {
            storage = storage.with_max_blob_bytes(max);
        }
        AppState::configured(storage, config)
    }
}
