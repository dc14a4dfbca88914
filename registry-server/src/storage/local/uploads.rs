//! Upload sessions: chunks appended in order to `uploads/<id>/data`, hashed as they arrive, verified and moved into
//! the blob store on completion.
//!
//! The running hash lives in memory; after a restart it is rebuilt once from the data file, so an upload survives a
//! restart. Each session has a lock, so concurrent requests on one session are applied one at a time.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use artifact::oci::{Algorithm, Digest};

use super::folder::LocalStorage;
use super::session::{Cursor, Session};
use super::{blobs, ingest};
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::backend::Upload;
use crate::storage::body::check_digest;
use artifact::oci::Hasher;

/// Starts a session: its folder is built in the staging area and renamed into place complete.
pub async fn start(storage: &LocalStorage, repo: &RepoName) -> Result<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let staging = storage.fs.staging_path().await?;
    let built = async {
        storage.fs.create_dir_all(&staging).await?;
        for (name, content) in [("repo", repo.as_str().as_bytes()), ("data", b"".as_slice())] {
            let path = staging.join(name);
            tokio::fs::write(&path, content)
                .await
                .map_err(|e| storage.fs.err("writing", &path, e))?;
        }
        storage
            .fs
            .rename_into_place(&staging, &storage.layout.upload(&id))
            .await
    }
    .await;
    if built.is_err() {
        let _ = tokio::fs::remove_dir_all(&staging).await;
    }
    built.map(|()| id)
}

/// The number of bytes a session holds.
pub async fn size(storage: &LocalStorage, repo: &RepoName, id: &str) -> Result<u64> {
    let session = session(storage, id);
    let mut slot = session.lock().await;
    Ok(load(storage, repo, id, &mut slot).await?.size)
}

/// Appends one chunk, leaving the session unchanged if anything fails.
pub async fn append(
    storage: &LocalStorage,
    repo: &RepoName,
    id: &str,
    start: Option<u64>,
    upload: Upload,
) -> Result<u64> {
    let session = session(storage, id);
    let mut slot = session.lock().await;
    let cursor = load(storage, repo, id, &mut slot).await?;
    append_to(storage, id, cursor, start, upload).await?;
    Ok(cursor.size)
}

async fn append_to(
    storage: &LocalStorage,
    id: &str,
    cursor: &mut Cursor,
    start: Option<u64>,
    upload: Upload,
) -> Result<()> {
    if let Some(start) = start
        && start != cursor.size
    {
        return Err(RegistryError::ChunkOutOfOrder { size: cursor.size });
    }
    let path = data_path(storage, id);
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .await
        .map_err(|e| storage.fs.err("opening", &path, e))?;
    let before = cursor.hasher.clone();
    match ingest::append(
        &storage.fs,
        &path,
        file,
        &mut cursor.hasher,
        upload,
        cursor.size,
        storage.max_blob_bytes,
    )
    .await
    {
        Ok(written) => {
            cursor.size += written;
            Ok(())
        }
        Err(error) => {
            cursor.hasher = before;
            truncate(storage, &path, cursor.size).await?;
            Err(error)
        }
    }
}

async fn truncate(storage: &LocalStorage, path: &std::path::Path, len: u64) -> Result<()> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .await
        .map_err(|e| storage.fs.err("opening", path, e))?;
    file.set_len(len)
        .await
        .map_err(|e| storage.fs.err("truncating", path, e))
}

/// Appends a last chunk, verifies the whole and stores it as a blob; a digest mismatch ends the session.
pub async fn finish(
    storage: &LocalStorage,
    repo: &RepoName,
    id: &str,
    digest: &Digest,
    start: Option<u64>,
    upload: Upload,
) -> Result<()> {
    let session = session(storage, id);
    let mut slot = session.lock().await;
    let cursor = load(storage, repo, id, &mut slot).await?;
    append_to(storage, id, cursor, start, upload).await?;
    let data = data_path(storage, id);
    let actual = match digest.algorithm() {
        Algorithm::Sha256 => cursor.hasher.clone().finish(),
        other => hash_file(storage, &data, other).await?,
    };
    if let Err(mismatch) = check_digest(&actual, digest) {
        remove(storage, id, &mut slot).await?;
        return Err(mismatch);
    }
    blobs::store_verified(storage, &data, repo, digest).await?;
    remove(storage, id, &mut slot).await
}

/// Ends a session and drops its data.
pub async fn cancel(storage: &LocalStorage, repo: &RepoName, id: &str) -> Result<()> {
    let session = session(storage, id);
    let mut slot = session.lock().await;
    load(storage, repo, id, &mut slot).await?;
    remove(storage, id, &mut slot).await
}

