//! What Palisade's two HTTP servers, the registry (`palisade serve`) and the policy server
//! (`palisade policy-server`), share: the Prometheus exposition of their metrics, the listener
//! (plain TCP or TLS) and serving until a graceful shutdown.
//!
//! It knows nothing of registries or policies, so neither server pulls in the other.

pub mod metrics;
