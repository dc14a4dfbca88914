//! Upload sessions that any replica can continue: the session is a row (its size and the running SHA-256 state), each
//! chunk an object of its own. A chunk is recorded only if the session still has the size it was written for, so
//! two replicas racing for one offset cannot both succeed. On completion the chunks are verified (and, if there are
//! several, assembled into one object) before the blob becomes visible.

use std::time::Duration;

use artifact::oci::{Algorithm, Digest, Hasher};
use futures_util::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::blobs;
use super::connection::SharedStorage;
use super::objects::{self, ObjectWriter};
use super::rows::{to_i64, to_u64};
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::backend::Upload;
use crate::storage::body::{CheckedBody, check_digest};

/// Where a session stands.
struct Session {
    id: Uuid,
    size: u64,
    /// The SHA-256 of its bytes so far.
    hasher: Hasher,
}

/// Starts a session for `repo`; returns its id.
pub async fn start(storage: &SharedStorage, repo: &RepoName) -> Result<String> {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO uploads (id, repository, hash_state) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(repo.as_str())
        .bind(Hasher::new(Algorithm::Sha256).state())
        .execute(&storage.db)
        .await?;
    Ok(id.simple().to_string())
}

/// The number of bytes a session holds.
pub async fn size(storage: &SharedStorage, repo: &RepoName, id: &str) -> Result<u64> {
    Ok(load(&storage.db, repo, id).await?.size)
}

/// Appends one chunk; returns the session's new size.
pub async fn append(
    storage: &SharedStorage,
    repo: &RepoName,
    id: &str,
    start: Option<u64>,
    upload: Upload,
) -> Result<u64> {
    let session = load(&storage.db, repo, id).await?;
    Ok(append_chunk(storage, session, start, upload).await?.size)
}

/// Appends a last chunk, verifies the whole against `digest` and stores it as a blob of `repo`. A digest that does
/// not match ends the session.
pub async fn finish(
    storage: &SharedStorage,
    repo: &RepoName,
    id: &str,
    digest: &Digest,
    start: Option<u64>,
    upload: Upload,
) -> Result<()> {
    let session = load(&storage.db, repo, id).await?;
    let session = append_chunk(storage, session, start, upload).await?;
    let chunks: Vec<String> =
        sqlx::query_scalar("SELECT object FROM upload_chunks WHERE upload = $1 ORDER BY start")
            .bind(session.id)
            .fetch_all(&storage.db)
            .await?;
    let streamed = digest.algorithm() == Algorithm::Sha256;
    if streamed {
        let verified = check_digest(&session.hasher.clone().finish(), digest);
        if let Err(mismatch) = verified {
            remove(storage, session.id).await?;
            return Err(mismatch);
        }
    }
    let verified = match chunks.as_slice() {
        [only] if streamed => Path::from(only.as_str()),
        _ => match assemble(storage, session.id, &chunks, digest).await {
            Ok(key) => key,
            Err(error) => {
                if matches!(error, RegistryError::DigestInvalid(_)) {
                    remove(storage, session.id).await?;
                }
                return Err(error);
            }
        },
    };
    blobs::store_verified(storage, repo, digest, session.size, &verified).await?;
    remove(storage, session.id).await
}

/// Stores a whole blob sent in one request: written beside the sessions, verified, then copied into place.
pub async fn put_whole(
    storage: &SharedStorage,
    repo: &RepoName,
    digest: &Digest,
    upload: Upload,
) -> Result<u64> {
    let id = Uuid::new_v4();
    let key = storage.keys.assembled(&id);
    let mut body = CheckedBody::new(upload, 0, storage.max_blob_bytes);
    let mut hasher = Hasher::new(digest.algorithm());
    let stored = async {
        let size =
            objects::write_body(&*storage.objects, key.clone(), &mut body, &mut hasher).await?;
        check_digest(&hasher.finish(), digest)?;
        blobs::store_verified(storage, repo, digest, size, &key).await?;
        Ok(size)
    }
    .await;
    let _ = objects::delete(&*storage.objects, &key).await;
    stored
}

/// Ends a session and drops its chunks.
pub async fn cancel(storage: &SharedStorage, repo: &RepoName, id: &str) -> Result<()> {
    let session = load(&storage.db, repo, id).await?;
    remove(storage, session.id).await
}

/// Removes sessions untouched for `older_than`, with their chunks; returns how many.
pub async fn expire(storage: &SharedStorage, older_than: Duration) -> Result<usize> {
    let expired: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM uploads WHERE updated_at < now() - make_interval(secs => $1)",
    )
    .bind(older_than.as_secs_f64())
    .fetch_all(&storage.db)
    .await?;
    for id in &expired {
        remove(storage, *id).await?;
    }
    Ok(expired.len())
}

