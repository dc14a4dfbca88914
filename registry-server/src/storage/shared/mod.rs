//! [`Storage`] that every replica of the registry shares: blob bytes in an object store (S3 and every
//! S3-compatible store, GCS, Azure, through the `object_store` crate), everything else in PostgreSQL.
//!
//! Any replica answers any request: upload sessions, tags and referrers are rows, and every change is one
//! transaction, so a tag moves atomically and nothing partial is ever visible. A blob's row exists only while its
//! object holds verified bytes: content is written under `uploads/`, verified, and copied into `blobs/` while the
//! row is locked, and garbage collection deletes an object only while holding the same lock.

mod blobs;
mod catalog;
mod connection;
mod gc;
mod keys;
mod manifests;
mod objects;
mod rows;
mod uploads;

use std::time::Duration;

use artifact::oci::Digest;

use super::backend::{BlobContent, Storage, StoredManifest, Upload};
use super::catalog::{CatalogEntry, CatalogQuery};
use super::collection::{GcOptions, GcReport};
use crate::errors::Result;
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};
pub use connection::{SharedStorage, SharedStorageOptions};

impl SharedStorage {
    /// Removes the manifests and blobs that no tag reaches, and abandoned upload chunks; safe while every replica
    /// serves (see [`GcOptions::grace`]).
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport> {
        gc::collect(self, options).await
    }
}

impl Storage for SharedStorage {
    async fn ready(&self) -> Result<()> {
        connection::ready(self).await
    }

    async fn blob_size(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::size(self, repo, digest).await
    }

    async fn keep_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::keep(self, repo, digest).await
    }

    async fn blob_redirect(&self, digest: &Digest) -> Result<Option<String>> {
        blobs::redirect(self, digest).await
    }

    async fn read_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> Result<BlobContent> {
        blobs::read(self, repo, digest, start, end).await
    }

    async fn delete_blob(&self, repo: &RepoName, digest: &Digest) -> Result<bool> {
        blobs::unlink(self, repo, digest).await
    }

    async fn mount_blob(&self, from: &RepoName, to: &RepoName, digest: &Digest) -> Result<bool> {
        blobs::mount(self, from, to, digest).await
    }

    async fn put_blob(&self, repo: &RepoName, digest: &Digest, upload: Upload) -> Result<u64> {
        uploads::put_whole(self, repo, digest, upload).await
    }

    async fn start_upload(&self, repo: &RepoName) -> Result<String> {
        uploads::start(self, repo).await
    }

    async fn upload_size(&self, repo: &RepoName, id: &str) -> Result<u64> {
        uploads::size(self, repo, id).await
    }

    async fn append_upload(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        upload: Upload,
    ) -> Result<u64> {
        uploads::append(self, repo, id, start, upload).await
    }

    async fn finish_upload(
        &self,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        start: Option<u64>,
        upload: Upload,
    ) -> Result<()> {
        uploads::finish(self, repo, id, digest, start, upload).await
    }

    async fn cancel_upload(&self, repo: &RepoName, id: &str) -> Result<()> {
        uploads::cancel(self, repo, id).await
    }

    async fn expire_uploads(&self, older_than: Duration) -> Result<usize> {
        uploads::expire(self, older_than).await
    }

    async fn put_manifest(
        &self,
        repo: &RepoName,
        manifest: &StoredManifest,
        referrer_of: Option<(&Digest, &Descriptor)>,
        tag: Option<&Tag>,
    ) -> Result<()> {
        manifests::put(self, repo, manifest, referrer_of, tag).await
    }

    async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Option<StoredManifest>> {
        manifests::get(self, repo, reference).await
    }

    async fn keep_manifest(&self, repo: &RepoName, digest: &Digest) -> Result<bool> {
        manifests::keep(self, repo, digest).await
    }

    async fn delete_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<bool> {
        manifests::delete(self, repo, reference).await
    }

    async fn set_pending_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<()> {
        manifests::set_pending_tag(self, repo, tag, digest).await
    }

    async fn pending_tags(&self, repo: &RepoName) -> Result<Vec<(String, Digest)>> {
        manifests::pending_tags(self, repo).await
    }

    async fn publish_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<bool> {
        manifests::publish_tag(self, repo, tag, digest).await
    }

    async fn withdraw_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<bool> {
        manifests::withdraw_tag(self, repo, tag, digest).await
    }

    async fn tags(&self, repo: &RepoName) -> Result<Option<Vec<String>>> {
        manifests::tags(self, repo).await
    }

    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Descriptor>> {
        manifests::referrers(self, repo, subject).await
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        manifests::repositories(self).await
    }

    async fn stale_catalog(&self, trust: &str) -> Result<Vec<(String, u64)>> {
        catalog::stale(self, trust).await
    }

    async fn save_catalog(
        &self,
        repository: &str,
        version: u64,
        trust: &str,
        entry: Option<&CatalogEntry>,
    ) -> Result<()> {
        catalog::save(self, repository, version, trust, entry).await
    }

    async fn search_catalog(&self, query: &CatalogQuery) -> Result<Vec<String>> {
        catalog::search(self, query).await
    }

    async fn catalog_entries(&self, names: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        catalog::entries(self, names).await
    }

    async fn derived(&self, key: &str) -> Result<Option<Vec<u8>>> {
        manifests::derived(self, key).await
    }

    async fn save_derived(&self, key: &str, bytes: &[u8]) -> Result<()> {
        manifests::save_derived(self, key, bytes).await
    }
}
