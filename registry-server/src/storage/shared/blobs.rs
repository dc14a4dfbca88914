//! Blobs: which repository holds which blob (rows), and their bytes (objects under `blobs/`).

use artifact::oci::Digest;
use std::time::Duration;

use object_store::ObjectStoreExt;
use object_store::path::Path;
use object_store::signer::Method;
use sqlx::{Postgres, Transaction};

use super::connection::SharedStorage;
use super::objects;
use super::rows::{ensure_repository, lock_repository, to_i64, to_u64};
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::backend::BlobContent;

/// The size of `digest` if `repo` holds it.
pub async fn size(
    storage: &SharedStorage,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Option<u64>> {
    let size: Option<i64> = sqlx::query_scalar(
        "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
         WHERE rb.repository = $1 AND rb.digest = $2",
    )
    .bind(repo.as_str())
    .bind(digest.to_string())
    .fetch_optional(&storage.db)
    .await?;
    Ok(size.map(to_u64))
}

/// Like [`size`], and marks the blob as just used (garbage collection's grace period starts again).
pub async fn keep(
    storage: &SharedStorage,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Option<u64>> {
    let size: Option<i64> = sqlx::query_scalar(
        "UPDATE repository_blobs rb SET used_at = now() FROM blobs b
         WHERE rb.repository = $1 AND rb.digest = $2 AND b.digest = rb.digest
         RETURNING b.size",
    )
    .bind(repo.as_str())
    .bind(digest.to_string())
    .fetch_optional(&storage.db)
    .await?;
    Ok(size.map(to_u64))
}

/// Streams bytes `start..end` of a blob of `repo`.
pub async fn read(
    storage: &SharedStorage,
    repo: &RepoName,
    digest: &Digest,
    start: u64,
    end: u64,
) -> Result<BlobContent> {
    if size(storage, repo, digest).await?.is_none() {
        return Err(RegistryError::BlobUnknown {
            digest: digest.to_string(),
        });
    }
    let stream = objects::read(&*storage.objects, &storage.keys.blob(digest), start, end).await?;
    Ok(BlobContent {
        len: end.saturating_sub(start),
        stream,
    })
}

/// How long a presigned download URL stays valid: long enough to start a large download, short enough not to
/// outlive a revoked access.
const REDIRECT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A presigned URL to download `digest` straight from the object store, when redirects are on.
pub async fn redirect(storage: &SharedStorage, digest: &Digest) -> Result<Option<String>> {
    let Some(signer) = &storage.signer else {
        return Ok(None);
    };
    let url = signer
        .signed_url(Method::GET, &storage.keys.blob(digest), REDIRECT_LIFETIME)
        .await?;
    Ok(Some(url.to_string()))
}

/// Makes a blob of `from` a blob of `to`; returns whether `from` held it.
pub async fn mount(
    storage: &SharedStorage,
    from: &RepoName,
    to: &RepoName,
    digest: &Digest,
) -> Result<bool> {
    let mut tx = storage.db.begin().await?;
    ensure_repository(&mut tx, to).await?;
    // One statement reads `from`'s link and writes `to`'s, leaving `from`'s unlocked: two mounts of one blob in
    // opposite directions would otherwise each hold the link the other one waits for (a deadlock). The new link's
    // foreign key locks the blob's row, which keeps garbage collection off the blob until the mount is committed.
    let linked = sqlx::query(
        "INSERT INTO repository_blobs (repository, digest)
         SELECT $2, digest FROM repository_blobs WHERE repository = $1 AND digest = $3
         ON CONFLICT (repository, digest) DO UPDATE SET used_at = now()",
    )
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(digest.to_string())
    .execute(&mut *tx)
    .await;
    let linked = match linked {
        Ok(done) => done.rows_affected() > 0,
        // The blob's row went (garbage collection) after `from`'s link was read: `from` no longer holds it.
        Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => false,
        Err(error) => return Err(error.into()),
    };
    if !linked {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Removes the blob from `repo` (and from the manifests of `repo` that name it); returns whether `repo` held it.
/// Its bytes stay until garbage collection finds that no repository holds them.
pub async fn unlink(storage: &SharedStorage, repo: &RepoName, digest: &Digest) -> Result<bool> {
    let mut tx = storage.db.begin().await?;
    // The repository's row first, as every change to its manifests does: a collection deleting manifests that name
    // the blob (and so their rows below) holds it, and would otherwise wait for rows this took, while this waits.
    lock_repository(&mut tx, repo.as_str()).await?;
    sqlx::query("DELETE FROM manifest_blobs WHERE repository = $1 AND digest = $2")
        .bind(repo.as_str())
        .bind(digest.to_string())
        .execute(&mut *tx)
        .await?;
    let removed = sqlx::query("DELETE FROM repository_blobs WHERE repository = $1 AND digest = $2")
        .bind(repo.as_str())
        .bind(digest.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(removed > 0)
}

/// Stores verified content as blob `digest` of `repo`: the object at `verified` (whose bytes hash to `digest`) is
/// copied into place unless the blob is already stored, all while its row is locked, so that garbage collection
/// never deletes an object that a row is about to vouch for.
pub async fn store_verified(
    storage: &SharedStorage,
    repo: &RepoName,
    digest: &Digest,
    size: u64,
    verified: &Path,
) -> Result<()> {
    let mut tx = storage.db.begin().await?;
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO blobs (digest, size) VALUES ($1, $2)
         ON CONFLICT (digest) DO UPDATE SET size = blobs.size
         RETURNING (xmax = 0)",
    )
    .bind(digest.to_string())
    .bind(to_i64(size))
    .fetch_one(&mut *tx)
    .await?;
    // A row whose object is missing is what a garbage collection leaves when it stops (or loses the database)
    // between deleting the object and committing the row's removal: the verified content at hand puts it back.
    if inserted || missing(storage, digest).await {
        storage
            .objects
            .copy(verified, &storage.keys.blob(digest))
            .await?;
    }
    link(&mut tx, repo, digest).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the object store says that blob `digest` has no object. A store that cannot answer says nothing: the row
/// is trusted, as everywhere else, so that content already stored is still linked while the store is unreachable.
async fn missing(storage: &SharedStorage, digest: &Digest) -> bool {
    matches!(
        storage.objects.head(&storage.keys.blob(digest)).await,
        Err(object_store::Error::NotFound { .. })
    )
}

/// Records that `repo` holds `digest` (created if new, marked as just used otherwise).
pub async fn link(
    tx: &mut Transaction<'_, Postgres>,
    repo: &RepoName,
    digest: &Digest,
) -> Result<()> {
    ensure_repository(tx, repo).await?;
    sqlx::query(
        "INSERT INTO repository_blobs (repository, digest) VALUES ($1, $2)
         ON CONFLICT (repository, digest) DO UPDATE SET used_at = now()",
    )
    .bind(repo.as_str())
    .bind(digest.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
