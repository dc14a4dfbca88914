//! Manifests, tags and referrers: rows, each change one transaction. A manifest's row also records what it names
//! (blobs, and an index's manifests), which garbage collection follows and which keeps those blobs from being
//! collected while the manifest exists.

use artifact::oci::Digest;
use bytes::Bytes;

use super::connection::SharedStorage;
use super::rows::{ensure_repository, lock_repository};
use crate::errors::{RegistryError, Result};
use crate::manifest::{self, Descriptor};
use crate::names::{Reference, RepoName, Tag};
use crate::storage::backend::{StoredManifest, checked_key};
use sqlx::{Postgres, Transaction};

/// PostgreSQL's code for a foreign key that points nowhere.
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// Stores a checked manifest in `repo`, with its referrer entry and `tag`, in one transaction.
pub async fn put(
    storage: &SharedStorage,
    repo: &RepoName,
    stored: &StoredManifest,
    referrer_of: Option<(&Digest, &Descriptor)>,
    tag: Option<&Tag>,
) -> Result<()> {
    let checked = manifest::check(Some(&stored.media_type), &stored.bytes)?;
    let digest = stored.digest.to_string();
    let (subject, descriptor) = match referrer_of {
        Some((subject, descriptor)) => (
            Some(subject.to_string()),
            Some(serde_json::to_vec(descriptor).map_err(|e| {
                RegistryError::ManifestInvalid(format!("its referrer descriptor: {e}"))
            })?),
        ),
        None => (None, None),
    };
    let mut tx = storage.db.begin().await?;
    ensure_repository(&mut tx, repo).await?;
    // The repository's row before any other: every change to a repository's manifests and tags takes it first, so
    // that concurrent changes queue instead of deadlocking (a push would otherwise lock its tag after the
    // repository, while a delete locks the tag, or the manifest and through it its tags, before the repository).
    mark_changed(&mut tx, repo.as_str()).await?;
    sqlx::query(
        "INSERT INTO manifests (repository, digest, media_type, content, subject, descriptor)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (repository, digest) DO UPDATE SET used_at = now()",
    )
    .bind(repo.as_str())
    .bind(&digest)
    .bind(&stored.media_type)
    .bind(stored.bytes.as_ref())
    .bind(&subject)
    .bind(&descriptor)
    .execute(&mut *tx)
    .await?;
    for blob in &checked.blobs {
        let named = sqlx::query(
            "INSERT INTO manifest_blobs (repository, manifest, digest) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(repo.as_str())
        .bind(&digest)
        .bind(blob.to_string())
        .execute(&mut *tx)
        .await;
        if let Err(sqlx::Error::Database(error)) = &named
            && error.code().as_deref() == Some(FOREIGN_KEY_VIOLATION)
        {
            return Err(RegistryError::ManifestBlobUnknown {
                digest: blob.to_string(),
            });
        }
        named?;
    }
    for child in &checked.manifests {
        sqlx::query(
            "INSERT INTO manifest_children (repository, manifest, child) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(repo.as_str())
        .bind(&digest)
        .bind(child.to_string())
        .execute(&mut *tx)
        .await?;
    }
    if let Some(tag) = tag {
        sqlx::query(
            "INSERT INTO tags (repository, name, digest) VALUES ($1, $2, $3)
             ON CONFLICT (repository, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()",
        )
        .bind(repo.as_str())
        .bind(tag.as_str())
        .bind(&digest)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The manifest `reference` names in `repo`.
pub async fn get(
    storage: &SharedStorage,
    repo: &RepoName,
    reference: &Reference,
) -> Result<Option<StoredManifest>> {
    let row: Option<(String, String, Vec<u8>)> = match reference {
        Reference::Digest(digest) => {
            sqlx::query_as(
                "SELECT digest, media_type, content FROM manifests
                 WHERE repository = $1 AND digest = $2",
            )
            .bind(repo.as_str())
            .bind(digest.to_string())
            .fetch_optional(&storage.db)
            .await?
        }
        Reference::Tag(tag) => {
            sqlx::query_as(
                "SELECT m.digest, m.media_type, m.content FROM tags t
                 JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
                 WHERE t.repository = $1 AND t.name = $2",
            )
            .bind(repo.as_str())
            .bind(tag.as_str())
            .fetch_optional(&storage.db)
            .await?
        }
    };
    row.map(|(digest, media_type, content)| {
        let digest = digest.parse().map_err(|_| RegistryError::Corrupt {
            path: format!("manifests of {repo}").into(),
            reason: format!("{digest:?} is not a digest"),
        })?;
        Ok(StoredManifest {
            bytes: Bytes::from(content),
            media_type,
            digest,
        })
    })
    .transpose()
}

/// Marks a manifest of `repo` as just used; returns whether `repo` holds it.
pub async fn keep(storage: &SharedStorage, repo: &RepoName, digest: &Digest) -> Result<bool> {
    let kept =
        sqlx::query("UPDATE manifests SET used_at = now() WHERE repository = $1 AND digest = $2")
            .bind(repo.as_str())
            .bind(digest.to_string())
            .execute(&storage.db)
            .await?
            .rows_affected();
    Ok(kept > 0)
}

/// Deletes a tag, or a manifest with its tags and its referrer entry; returns whether there was one.
pub async fn delete(
    storage: &SharedStorage,
    repo: &RepoName,
    reference: &Reference,
) -> Result<bool> {
    let query = match reference {
        Reference::Tag(tag) => sqlx::query(
            "WITH waiting AS (DELETE FROM pending_tags WHERE repository = $1 AND name = $2 RETURNING 1),
                  named AS (DELETE FROM tags WHERE repository = $1 AND name = $2 RETURNING 1)
             SELECT 1 FROM waiting UNION ALL SELECT 1 FROM named",
        )
        .bind(repo.as_str())
        .bind(tag.as_str()),
        Reference::Digest(digest) => {
            sqlx::query("DELETE FROM manifests WHERE repository = $1 AND digest = $2")
                .bind(repo.as_str())
                .bind(digest.to_string())
        }
    };
    let mut tx = storage.db.begin().await?;
    // The repository's row first, as a push takes it (see `put`); undone with the rest if nothing was deleted.
    mark_changed(&mut tx, repo.as_str()).await?;
    let deleted = match reference {
        // A data-modifying CTE reports no affected rows: count what it returns.
        Reference::Tag(_) => !query.fetch_all(&mut *tx).await?.is_empty(),
        Reference::Digest(_) => query.execute(&mut *tx).await?.rows_affected() > 0,
    };
    if deleted {
        tx.commit().await?;
    }
    Ok(deleted)
}

/// Records that `tag` waits to name `digest`.
pub async fn set_pending_tag(
    storage: &SharedStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<()> {
    let mut tx = storage.db.begin().await?;
    // The repository's row first, as a push takes it (see `put`): a delete of the manifest, which holds it, would
    // otherwise wait for this wait's row while this waits for the manifest.
    lock_repository(&mut tx, repo.as_str()).await?;
    sqlx::query(
        "INSERT INTO pending_tags (repository, name, digest) VALUES ($1, $2, $3)
         ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, pushed_at = now()",
    )
    .bind(repo.as_str())
    .bind(tag.as_str())
    .bind(digest.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tags of `repo` waiting to be published, with their digests.
pub async fn pending_tags(
    storage: &SharedStorage,
    repo: &RepoName,
) -> Result<Vec<(String, Digest)>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, digest FROM pending_tags WHERE repository = $1 ORDER BY name")
            .bind(repo.as_str())
            .fetch_all(&storage.db)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, digest)| Some((name, digest.parse().ok()?)))
        .collect())
}

/// Moves `tag` to `digest` and ends its wait, if it waits for `digest`.
pub async fn publish_tag(
    storage: &SharedStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<bool> {
    move_tag(
        storage,
        [repo.as_str(), tag.as_str(), &digest.to_string()],
        "DELETE FROM pending_tags WHERE repository = $1 AND name = $2 AND digest = $3",
        "INSERT INTO tags (repository, name, digest) VALUES ($1, $2, $3)
         ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = now()",
    )
    .await
}

/// Takes `tag` back if it names `digest`, making it wait for it again (a newer wait of the tag is kept).
pub async fn withdraw_tag(
    storage: &SharedStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<bool> {
    move_tag(
        storage,
        [repo.as_str(), tag.as_str(), &digest.to_string()],
        "DELETE FROM tags WHERE repository = $1 AND name = $2 AND digest = $3",
        "INSERT INTO pending_tags (repository, name, digest) VALUES ($1, $2, $3)
         ON CONFLICT (repository, name) DO NOTHING",
    )
    .await
}

/// Moves a tag's row (`[repository, tag, digest]`) between `tags` and `pending_tags` in one transaction: `take`
/// deletes it from one, and only if it did, `put` writes it into the other and the repository's version moves.
/// Returns whether it moved.
async fn move_tag(storage: &SharedStorage, row: [&str; 3], take: &str, put: &str) -> Result<bool> {
    let mut tx = storage.db.begin().await?;
    let [repository, tag, digest] = row;
    // The repository's row first, as a push takes it (see `put`); undone with the rest if nothing moved.
    mark_changed(&mut tx, repository).await?;
    let taken = sqlx::query(take)
        .bind(repository)
        .bind(tag)
        .bind(digest)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !taken {
        return Ok(false);
    }
    sqlx::query(put)
        .bind(repository)
        .bind(tag)
        .bind(digest)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a change to `repo`'s tags or manifests: the hub's catalog entry of `repo` is then stale.
async fn mark_changed(tx: &mut Transaction<'_, Postgres>, repository: &str) -> Result<()> {
    sqlx::query("UPDATE repositories SET version = version + 1 WHERE name = $1")
        .bind(repository)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Data derived from content, by key.
pub async fn derived(storage: &SharedStorage, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT content FROM derived WHERE key = $1")
            .bind(checked_key(key)?)
            .fetch_optional(&storage.db)
            .await?,
    )
}

/// Saves derived data (the same key always derives the same bytes, so the first save stays).
pub async fn save_derived(storage: &SharedStorage, key: &str, bytes: &[u8]) -> Result<()> {
    sqlx::query("INSERT INTO derived (key, content) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(checked_key(key)?)
        .bind(bytes)
        .execute(&storage.db)
        .await?;
    Ok(())
}

/// The tags of `repo`, sorted; `None` if the repository does not exist.
pub async fn tags(storage: &SharedStorage, repo: &RepoName) -> Result<Option<Vec<String>>> {
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM repositories WHERE name = $1")
            .bind(repo.as_str())
            .fetch_optional(&storage.db)
            .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let tags = sqlx::query_scalar(
        "SELECT name FROM tags WHERE repository = $1 ORDER BY name COLLATE \"C\"",
    )
    .bind(repo.as_str())
    .fetch_all(&storage.db)
    .await?;
    Ok(Some(tags))
}

/// The descriptors of the manifests in `repo` whose subject is `subject`, sorted by digest.
pub async fn referrers(
    storage: &SharedStorage,
    repo: &RepoName,
    subject: &Digest,
) -> Result<Vec<Descriptor>> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT descriptor FROM manifests
         WHERE repository = $1 AND subject = $2 AND descriptor IS NOT NULL
         ORDER BY digest COLLATE \"C\"",
    )
    .bind(repo.as_str())
    .bind(subject.to_string())
    .fetch_all(&storage.db)
    .await?;
    rows.iter()
        .map(|bytes| {
            serde_json::from_slice(bytes).map_err(|e| RegistryError::Corrupt {
                path: format!("referrers of {subject} in {repo}").into(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// All repository names, sorted.
pub async fn repositories(storage: &SharedStorage) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM repositories ORDER BY name COLLATE \"C\"")
            .fetch_all(&storage.db)
            .await?,
    )
}
