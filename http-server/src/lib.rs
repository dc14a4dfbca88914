//! What Palisade's two HTTP servers, the registry (`palisade serve`) and the policy server
//! (`palisade policy-server`), share: the [`Listener`] (plain TCP or TLS), [`serve`] until a
//! graceful shutdown (on [`shutdown_signal`] in production), and the Prometheus exposition of their
//! [`metrics`].
//!
//! It knows nothing of registries or policies, so neither server pulls in the other.

mod error;
mod listener;
pub mod metrics;
pub mod tls;

pub use error::{HttpServerError, Result};
pub use listener::{Listener, serve, shutdown_signal};
pub use tls::TlsConfig;
/// What accepts TLS connections ([`TlsConfig::acceptor`]), for callers that build one before binding.
pub use tokio_rustls::TlsAcceptor;
