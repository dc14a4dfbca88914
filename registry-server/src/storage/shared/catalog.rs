//! The hub's catalog in PostgreSQL (`hub_catalog`): one row per repository, as of the repository's version, with a
//! GIN-indexed `tsvector` of its words, so that any replica searches the one index every replica keeps current.

use super::connection::SharedStorage;
use super::rows::to_u64;
use crate::errors::Result;
use crate::storage::catalog::{CatalogEntry, CatalogQuery};

/// The repositories whose catalog row is missing or older than the repository, with their versions.
pub async fn stale(storage: &SharedStorage, trust: &str) -> Result<Vec<(String, u64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.name, r.version FROM repositories r LEFT JOIN hub_catalog c ON c.repository = r.name
         WHERE c.version IS DISTINCT FROM r.version OR c.trust <> $1",
    )
    .bind(trust)
    .fetch_all(&storage.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, version)| (name, to_u64(version)))
        .collect())
}

/// Saves `repository`'s row as of `version`, made under the trust policy `trust` (`None`: it holds no policy),
/// unless a row as new under the same policy is saved or the repository is gone.
pub async fn save(
    storage: &SharedStorage,
    repository: &str,
    version: u64,
    trust: &str,
    entry: Option<&CatalogEntry>,
) -> Result<()> {
    let words = entry.map(|e| e.words.clone()).unwrap_or_default();
    let facets = entry.map(|e| e.facets.clone()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO hub_catalog (repository, version, content, document, mutating, mode, kinds, signed, trust,
                                  verified)
         SELECT $1, $2, $3,
                setweight(to_tsvector('simple', $4), 'A') || setweight(to_tsvector('simple', $5), 'B')
                || setweight(to_tsvector('simple', $6), 'C') || setweight(to_tsvector('simple', $7), 'D'),
                $8, $9, $10, $11, $12, $13
         WHERE EXISTS (SELECT 1 FROM repositories WHERE name = $1)
         ON CONFLICT (repository) DO UPDATE SET version = excluded.version, content = excluded.content,
           document = excluded.document, mutating = excluded.mutating, mode = excluded.mode,
           kinds = excluded.kinds, signed = excluded.signed, trust = excluded.trust, verified = excluded.verified
         WHERE hub_catalog.version < excluded.version OR hub_catalog.trust <> excluded.trust",
    )
    .bind(repository)
    .bind(i64::try_from(version).unwrap_or(i64::MAX))
    .bind(entry.map(|e| e.content.as_slice()))
    .bind(&words.name)
    .bind(&words.keywords)
    .bind(&words.description)
    .bind(&words.usage)
    .bind(facets.mutating)
    .bind(facets.mode)
    .bind(facets.kinds)
    .bind(entry.is_some() && facets.signed)
    .bind(trust)
    .bind(facets.verified)
    .execute(&storage.db)
    .await?;
    Ok(())
}

/// The repositories with a policy that `query` finds, most relevant first (a rule naming the kind asked for, then
/// `ts_rank` over the weighted words), then by name.
pub async fn search(storage: &SharedStorage, query: &CatalogQuery) -> Result<Vec<String>> {
    let matched = (!query.words.is_empty()).then(|| {
        query
            .words
            .iter()
            .map(|word| format!("{word}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    });
    Ok(sqlx::query_scalar(
        "SELECT repository FROM hub_catalog
         WHERE content IS NOT NULL
           AND ($1::text IS NULL OR document @@ to_tsquery('simple', $1))
           AND ($2::boolean IS NULL OR mutating = $2)
           AND ($3::text IS NULL OR mode = $3)
           AND (cardinality($4::text[]) = 0 OR kinds && ($4::text[] || '{*}'::text[]))
           AND ($5::boolean IS NULL OR signed = $5)
           AND ($6::boolean IS NULL OR verified = $6)
         ORDER BY kinds && $4::text[] DESC,
                  CASE WHEN $1::text IS NULL THEN 0 ELSE ts_rank(document, to_tsquery('simple', $1)) END DESC,
                  repository",
    )
    .bind(matched)
    .bind(query.mutating)
    .bind(query.mode.as_deref())
    .bind(&query.kinds)
    .bind(query.signed)
    .bind(query.verified)
    .fetch_all(&storage.db)
    .await?)
}

/// The saved rows' content of those of `names` that hold a policy, by name.
pub async fn entries(storage: &SharedStorage, names: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT repository, content FROM hub_catalog WHERE content IS NOT NULL AND repository = ANY($1)",
    )
    .bind(names)
    .fetch_all(&storage.db)
    .await?)
}
