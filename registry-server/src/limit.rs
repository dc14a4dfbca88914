//! A cap on the requests answered at once: past it, clients are told `429 TOOMANYREQUESTS` and retry, rather than
//! the server running out of memory or file descriptors.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::errors::RegistryError;

/// The permits of the cap, and its size for the error message.
#[derive(Clone)]
pub struct Cap {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Cap {
    /// A cap of `limit` requests.
    pub fn new(limit: usize) -> Cap {
        Cap {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

/// Answers the request if a permit is free, `429` otherwise.
pub async fn enforce(State(cap): State<Cap>, request: Request, next: Next) -> Response {
    match cap.permits.clone().try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => RegistryError::TooManyRequests { limit: cap.limit }.into_response(),
    }
}
