//! Reading a small blob whole (a signature, a bundle, a module the hub describes), with a bound on its size.

use artifact::oci::Digest;
use futures_util::TryStreamExt;

use super::backend::Storage;
use crate::errors::{RegistryError, Result};
use crate::names::RepoName;

/// A blob read whole, or why not.
#[derive(Debug)]
pub enum WholeBlob {
    /// The repository does not hold it.
    Missing,
    /// It is larger than the bound: its size.
    TooLarge(u64),
    /// Its bytes.
    Read(Vec<u8>),
}

/// Blob `digest` of `repo`, read whole if it is at most `limit` bytes.
pub async fn read_whole<S: Storage>(
    storage: &S,
    repo: &RepoName,
    digest: &Digest,
    limit: u64,
) -> Result<WholeBlob> {
    let Some(size) = storage.blob_size(repo, digest).await? else {
        return Ok(WholeBlob::Missing);
    };
    if size > limit {
        return Ok(WholeBlob::TooLarge(size));
    }
    let content = storage.read_blob(repo, digest, 0, size).await?;
    let chunks: Vec<bytes::Bytes> =
        content
            .stream
            .try_collect()
            .await
            .map_err(|source| RegistryError::Io {
                action: "reading",
                path: format!("blob {digest}").into(),
                source,
            })?;
    Ok(WholeBlob::Read(chunks.concat()))
}
