//! Blobs: existence, reads, cross-repository mounts and monolithic pushes.

use std::io::SeekFrom;
use std::path::Path;

use artifact::oci::Digest;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::folder::LocalStorage;
use super::ingest;
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::backend::{BlobContent, Upload};
use crate::storage::body::check_digest;
use artifact::oci::Hasher;

/// Read buffer for serving blobs.
const READ_CHUNK: usize = 256 * 1024;

/// The size of a blob `repo` holds, if its content is present.
pub async fn size(storage: &LocalStorage, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
    let link = storage.layout.blob_link(repo, digest);
    if !exists(storage, &link).await? {
        return Ok(None);
    }
    let path = storage.layout.blob(digest);
    match tokio::fs::metadata(&path).await {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(storage.fs.err("reading", &path, e)),
    }
}

/// The size of a blob `repo` holds, refreshing its link's time.
pub async fn keep(storage: &LocalStorage, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
    let size = size(storage, repo, digest).await?;
    if size.is_some() {
        storage
            .fs
            .touch(&storage.layout.blob_link(repo, digest))
            .await?;
    }
    Ok(size)
}

async fn exists(storage: &LocalStorage, path: &Path) -> Result<bool> {
    tokio::fs::try_exists(path)
        .await
        .map_err(|e| storage.fs.err("checking", path, e))
}

/// Streams bytes `start..end` of a blob.
pub async fn read(
    storage: &LocalStorage,
    repo: &RepoName,
    digest: &Digest,
    start: u64,
    end: u64,
) -> Result<BlobContent> {
    let unknown = || RegistryError::BlobUnknown {
        digest: digest.to_string(),
    };
    if !exists(storage, &storage.layout.blob_link(repo, digest)).await? {
        return Err(unknown());
    }
    let path = storage.layout.blob(digest);
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(unknown()),
        Err(e) => return Err(storage.fs.err("opening", &path, e)),
    };
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(|e| storage.fs.err("reading", &path, e))?;
    let len = end.saturating_sub(start);
    let stream = ReaderStream::with_capacity(file.take(len), READ_CHUNK);
    Ok(BlobContent {
        len,
        stream: stream.boxed(),
    })
}

/// Links a blob of `from` into `to`; returns whether `from` held it.
pub async fn mount(
    storage: &LocalStorage,
    from: &RepoName,
    to: &RepoName,
    digest: &Digest,
) -> Result<bool> {
    if size(storage, from, digest).await?.is_none() {
        return Ok(false);
    }
    link(storage, to, digest).await?;
    Ok(true)
}

/// Records that `repo` holds `digest` (and refreshes the link's time, which garbage collection's grace period reads).
pub async fn link(storage: &LocalStorage, repo: &RepoName, digest: &Digest) -> Result<()> {
    storage
        .fs
        .write_atomic(&storage.layout.blob_link(repo, digest), b"")
        .await
}

/// Stores a whole blob from one request body, verified against `digest`.
pub async fn put(
    storage: &LocalStorage,
    repo: &RepoName,
    digest: &Digest,
    upload: Upload,
) -> Result<u64> {
    let staging = storage.fs.staging_path().await?;
    let stored = async {
        let file = tokio::fs::File::create(&staging)
            .await
            .map_err(|e| storage.fs.err("creating", &staging, e))?;
        let mut hasher = Hasher::new(digest.algorithm());
        let size = ingest::append(
            &storage.fs,
            &staging,
            file,
            &mut hasher,
            upload,
            0,
            storage.max_blob_bytes,
        )
        .await?;
        check_digest(&hasher.finish(), digest)?;
        store_verified(storage, &staging, repo, digest).await?;
        Ok(size)
    }
    .await;
    if stored.is_err() {
        let _ = tokio::fs::remove_file(&staging).await;
    }
    stored
}

/// Syncs a verified file, renames it into the blob store and links it into `repo`.
///
/// A blob pushed twice at once ends up the same either way: both files hold the same verified bytes, and the rename
/// that lands last wins.
pub async fn store_verified(
    storage: &LocalStorage,
    file: &Path,
    repo: &RepoName,
    digest: &Digest,
) -> Result<()> {
    let opened = tokio::fs::File::open(file)
        .await
        .map_err(|e| storage.fs.err("opening", file, e))?;
    opened
        .sync_all()
        .await
        .map_err(|e| storage.fs.err("syncing", file, e))?;
    storage
        .fs
        .rename_into_place(file, &storage.layout.blob(digest))
        .await?;
    link(storage, repo, digest).await
}
