//! [`Storage`] on a local folder: content-addressed blobs shared by all repositories, small link files per
//! repository, upload sessions on disk so that they survive a restart.

mod blobs;
mod catalog;
mod folder;
mod gc;
mod ingest;
mod layout;
mod listing;
mod manifests;
mod pending;
mod session;
mod uploads;

use std::time::Duration;

use artifact::oci::Digest;

use super::backend::{BlobContent, Storage, StoredManifest, Upload, checked_key};
use super::catalog::{CatalogEntry, CatalogQuery};
use crate::errors::Result;
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};
use crate::storage::collection::{GcOptions, GcReport};
pub use folder::LocalStorage;

impl LocalStorage {
    /// Removes the manifests and blobs that no tag reaches; safe while serving (see [`GcOptions::grace`]).
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport> {
        gc::collect(self, options).await
    }
}

impl Storage for LocalStorage {
    /// A folder has nothing to connect to: the process that serves it is ready.
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn blob_size(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::size(self, repo, digest).await
    }

    async fn keep_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::keep(self, repo, digest).await
    }

    async fn blob_redirect(&self, _digest: &Digest) -> Result<Option<String>> {
        Ok(None)
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
        self.fs
            .remove_file(&self.layout.blob_link(repo, digest))
            .await
    }

    async fn mount_blob(&self, from: &RepoName, to: &RepoName, digest: &Digest) -> Result<bool> {
        blobs::mount(self, from, to, digest).await
    }

    async fn put_blob(&self, repo: &RepoName, digest: &Digest, upload: Upload) -> Result<u64> {
        blobs::put(self, repo, digest, upload).await
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
        let held = manifests::get(self, repo, &Reference::Digest(digest.clone()))
            .await?
            .is_some();
        Ok(held
            && self
                .fs
                .touch(&self.layout.manifest_link(repo, digest))
                .await?)
    }

    async fn delete_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<bool> {
        manifests::delete(self, repo, reference).await
    }

    async fn set_pending_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<()> {
        pending::set(self, repo, tag, digest).await
    }

    async fn pending_tags(&self, repo: &RepoName) -> Result<Vec<(String, Digest)>> {
        pending::list(self, repo).await
    }

    async fn publish_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<bool> {
        pending::publish(self, repo, tag, digest).await
    }

    async fn withdraw_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<bool> {
        pending::withdraw(self, repo, tag, digest).await
    }

    async fn tags(&self, repo: &RepoName) -> Result<Option<Vec<String>>> {
        manifests::tags(self, repo).await
    }

    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Descriptor>> {
        manifests::referrers(self, repo, subject).await
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        listing::repositories(&self.layout, &self.fs).await
    }

    async fn stale_catalog(&self, trust: &str) -> Result<Vec<(String, u64)>> {
        catalog::stale(&self.catalog, trust).await
    }

    async fn save_catalog(
        &self,
        repository: &str,
        version: u64,
        trust: &str,
        entry: Option<&CatalogEntry>,
    ) -> Result<()> {
        catalog::save(&self.catalog, repository, version, trust, entry).await
    }

    async fn search_catalog(&self, query: &CatalogQuery) -> Result<Vec<String>> {
        catalog::search(&self.catalog, query).await
    }

    async fn catalog_entries(&self, names: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
        catalog::entries(&self.catalog, names).await
    }

    async fn derived(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.fs
            .read_optional(&self.layout.derived(checked_key(key)?))
            .await
    }

    async fn save_derived(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.fs
            .write_atomic(&self.layout.derived(checked_key(key)?), bytes)
            .await
    }
}
