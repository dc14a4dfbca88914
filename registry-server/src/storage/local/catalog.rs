//! The folder's SQLite file (`ROOT/catalog.sqlite3`): each repository's version, counted by every change to its tags
//! and manifests (by this server or another process on the folder, such as `palisade registry gc`), and the hub's
//! catalog with its FTS5 index. Opened on first use; a folder written before it existed is counted in then.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use tokio::sync::OnceCell;

use super::layout::Layout;
use super::listing;
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::catalog::{CatalogEntry, CatalogQuery};
use crate::storage::fsutil::Fs;

/// The schema of the folder's SQLite file, applied when it is opened.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./folder-migrations");

/// How a writing transaction begins: taking the write lock at once, so that it waits for another writer (up to
/// [`BUSY_TIMEOUT`]) instead of failing when a read would have to become a write.
const WRITE: &str = "BEGIN IMMEDIATE";

/// How long a write waits for another process holding the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The folder's SQLite file, opened on first use.
#[derive(Debug)]
pub struct CatalogFile {
    path: PathBuf,
    /// The folder whose repositories it counts.
    layout: Layout,
    fs: Fs,
    pool: OnceCell<SqlitePool>,
}

impl CatalogFile {
    /// The file of the folder `layout` describes, not yet opened.
    pub fn new(layout: Layout, fs: Fs) -> CatalogFile {
        CatalogFile {
            path: layout.catalog(),
            layout,
            fs,
            pool: OnceCell::new(),
        }
    }

    fn failed(&self, source: impl Into<sqlx::Error>) -> RegistryError {
        RegistryError::Catalog {
            path: self.path.clone(),
            source: source.into(),
        }
    }
}

/// The pool of the folder's SQLite file, opening it (and counting in the folder's repositories) on first use.
async fn pool(file: &CatalogFile) -> Result<&SqlitePool> {
    file.pool
        .get_or_try_init(|| async {
            match open(file).await {
                Err(RegistryError::Catalog { source, .. }) if is_unreadable(&source) => {
                    // Everything in the file can be derived again from the folder: keep the damaged file for
                    // whoever wants to look at it, and start a new one.
                    let aside = file.path.with_extension("sqlite3.unreadable");
                    tracing::warn!(file = %file.path.display(), moved_to = %aside.display(), error = %source,
                        "the catalog file is damaged; starting a new one (the hub reads every repository once)");
                    tokio::fs::rename(&file.path, &aside)
                        .await
                        .map_err(|e| file.fs.err("moving aside", &file.path, e))?;
                    for suffix in ["-wal", "-shm"] {
                        let companion = PathBuf::from(format!("{}{suffix}", file.path.display()));
                        // Absent unless the damaged file was in use: nothing to move then.
                        let _ = tokio::fs::remove_file(companion).await;
                    }
                    open(file).await
                }
                opened => opened,
            }
        })
        .await
}

/// Opens (or creates) the file, brings its schema up to date and counts in the folder's repositories.
async fn open(file: &CatalogFile) -> Result<SqlitePool> {
    if let Some(parent) = file.path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| file.fs.err("creating", parent, e))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&file.path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| file.failed(e))?;
    MIGRATIONS.run(&pool).await.map_err(|e| file.failed(e))?;
    count_in(file, &pool).await?;
    Ok(pool)
}

/// Whether SQLite says the file is not a database or is damaged (`SQLITE_NOTADB`, `SQLITE_CORRUPT`), as opposed to
/// busy, full or not permitted, which moving it aside would not cure.
fn is_unreadable(error: &sqlx::Error) -> bool {
    let database = match error {
        sqlx::Error::Database(database) => Some(database),
        sqlx::Error::Migrate(migrate) => match &**migrate {
            sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(database)) => Some(database),
            _ => None,
        },
        _ => None,
    };
    const CORRUPT: i64 = 11;
    const NOT_A_DATABASE: i64 = 26;
    database
        .and_then(|d| d.code())
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| matches!(code & 0xff, CORRUPT | NOT_A_DATABASE))
}

/// Records the folder's repositories that the file does not know (written before it existed, or while another
/// version of Palisade served the folder) and forgets those that are gone.
async fn count_in(file: &CatalogFile, pool: &SqlitePool) -> Result<()> {
    let names = listing::repositories(&file.layout, &file.fs).await?;
    let failed = |e| file.failed(e);
    let mut tx = pool.begin_with(WRITE).await.map_err(failed)?;
    sqlx::query("CREATE TEMP TABLE present (name TEXT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    for name in &names {
        sqlx::query("INSERT OR IGNORE INTO present (name) VALUES (?1)")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
    }
    for statement in [
        "INSERT OR IGNORE INTO repositories (name, version) SELECT name, 1 FROM present",
        "DELETE FROM repositories WHERE name NOT IN (SELECT name FROM present)",
        "DELETE FROM hub_search WHERE rowid IN
           (SELECT rowid FROM hub_catalog WHERE repository NOT IN (SELECT name FROM present))",
        "DELETE FROM hub_catalog WHERE repository NOT IN (SELECT name FROM present)",
        "DROP TABLE present",
    ] {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
    }
    tx.commit().await.map_err(failed)
}

/// Counts a change to `repo`'s tags or manifests.
pub async fn changed(file: &CatalogFile, repo: &RepoName) -> Result<()> {
    sqlx::query(
        "INSERT INTO repositories (name, version) VALUES (?1, 1)
         ON CONFLICT (name) DO UPDATE SET version = version + 1",
    )
    .bind(repo.as_str())
    .execute(pool(file).await?)
    .await
    .map_err(|e| file.failed(e))?;
    Ok(())
}

