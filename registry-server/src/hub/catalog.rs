//! The hub's side of the storage's catalog: bringing it up to date before a read (re-reading only the repositories
//! whose version moved, through whichever server), and reading entries back.

use futures_util::StreamExt;

use super::index::{Repository, index_repository};
use super::search;
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;
use crate::storage::Storage;
use crate::trust::TrustPolicy;

/// Repositories indexed at once: each costs a few storage round trips, and a database or object store answers many
/// at a time.
const INDEXED_AT_ONCE: usize = 16;

/// The hub's state in one server: one refresh at a time, so that concurrent readers wait for it rather than read the
/// same repositories again.
#[derive(Debug, Default)]
pub struct Hub {
    refreshing: tokio::sync::Mutex<()>,
}

impl Hub {
    /// Brings the catalog up to date with every change made so far, through this server or another, and with the
    /// trust policy `trust` (whose verdicts it shows).
    pub async fn refresh<S: Storage>(&self, storage: &S, trust: &TrustPolicy) -> Result<()> {
        let _only_one = self.refreshing.lock().await;
        let stale = storage.stale_catalog(trust.fingerprint()).await?;
        let indexed: Vec<Result<()>> = futures_util::stream::iter(stale)
            .map(|(name, version)| reindex(storage, trust, name, version))
            .buffer_unordered(INDEXED_AT_ONCE)
            .collect()
            .await;
        indexed.into_iter().collect()
    }

    /// The repositories `names` that hold a policy, in the order of `names`.
    pub async fn repositories<S: Storage>(
        &self,
        storage: &S,
        names: &[String],
    ) -> Result<Vec<Repository>> {
        let mut saved = storage.catalog_entries(names).await?;
        saved.sort_by_key(|(name, _)| names.iter().position(|n| n == name));
        saved
            .into_iter()
            .map(|(name, content)| {
                serde_json::from_slice(&content).map_err(|e| RegistryError::Corrupt {
                    path: format!("hub catalog entry of {name}").into(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}

/// Saves the entry of repository `name` as of `version` (read before its content is, so that a change made
/// meanwhile leaves the entry stale rather than lost).
async fn reindex<S: Storage>(
    storage: &S,
    trust: &TrustPolicy,
    name: String,
    version: u64,
) -> Result<()> {
    // Names come from the storage; anything else is not a repository, and holds no policy.
    let repository = match RepoName::parse(&name) {
        Ok(repository) => index_repository(storage, &repository, trust).await?,
        Err(_) => None,
    };
    let entry = repository.as_ref().and_then(search::entry);
    storage
        .save_catalog(&name, version, trust.fingerprint(), entry.as_ref())
        .await
}
