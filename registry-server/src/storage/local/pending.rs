//! Tags waiting to be published: `_pending/<tag>` holds the digest the tag is to name once trusted; publishing writes
//! the tag's file, then removes the wait, and withdrawing does the reverse, under the storage's lock.

use std::path::Path;

use artifact::oci::Digest;

use super::catalog;
use super::folder::LocalStorage;
use crate::errors::{RegistryError, Result};
use crate::names::{RepoName, Tag};

/// Records that `tag` waits to name `digest`.
pub async fn set(
    storage: &LocalStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<()> {
    let _held = storage.pending.lock().await;
    storage
        .fs
        .write_atomic(
            &storage.layout.pending_tag(repo, tag),
            digest.to_string().as_bytes(),
        )
        .await
}

/// The waiting tags of `repo`, sorted, with their digests.
pub async fn list(storage: &LocalStorage, repo: &RepoName) -> Result<Vec<(String, Digest)>> {
    let dir = storage.layout.pending_tags(repo);
    let mut found = Vec::new();
    for name in storage.fs.list_dir(&dir).await? {
        let path = dir.join(&name);
        let Some(bytes) = storage.fs.read_optional(&path).await? else {
            continue;
        };
        let digest = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| RegistryError::Corrupt {
                path: path.clone(),
                reason: "not a digest".into(),
            })?;
        found.push((name, digest));
    }
    found.sort();
    Ok(found)
}

/// Moves `tag` to `digest` and ends its wait, if it still waits for `digest`.
pub async fn publish(
    storage: &LocalStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<bool> {
    let wait = storage.layout.pending_tag(repo, tag);
    let named = storage.layout.tag(repo, tag);
    move_tag(storage, repo, digest, &wait, &named, Keep::Replace).await
}

/// Takes `tag` back if it names `digest`, making it wait for it again (a newer wait of the tag is kept).
pub async fn withdraw(
    storage: &LocalStorage,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<bool> {
    let named = storage.layout.tag(repo, tag);
    let wait = storage.layout.pending_tag(repo, tag);
    move_tag(storage, repo, digest, &named, &wait, Keep::Existing).await
}

/// What [`move_tag`] does with a file already at its destination.
#[derive(PartialEq)]
enum Keep {
    /// Overwrite it.
    Replace,
    /// Leave it.
    Existing,
}

/// Moves a tag's file naming `digest` from `from` to `to` (between `_tags/` and `_pending/`) under the storage's
/// lock: the destination is written before the source is removed, so a crash between the two leaves the tag both
/// waiting and published, never lost. Returns whether `from` named `digest`.
async fn move_tag(
    storage: &LocalStorage,
    repo: &RepoName,
    digest: &Digest,
    from: &Path,
    to: &Path,
    keep: Keep,
) -> Result<bool> {
    let _held = storage.pending.lock().await;
    let bytes = digest.to_string();
    if storage.fs.read_optional(from).await?.as_deref() != Some(bytes.as_bytes()) {
        return Ok(false);
    }
    if keep == Keep::Replace || storage.fs.read_optional(to).await?.is_none() {
        storage.fs.write_atomic(to, bytes.as_bytes()).await?;
    }
    storage.fs.remove_file(from).await?;
    catalog::changed(&storage.catalog, repo).await?;
    Ok(true)
}

/// Ends the wait of `tag`; returns whether it waited.
pub async fn forget(storage: &LocalStorage, repo: &RepoName, tag: &Tag) -> Result<bool> {
    let _held = storage.pending.lock().await;
    storage
        .fs
        .remove_file(&storage.layout.pending_tag(repo, tag))
        .await
}

/// Ends every wait for `digest` (its manifest is being deleted).
pub async fn forget_digest(storage: &LocalStorage, repo: &RepoName, digest: &Digest) -> Result<()> {
    let _held = storage.pending.lock().await;
    for name in storage
        .fs
        .list_dir(&storage.layout.pending_tags(repo))
        .await?
    {
        let path = storage.layout.pending_tags(repo).join(name);
        if storage.fs.read_optional(&path).await?.as_deref() == Some(digest.to_string().as_bytes())
        {
            storage.fs.remove_file(&path).await?;
        }
    }
    Ok(())
}
