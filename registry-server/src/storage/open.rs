//! Opening a registry's storage, of whichever kind a configuration names, for the commands that work on it
//! directly (serving, garbage collection, moving a registry from one storage to another).

use std::path::PathBuf;

use super::collection::{GcOptions, GcReport};
use super::copy::{CopyReport, copy_all};
use super::local::LocalStorage;
use super::shared::{SharedStorage, SharedStorageOptions};
use crate::errors::Result;

/// Where a registry keeps its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    /// A local folder: one server.
    Folder(PathBuf),
    /// An object store and PostgreSQL: any number of replicas.
    Shared(SharedStorageOptions),
}

/// A storage, opened.
pub enum OpenedStorage {
    /// On a local folder.
    Folder(LocalStorage),
    /// On an object store and PostgreSQL.
    Shared(SharedStorage),
}

impl OpenedStorage {
    /// Opens the storage `kind` names (connecting to a shared one, whose schema is brought up to date), refusing
    /// blobs larger than `max_blob_bytes`.
    pub async fn open(kind: StorageKind, max_blob_bytes: Option<u64>) -> Result<OpenedStorage> {
        let max = max_blob_bytes.unwrap_or(u64::MAX);
        Ok(match kind {
            StorageKind::Folder(root) => {
                OpenedStorage::Folder(LocalStorage::new(root).with_max_blob_bytes(max))
            }
            StorageKind::Shared(options) => OpenedStorage::Shared(
                SharedStorage::connect(&options)
                    .await?
                    .with_max_blob_bytes(max),
            ),
        })
    }

    /// Where it stores, for people to read (no credentials).
    pub fn description(&self) -> String {
        match self {
            OpenedStorage::Folder(storage) => storage.root().display().to_string(),
            OpenedStorage::Shared(storage) => storage.to_string(),
        }
    }

    /// Removes what no tag reaches (see [`GcOptions`]).
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport> {
        match self {
            OpenedStorage::Folder(storage) => storage.collect_garbage(options).await,
            OpenedStorage::Shared(storage) => storage.collect_garbage(options).await,
        }
    }

    /// Copies everything a tag reaches into `to` (see [`copy_all`]); `progress` is told each repository.
    pub async fn copy_to(&self, to: &OpenedStorage, progress: impl Fn(&str)) -> Result<CopyReport> {
        use OpenedStorage::{Folder, Shared};
        match (self, to) {
            (Folder(from), Folder(to)) => copy_all(from, to, progress).await,
            (Folder(from), Shared(to)) => copy_all(from, to, progress).await,
            (Shared(from), Folder(to)) => copy_all(from, to, progress).await,
            (Shared(from), Shared(to)) => copy_all(from, to, progress).await,
        }
    }
}
