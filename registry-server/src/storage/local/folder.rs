//! The local-folder storage's own state: its layout on disk, its file operations, its blob size limit and its
//! open upload sessions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::catalog::CatalogFile;
use super::layout::Layout;
use super::session::Session;
use crate::storage::fsutil::Fs;

/// The local-folder storage.
pub struct LocalStorage {
    pub(super) layout: Layout,
    pub(super) fs: Fs,
    pub(super) max_blob_bytes: u64,
    pub(super) sessions: Mutex<HashMap<String, Session>>,
    /// Repository versions and the hub's catalog.
    pub(super) catalog: CatalogFile,
    /// Held while a tag's wait changes, so that a publish and a new push of the tag do not interleave.
    pub(super) pending: tokio::sync::Mutex<()>,
}

impl LocalStorage {
    /// Storage under `root`, created on first write.
    pub fn new(root: impl Into<PathBuf>) -> LocalStorage {
        let root = root.into();
        let layout = Layout::new(root.clone());
        LocalStorage {
            catalog: CatalogFile::new(layout.clone(), Fs::new(root.clone())),
            layout,
            fs: Fs::new(root),
            max_blob_bytes: u64::MAX,
            sessions: Mutex::new(HashMap::new()),
            pending: tokio::sync::Mutex::new(()),
        }
    }

    /// Refuses blobs larger than `bytes`.
    pub fn with_max_blob_bytes(mut self, bytes: u64) -> LocalStorage {
        self.max_blob_bytes = bytes;
        self
    }

    /// The storage root.
    pub fn root(&self) -> &std::path::Path {
        self.layout.root()
    }
}

impl std::fmt::Debug for LocalStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStorage")
            .field("root", &self.layout.root())
            .finish()
    }
}