/// The session `id` of `repo`; any other id (malformed, finished, another repository's) is unknown.
async fn load(db: impl PgExecutor<'_>, repo: &RepoName, id: &str) -> Result<Session> {
    let unknown = || RegistryError::BlobUploadUnknown { id: id.to_string() };
    let uuid = Uuid::try_parse(id).map_err(|_| unknown())?;
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT size, hash_state FROM uploads WHERE id = $1 AND repository = $2")
            .bind(uuid)
            .bind(repo.as_str())
            .fetch_optional(db)
            .await?;
    let (size, state) = row.ok_or_else(unknown)?;
    let hasher = Hasher::resume(Algorithm::Sha256, &state).map_err(|e| RegistryError::Corrupt {
        path: format!("uploads/{uuid}").into(),
        reason: e.to_string(),
    })?;
    Ok(Session {
        id: uuid,
        size: to_u64(size),
        hasher,
    })
}

/// Writes a chunk as its own object and records it, if the session still has the size the chunk continues.
async fn append_chunk(
    storage: &SharedStorage,
    session: Session,
    start: Option<u64>,
    upload: Upload,
) -> Result<Session> {
    if let Some(start) = start
        && start != session.size
    {
        return Err(RegistryError::ChunkOutOfOrder { size: session.size });
    }
    let mut body = CheckedBody::new(upload, session.size, storage.max_blob_bytes);
    // An empty chunk (the `PUT ?digest=` that closes most uploads) changes nothing: the object store is not asked,
    // so that closing an upload costs it no request.
    if body.is_empty().await? {
        return Ok(session);
    }
    let key = storage.keys.chunk(&session.id, session.size);
    let mut hasher = session.hasher.clone();
    let written =
        objects::write_body(&*storage.objects, key.clone(), &mut body, &mut hasher).await?;
    let size = session.size + written;
    let recorded = record_chunk(storage, &session, size, &hasher, &key).await;
    match recorded {
        Ok(true) => Ok(Session {
            id: session.id,
            size,
            hasher,
        }),
        Ok(false) => {
            objects::delete(&*storage.objects, &key).await?;
            let current: Option<i64> = sqlx::query_scalar("SELECT size FROM uploads WHERE id = $1")
                .bind(session.id)
                .fetch_optional(&storage.db)
                .await?;
            Err(match current {
                Some(size) => RegistryError::ChunkOutOfOrder { size: to_u64(size) },
                None => RegistryError::BlobUploadUnknown {
                    id: session.id.simple().to_string(),
                },
            })
        }
        Err(error) => {
            let _ = objects::delete(&*storage.objects, &key).await;
            Err(error)
        }
    }
}

/// Moves the session from `session.size` to `size` and records the chunk, in one transaction; `false` if another
/// request moved the session first.
async fn record_chunk(
    storage: &SharedStorage,
    session: &Session,
    size: u64,
    hasher: &Hasher,
    key: &Path,
) -> Result<bool> {
    let mut tx = storage.db.begin().await?;
    let moved = sqlx::query(
        "UPDATE uploads SET size = $2, hash_state = $3, updated_at = now() WHERE id = $1 AND size = $4",
    )
    .bind(session.id)
    .bind(to_i64(size))
    .bind(hasher.state())
    .bind(to_i64(session.size))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO upload_chunks (upload, start, size, object) VALUES ($1, $2, $3, $4)")
        .bind(session.id)
        .bind(to_i64(session.size))
        .bind(to_i64(size - session.size))
        .bind(key.as_ref())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Concatenates the chunks into one object, hashing it with `digest`'s algorithm; returns its key if it matches.
async fn assemble(
    storage: &SharedStorage,
    id: Uuid,
    chunks: &[String],
    digest: &Digest,
) -> Result<Path> {
    let key = storage.keys.assembled(&id);
    let mut writer = ObjectWriter::new(&*storage.objects, key.clone());
    let mut hasher = Hasher::new(digest.algorithm());
    let copied = async {
        for chunk in chunks {
            let mut stream = storage
                .objects
                .get(&Path::from(chunk.as_str()))
                .await?
                .into_stream()
                .map_err(RegistryError::from);
            while let Some(bytes) = stream.next().await {
                let bytes = bytes?;
                hasher.update(&bytes);
                writer.put(bytes).await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = copied {
        writer.abort().await;
        return Err(error);
    }
    check_digest(&hasher.finish(), digest)?;
    writer.finish().await?;
    Ok(key)
}

/// Deletes a session's row (and its chunks' rows), then its objects. Once the row is gone the session has ended
/// (finished, cancelled or expired) whatever happens to its objects, so failing to delete them is not the request's
/// failure: answering one that has succeeded with an error would make its client retry it against a session that
/// no longer exists. Garbage collection deletes what is left.
async fn remove(storage: &SharedStorage, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(&storage.db)
        .await?;
    let deleted = async {
        let keys: Vec<_> = storage
            .objects
            .list(Some(&storage.keys.upload(&id)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for key in keys {
            objects::delete(&*storage.objects, &key).await?;
        }
        Ok::<_, RegistryError>(())
    };
    if let Err(error) = deleted.await {
        tracing::warn!(%error, session = %id.simple(), "an ended upload's objects are left for garbage collection");
    }
    Ok(())
}
