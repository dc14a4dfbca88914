//! What a garbage collection is asked to do and what it reports, whichever storage it runs on.

use std::time::Duration;

use serde::Serialize;

/// How a collection runs.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Anything written or used more recently than this is kept (an upload in progress references it soon).
    pub grace: Duration,
    /// Count what would be removed, remove nothing.
    pub dry_run: bool,
}

/// What a collection removed (or, in a dry run, would remove).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Manifests removed from a repository.
    pub manifests: usize,
    /// Blob links removed from a repository.
    pub blob_links: usize,
    /// Content files removed from the blob store.
    pub blobs: usize,
    /// Bytes freed in the blob store.
    pub bytes: u64,
}
