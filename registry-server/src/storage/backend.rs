//! What the registry needs from a storage backend: the [`Storage`] trait and the values that cross it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use artifact::oci::Digest;
use bytes::Bytes;
use futures_util::Stream;

use super::catalog::{CatalogEntry, CatalogQuery};
use crate::errors::{RegistryError, Result};
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};

/// A request or response body as a stream of chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A blob's bytes, or a range of them, ready to send.
pub struct BlobContent {
    /// The number of bytes the stream yields.
    pub len: u64,
    /// The bytes.
    pub stream: ByteStream,
}

/// A request body with the length the client declared for it, if any.
pub struct Upload {
    /// The bytes as they arrive.
    pub body: ByteStream,
    /// The length from `Content-Length` or `Content-Range`; a body of another length is refused.
    pub declared_len: Option<u64>,
}

/// A manifest as stored: its bytes, the media type it was pushed with, and its digest.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// The exact bytes pushed (a digest covers bytes, not JSON values).
    pub bytes: Bytes,
    /// The media type it was pushed with.
    pub media_type: String,
    /// The digest of `bytes`.
    pub digest: Digest,
}

/// What the registry needs from its storage.
pub trait Storage: Send + Sync + 'static {
    /// Whether the storage can serve requests now: what it needs (a database, an object store) answers. A load
    /// balancer or an orchestrator asks it through `/readyz`.
    fn ready(&self) -> impl Future<Output = Result<()>> + Send;

    /// The size of `digest` if `repo` holds that blob.
    fn blob_size(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// Like [`Storage::blob_size`], and marks the blob as just used, so that garbage collection's grace period
    /// covers a blob a client was told exists and is about to reference.
    fn keep_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// A URL from which clients may download blob `digest` themselves (a presigned URL of the object store), if this
    /// storage offers one; the registry then answers downloads with a redirect. The caller checks that the
    /// repository holds the blob.
    fn blob_redirect(&self, digest: &Digest)
    -> impl Future<Output = Result<Option<String>>> + Send;

    /// Streams bytes `start..end` of a blob of `repo`.
    fn read_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> impl Future<Output = Result<BlobContent>> + Send;

    /// Removes the blob from `repo` (its bytes stay while another repository or manifest holds them).
    /// Returns whether the repository held it.
    fn delete_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Makes a blob of `from` available in `to` without copying; returns whether `from` held it.
    fn mount_blob(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Stores a whole blob in one request, verifying it against `digest`; returns its size.
    fn put_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        upload: Upload,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Starts an upload session for `repo`; returns its id.
    fn start_upload(&self, repo: &RepoName) -> impl Future<Output = Result<String>> + Send;

    /// The number of bytes an upload session holds.
    fn upload_size(&self, repo: &RepoName, id: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Appends a chunk to an upload; `start`, if given, must equal the current size. Returns the new size.
    /// On any error the session is left as it was before the call.
    fn append_upload(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        upload: Upload,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Appends a last chunk, verifies the whole against `digest` and stores it as a blob of `repo`.
    fn finish_upload(
        &self,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        start: Option<u64>,
        upload: Upload,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Drops an upload session and its data.
    fn cancel_upload(&self, repo: &RepoName, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Removes upload sessions untouched for `older_than`; returns how many were removed.
    fn expire_uploads(&self, older_than: Duration) -> impl Future<Output = Result<usize>> + Send;

    /// Stores a checked manifest in `repo`, records it as a referrer of its subject, and points `tag` at it.
    fn put_manifest(
        &self,
        repo: &RepoName,
        manifest: &StoredManifest,
        referrer_of: Option<(&Digest, &Descriptor)>,
        tag: Option<&Tag>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The manifest `reference` names in `repo`.
    fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> impl Future<Output = Result<Option<StoredManifest>>> + Send;

    /// Whether `repo` holds manifest `digest`, marking it as just used (as [`Storage::keep_blob`] does for blobs).
    fn keep_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes a tag (and its wait), or a manifest with the tags pointing or waiting to point at it and its referrer
    /// entry.
    /// Returns whether there was something to delete.
    fn delete_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Records that `tag` is to name `digest` (stored already) once trusted: the tag itself stays as it was (absent,
    /// or naming the last trusted digest) until [`Storage::publish_tag`]. Replaces an earlier wait of the tag.
    fn set_pending_tag(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The tags of `repo` waiting to be published, each with the digest it waits to name, sorted by tag.
    fn pending_tags(
        &self,
        repo: &RepoName,
    ) -> impl Future<Output = Result<Vec<(String, Digest)>>> + Send;

    /// Points `tag` at `digest` and ends its wait, in one step, if it still waits to name `digest` (a push of the
    /// tag meanwhile wins); returns whether it did.
    fn publish_tag(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Takes `tag` back from clients if it still names `digest`, making it wait for `digest` again (a trust policy
    /// that it no longer satisfies), in one step; returns whether it did.
    fn withdraw_tag(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The tags of `repo`, sorted; `None` if the repository does not exist.
    fn tags(&self, repo: &RepoName) -> impl Future<Output = Result<Option<Vec<String>>>> + Send;

    /// The descriptors of the manifests in `repo` whose subject is `subject`, sorted by digest.
    fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
    ) -> impl Future<Output = Result<Vec<Descriptor>>> + Send;

    /// All repository names, sorted.
    fn repositories(&self) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The repositories whose entry in the hub's catalog is missing, older than their content (changed through
    /// this server or another sharing the storage) or made under another trust policy than `trust` (a
    /// fingerprint), each with its version: the version to save the new entry under, read before the content is.
    fn stale_catalog(&self, trust: &str)
    -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;

    /// Saves `repository`'s catalog entry as of `version`, made under the trust policy `trust` (`None`: it holds no
    /// policy), unless one as new is saved.
    fn save_catalog(
        &self,
        repository: &str,
        version: u64,
        trust: &str,
        entry: Option<&CatalogEntry>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The repositories holding a policy that `query` finds in the catalog, most relevant first, then by name.
    fn search_catalog(
        &self,
        query: &CatalogQuery,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The catalog entries' content of those of `names` that hold a policy, by name, in no order.
    fn catalog_entries(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>>> + Send;

    /// Data derived from content and saved under `key` with [`Storage::save_derived`] (by any server), so that it is
    /// computed once: the hub's description of a policy. `key` is `[a-z0-9/-]`, at most 200 bytes.
    fn derived(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Saves derived data under `key` (see [`Storage::derived`]).
    fn save_derived(&self, key: &str, bytes: &[u8]) -> impl Future<Output = Result<()>> + Send;
}

/// `key` if it is a key [`Storage::derived`] accepts (so that it is safe as a file path and an object name).
pub fn checked_key(key: &str) -> Result<&str> {
    let safe = !key.is_empty()
        && key.len() <= 200
        && key.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if safe {
        Ok(key)
    } else {
        Err(RegistryError::Corrupt {
            path: key.into(),
            reason: "not a key of derived data ([a-z0-9-] parts joined by /)".into(),
        })
    }
}