/// The repositories whose catalog entry is missing or older than the repository, with their versions.
pub async fn stale(file: &CatalogFile, trust: &str) -> Result<Vec<(String, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.name, r.version FROM repositories r LEFT JOIN hub_catalog c ON c.repository = r.name
         WHERE c.version IS NULL OR c.version <> r.version OR c.trust <> ?1",
    )
    .bind(trust)
    .fetch_all(pool(file).await?)
    .await
    .map_err(|e| file.failed(e))?;
    Ok(rows
        .into_iter()
        .map(|(name, version)| (name, u64::try_from(version).unwrap_or_default()))
        .collect())
}

/// Saves `repository`'s entry as of `version`, made under the trust policy `trust` (`None`: it holds no policy),
/// unless a newer one under the same policy is saved.
pub async fn save(
    file: &CatalogFile,
    repository: &str,
    version: u64,
    trust: &str,
    entry: Option<&CatalogEntry>,
) -> Result<()> {
    let failed = |e| file.failed(e);
    let version = i64::try_from(version).unwrap_or(i64::MAX);
    let mut tx = pool(file).await?.begin_with(WRITE).await.map_err(failed)?;
    let saved: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT rowid, version, trust FROM hub_catalog WHERE repository = ?1")
            .bind(repository)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed)?;
    if saved
        .as_ref()
        .is_some_and(|(_, saved, under)| *saved >= version && under == trust)
    {
        return Ok(());
    }
    if let Some((rowid, ..)) = saved {
        sqlx::query("DELETE FROM hub_search WHERE rowid = ?1")
            .bind(rowid)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
    }
    let facets = entry.map(|e| &e.facets);
    let rowid: i64 = sqlx::query_scalar(
        "INSERT INTO hub_catalog (repository, version, content, mutating, mode, kinds, signed, trust, verified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (repository) DO UPDATE SET version = excluded.version, content = excluded.content,
           mutating = excluded.mutating, mode = excluded.mode, kinds = excluded.kinds, signed = excluded.signed,
           trust = excluded.trust, verified = excluded.verified
         RETURNING rowid",
    )
    .bind(repository)
    .bind(version)
    .bind(entry.map(|e| e.content.as_slice()))
    .bind(facets.and_then(|f| f.mutating))
    .bind(facets.and_then(|f| f.mode.as_deref()))
    .bind(facets.map(|f| spaced(&f.kinds)).unwrap_or_default())
    .bind(facets.is_some_and(|f| f.signed))
    .bind(trust)
    .bind(facets.and_then(|f| f.verified))
    .fetch_one(&mut *tx)
    .await
    .map_err(failed)?;
    if let Some(entry) = entry {
        let words = &entry.words;
        sqlx::query(
            "INSERT INTO hub_search (rowid, name, keywords, description, usage) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(rowid)
        .bind(&words.name)
        .bind(&words.keywords)
        .bind(&words.description)
        .bind(&words.usage)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    }
    tx.commit().await.map_err(failed)
}

/// `kinds` between spaces, so that `instr` finds whole kinds.
fn spaced(kinds: &[String]) -> String {
    format!(" {} ", kinds.join(" "))
}

/// The repositories with a policy that `query` finds, most relevant first, then by name.
pub async fn search(file: &CatalogFile, query: &CatalogQuery) -> Result<Vec<String>> {
    let kinds = serde_json::to_string(&query.kinds).unwrap_or_else(|_| "[]".to_string());
    let named_kind =
        "EXISTS (SELECT 1 FROM json_each(?4) WHERE instr(c.kinds, ' ' || value || ' ') > 0)";
    let filters = format!(
        "c.content IS NOT NULL
         AND (?2 IS NULL OR c.mutating = ?2)
         AND (?3 IS NULL OR c.mode = ?3)
         AND (json_array_length(?4) = 0 OR {named_kind} OR instr(c.kinds, ' * ') > 0)
         AND (?5 IS NULL OR c.signed = ?5)
         AND (?6 IS NULL OR c.verified = ?6)"
    );
    let sql = if query.words.is_empty() {
        format!(
            "SELECT c.repository FROM hub_catalog c WHERE ?1 IS NULL AND {filters}
             ORDER BY {named_kind} DESC, c.repository"
        )
    } else {
        format!(
            "SELECT c.repository FROM hub_search s JOIN hub_catalog c ON c.rowid = s.rowid
             WHERE hub_search MATCH ?1 AND {filters}
             ORDER BY {named_kind} DESC, bm25(hub_search, 10.0, 4.0, 2.0, 1.0), c.repository"
        )
    };
    let matched = (!query.words.is_empty()).then(|| {
        query
            .words
            .iter()
            .map(|word| format!("\"{word}\"*"))
            .collect::<Vec<_>>()
            .join(" AND ")
    });
    sqlx::query_scalar(&sql)
        .bind(matched)
        .bind(query.mutating)
        .bind(query.mode.as_deref())
        .bind(kinds)
        .bind(query.signed)
        .bind(query.verified)
        .fetch_all(pool(file).await?)
        .await
        .map_err(|e| file.failed(e))
}

/// The saved entries of `names` that hold a policy, by name.
pub async fn entries(file: &CatalogFile, names: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
    let names = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_string());
    sqlx::query_as(
        "SELECT repository, content FROM hub_catalog
         WHERE content IS NOT NULL AND repository IN (SELECT value FROM json_each(?1))",
    )
    .bind(names)
    .fetch_all(pool(file).await?)
    .await
    .map_err(|e| file.failed(e))
}
