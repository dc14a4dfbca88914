//! Garbage collection that is safe while every replica pushes: what no tag reaches (directly, through an index, or as
//! a referrer of something reached) and was not used within the grace period goes, one transaction per repository.
//! A repository is collected while holding its row, which every push and delete of its manifests and tags takes
//! first, so none is half done meanwhile. A blob's object is deleted only while its row is locked, so an upload of the
//! same content waits and then stores it again.

use futures_util::TryStreamExt;
use object_store::path::Path;
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use super::connection::SharedStorage;
use super::objects;
use super::rows::{lock_repository, to_u64};
use crate::errors::Result;
use crate::storage::collection::{GcOptions, GcReport};

/// The manifests of repository `$1` that nothing reaches and that were not used within `$2` seconds.
const UNREACHED_MANIFESTS: &str = "
WITH RECURSIVE
    edges (source, target) AS (
        SELECT manifest, child FROM manifest_children WHERE repository = $1
        UNION ALL
        SELECT subject, digest FROM manifests WHERE repository = $1 AND subject IS NOT NULL
    ),
    reached (digest) AS (
        SELECT digest FROM tags WHERE repository = $1
        UNION
        SELECT digest FROM pending_tags WHERE repository = $1
        UNION
        SELECT digest FROM manifests WHERE repository = $1 AND used_at > now() - make_interval(secs => $2)
        UNION
        SELECT e.target FROM edges e JOIN reached r ON e.source = r.digest
    )
DELETE FROM manifests m
WHERE m.repository = $1 AND m.digest NOT IN (SELECT digest FROM reached)";

/// The blob links of repository `$1` that no manifest names and that were not used within `$2` seconds.
const UNNAMED_BLOB_LINKS: &str = "
DELETE FROM repository_blobs rb
WHERE rb.repository = $1 AND rb.used_at <= now() - make_interval(secs => $2)
  AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.repository = rb.repository AND mb.digest = rb.digest)";

/// Runs a collection over every repository, the blobs and the upload area. A dry run does the repositories' part in
/// one transaction that it rolls back, so that it counts the blobs that part would orphan.
pub async fn collect(storage: &SharedStorage, options: &GcOptions) -> Result<GcReport> {
    let grace = options.grace.as_secs_f64();
    let mut report = GcReport::default();
    // In one order: a dry run holds the row of each repository it went through until it ends (see
    // `collect_repository`), and two must never each hold one that the other waits for.
    let repositories: Vec<String> =
        sqlx::query_scalar("SELECT name FROM repositories ORDER BY name")
            .fetch_all(&storage.db)
            .await?;
    let mut connection = storage.db.acquire().await?;
    if options.dry_run {
        let mut everything = connection.begin().await?;
        for repo in &repositories {
            collect_repository(&mut everything, repo, grace, &mut report).await?;
        }
        for (_, size) in orphan_blobs(&mut everything, grace).await? {
            report.blobs += 1;
            report.bytes += to_u64(size);
        }
        everything.rollback().await?;
        return Ok(report);
    }
    for repo in &repositories {
        collect_repository(&mut connection, repo, grace, &mut report).await?;
    }
    drop(connection);
    collect_blobs(storage, grace, &mut report).await?;
    collect_abandoned_chunks(storage, options).await?;
    Ok(report)
}

/// Drops a repository's unreached manifests, then the blob links nothing names any more, in one transaction (a
/// savepoint when `connection` is already in one).
async fn collect_repository(
    connection: &mut PgConnection,
    repo: &str,
    grace: f64,
    report: &mut GcReport,
) -> Result<()> {
    let mut tx = connection.begin().await?;
    // The repository's row first, as every push and delete of its manifests and tags takes it before anything else
    // (see `manifests::put`): what reaches what is then read after every push that took it before has committed, and
    // none runs until this commits, so a manifest pushed again or tagged meanwhile is never collected.
    lock_repository(&mut tx, repo).await?;
    let manifests = sqlx::query(UNREACHED_MANIFESTS)
        .bind(repo)
        .bind(grace)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let links = sqlx::query(UNNAMED_BLOB_LINKS)
        .bind(repo)
        .bind(grace)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    report.manifests += usize::try_from(manifests).unwrap_or(usize::MAX);
    report.blob_links += usize::try_from(links).unwrap_or(usize::MAX);
    Ok(())
}

/// The blobs no repository holds that are older than the grace period, with their sizes.
async fn orphan_blobs(connection: &mut PgConnection, grace: f64) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT digest, size FROM blobs b
         WHERE created_at <= now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)",
    )
    .bind(grace)
    .fetch_all(connection)
    .await?)
}

/// Deletes the blobs no repository holds (and that are older than the grace period): each object while its row is
/// locked, then the row.
async fn collect_blobs(storage: &SharedStorage, grace: f64, report: &mut GcReport) -> Result<()> {
    let orphans = orphan_blobs(&mut *storage.db.acquire().await?, grace).await?;
    for (digest, size) in orphans {
        let mut tx = storage.db.begin().await?;
        let still: Option<String> = sqlx::query_scalar(
            "SELECT digest FROM blobs b WHERE digest = $1
               AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
             FOR UPDATE SKIP LOCKED",
        )
        .bind(&digest)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(parsed) = still.and_then(|d| d.parse().ok()) else {
            continue;
        };
        // Asked again, now that the row is locked: the query above saw the links as they were when it started, and
        // one committed between its start and the lock would otherwise lose its blob (and fail the row's delete).
        // No link can be added from here on, as adding one locks the row.
        let linked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM repository_blobs WHERE digest = $1)")
                .bind(&digest)
                .fetch_one(&mut *tx)
                .await?;
        if linked {
            continue;
        }
        objects::delete(&*storage.objects, &storage.keys.blob(&parsed)).await?;
        sqlx::query("DELETE FROM blobs WHERE digest = $1")
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        report.blobs += 1;
        report.bytes += to_u64(size);
    }
    Ok(())
}

/// Deletes objects under `uploads/` that belong to no session (a replica stopped between writing a chunk and
/// recording it, or before removing a finished session's objects) and are older than the grace period.
async fn collect_abandoned_chunks(storage: &SharedStorage, options: &GcOptions) -> Result<()> {
    let sessions: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM uploads")
        .fetch_all(&storage.db)
        .await?;
    let recorded: Vec<String> = sqlx::query_scalar("SELECT object FROM upload_chunks")
        .fetch_all(&storage.db)
        .await?;
    let cutoff = cutoff_seconds(options);
    let abandoned: Vec<Path> = storage
        .objects
        .list(Some(&storage.keys.uploads()))
        .try_filter(|meta| {
            let session = storage.keys.session_of(&meta.location);
            let live = session.is_some_and(|id| sessions.contains(&id))
                && recorded.iter().any(|key| key == meta.location.as_ref());
            std::future::ready(!live && meta.last_modified.timestamp() < cutoff)
        })
        .map_ok(|meta| meta.location)
        .try_collect()
        .await?;
    for key in abandoned {
        objects::delete(&*storage.objects, &key).await?;
    }
    Ok(())
}

/// The Unix time before which an object is older than the grace period.
fn cutoff_seconds(options: &GcOptions) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.saturating_sub(options.grace).as_secs()).unwrap_or(i64::MAX)
}