/// Removes sessions (and staging files) untouched for `older_than`, skipping any a request is using.
pub async fn expire(storage: &LocalStorage, older_than: Duration) -> Result<usize> {
    let now = SystemTime::now();
    let stale = |path: PathBuf| async move {
        let modified = tokio::fs::metadata(&path)
            .await
            .and_then(|m| m.modified())
            .ok()?;
        Some(now.duration_since(modified).unwrap_or_default() >= older_than)
    };
    let mut removed = 0;
    for id in storage.fs.list_dir(&storage.layout.uploads()).await? {
        // A folder without data is what a crash right after completing an upload leaves.
        let is_stale = match stale(data_path(storage, &id)).await {
            Some(is_stale) => is_stale,
            None => stale(storage.layout.upload(&id)).await == Some(true),
        };
        if !is_stale {
            continue;
        }
        let session = session(storage, &id);
        if let Ok(mut slot) = session.try_lock() {
            remove(storage, &id, &mut slot).await?;
            removed += 1;
        }
    }
    let staging = storage.layout.staging();
    for name in storage.fs.list_dir(&staging).await? {
        let path = staging.join(name);
        if stale(path.clone()).await == Some(true) {
            let _ = match tokio::fs::remove_dir_all(&path).await {
                Err(_) => tokio::fs::remove_file(&path).await,
                ok => ok,
            };
        }
    }
    Ok(removed)
}

fn data_path(storage: &LocalStorage, id: &str) -> PathBuf {
    storage.layout.upload(id).join("data")
}

/// The lock of session `id`, created on first use.
fn session(storage: &LocalStorage, id: &str) -> Session {
    let mut sessions = storage
        .sessions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    sessions.entry(id.to_string()).or_default().clone()
}

/// The session's cursor, read from disk if this process has not seen it yet.
async fn load<'a>(
    storage: &LocalStorage,
    repo: &RepoName,
    id: &str,
    slot: &'a mut Option<Cursor>,
) -> Result<&'a mut Cursor> {
    let unknown = || RegistryError::BlobUploadUnknown { id: id.to_string() };
    if slot.is_none() {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            forget(storage, id);
            return Err(unknown());
        }
        let owner = storage
            .fs
            .read_optional(&storage.layout.upload(id).join("repo"))
            .await?;
        if owner.as_deref() != Some(repo.as_str().as_bytes()) {
            forget(storage, id);
            return Err(unknown());
        }
        let data = data_path(storage, id);
        let size = match tokio::fs::metadata(&data).await {
            Ok(meta) => meta.len(),
            // Completed, but the process stopped before removing the session's folder.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                forget(storage, id);
                return Err(unknown());
            }
            Err(e) => return Err(storage.fs.err("reading", &data, e)),
        };
        let hasher = hash_prefix(storage, &data, size).await?;
        *slot = Some(Cursor { size, hasher });
    }
    slot.as_mut().ok_or_else(unknown)
}

/// Deletes a session's folder and forgets it.
async fn remove(storage: &LocalStorage, id: &str, slot: &mut Option<Cursor>) -> Result<()> {
    *slot = None;
    forget(storage, id);
    let dir = storage.layout.upload(id);
    match tokio::fs::remove_dir_all(&dir).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(storage.fs.err("removing", &dir, e))
        }
        _ => Ok(()),
    }
}

fn forget(storage: &LocalStorage, id: &str) {
    let mut sessions = storage
        .sessions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    sessions.remove(id);
}

/// The SHA-256 state after the first `len` bytes of `path`.
async fn hash_prefix(storage: &LocalStorage, path: &std::path::Path, len: u64) -> Result<Hasher> {
    hash_with(storage, path, Algorithm::Sha256, len).await
}

/// The digest of a whole file with `algorithm`, for digests other than the SHA-256 computed while streaming.
async fn hash_file(
    storage: &LocalStorage,
    path: &std::path::Path,
    algorithm: Algorithm,
) -> Result<Digest> {
    Ok(hash_with(storage, path, algorithm, u64::MAX)
        .await?
        .finish())
}

async fn hash_with(
    storage: &LocalStorage,
    path: &std::path::Path,
    algorithm: Algorithm,
    len: u64,
) -> Result<Hasher> {
    let owned = path.to_path_buf();
    let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<Hasher> {
        use std::io::Read;
        let mut hasher = Hasher::new(algorithm);
        let mut reader = std::fs::File::open(&owned)?.take(len);
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = reader.read(&mut buffer)?;
            if n == 0 {
                return Ok(hasher);
            }
            hasher.update(&buffer[..n]);
        }
    })
    .await
    .map_err(std::io::Error::other);
    hashed
        .and_then(|inner| inner)
        .map_err(|e| storage.fs.err("hashing", path, e))
}
