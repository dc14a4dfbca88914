//! What every change of the shared storage's metadata starts from: the repository's row, created if needed and
//! taken first (a fixed lock order, so that concurrent changes never deadlock); and sizes as PostgreSQL stores them.

use sqlx::{PgConnection, Postgres, Transaction};

use crate::errors::Result;
use crate::names::RepoName;

/// Takes the row of `repository` until the transaction ends, as every change to its manifests and tags (and their
/// garbage collection) does before anything else (see `put`), without counting a change.
pub async fn lock_repository(connection: &mut PgConnection, repository: &str) -> Result<()> {
    sqlx::query("SELECT name FROM repositories WHERE name = $1 FOR NO KEY UPDATE")
        .bind(repository)
        .execute(connection)
        .await?;
    Ok(())
}

/// Creates `repo` if it does not exist yet.
pub async fn ensure_repository(tx: &mut Transaction<'_, Postgres>, repo: &RepoName) -> Result<()> {
    sqlx::query("INSERT INTO repositories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(repo.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A size as PostgreSQL stores it (`BIGINT`); blobs are far smaller than 2^63 bytes.
pub fn to_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// A size read back from PostgreSQL (never negative: only [`to_i64`] writes it).
pub fn to_u64(size: i64) -> u64 {
    u64::try_from(size).unwrap_or(0)
}
