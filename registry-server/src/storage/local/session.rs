//! An upload session as this process holds it: a lock, and where the upload stands once loaded.

use std::sync::Arc;

use artifact::oci::Hasher;

/// Where an upload stands: its size and the SHA-256 of its bytes so far.
pub struct Cursor {
    pub size: u64,
    pub hasher: Hasher,
}

/// A session's lock, holding its cursor once loaded.
pub type Session = Arc<tokio::sync::Mutex<Option<Cursor>>>;
