//! [`Storage`] that every replica of the registry shares: blob bytes in an object store (S3 and every
//! S3-compatible store, GCS, Azure, through the `object_store` crate), everything else in PostgreSQL.
//!
//! Any replica answers any request: upload sessions, tags and referrers are rows, and every change is one
//! transaction, so a tag moves atomically and nothing partial is ever visible. A blob's row exists only while its
//! object holds verified bytes: content is written under `uploads/`, verified, and copied into `blobs/` while the
//! row is locked, and garbage collection deletes an object only while holding the same lock.

mod blobs;
mod gc;
mod keys;
mod manifests;
mod objects;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

use artifact::oci::Digest;
use object_store::ObjectStore;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::backend::{BlobContent, Storage, StoredManifest, Upload};
use super::collection::{GcOptions, GcReport};
use crate::errors::{RegistryError, Result};
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};
use keys::Keys;

/// The schema, applied at start-up (each migration once, in order, recorded in the database).
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Where a shared registry keeps its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStorageOptions {
    /// The object store and prefix, as a URL: `s3://BUCKET/PREFIX` (also `gs://`, `az://`, `memory:///`).
    pub objects: String,
    /// The object store's settings by `object_store` key (`aws_endpoint`, `aws_region`, `aws_access_key_id`,
    /// `aws_allow_http`…), usually the `AWS_*` environment variables in lower case.
    pub object_options: Vec<(String, String)>,
    /// The PostgreSQL URL, `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub database: String,
    /// Connections to PostgreSQL this replica may hold.
    pub max_connections: u32,
}

/// Blobs in an object store, metadata in PostgreSQL.
pub struct SharedStorage {
    objects: Arc<dyn ObjectStore>,
    keys: Keys,
    db: PgPool,
    max_blob_bytes: u64,
    /// What [`SharedStorage`] displays: the object store URL and the database without its credentials.
    description: String,
}

impl std::fmt::Display for SharedStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl SharedStorage {
    /// Connects to both stores and brings the database's schema up to date.
    pub async fn connect(options: &SharedStorageOptions) -> Result<SharedStorage> {
        let url = url::Url::parse(&options.objects).map_err(|e| {
            RegistryError::Config(format!(
                "storage URL {:?}: {e} (expected s3://BUCKET/PREFIX)",
                options.objects
            ))
        })?;
        let (objects, prefix) = object_store::parse_url_opts(&url, options.object_options.clone())?;
        let db = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&options.database)
            .await?;
        MIGRATIONS.run(&db).await?;
        Ok(SharedStorage {
            objects: Arc::from(objects),
            keys: Keys::new(prefix),
            db,
            max_blob_bytes: u64::MAX,
            description: describe(&url, &options.database),
        })
    }

    /// Refuses blobs larger than `bytes`.
    pub fn with_max_blob_bytes(mut self, bytes: u64) -> SharedStorage {
        self.max_blob_bytes = bytes;
        self
    }

    /// Removes the manifests and blobs that no tag reaches, and abandoned upload chunks; safe while every replica
    /// serves (see [`GcOptions::grace`]).
    pub async fn collect_garbage(&self, options: &GcOptions) -> Result<GcReport> {
        gc::collect(self, options).await
    }
}

/// `s3://bucket/prefix, metadata in postgres://host:port/db`: where things are, with no user name or password.
fn describe(objects: &url::Url, database: &str) -> String {
    let database = match url::Url::parse(database) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "PostgreSQL".to_string(),
    };
    format!("{objects}, metadata in {database}")
}

impl Storage for SharedStorage {
    async fn blob_size(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::size(self, repo, digest).await
    }

    async fn keep_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        blobs::keep(self, repo, digest).await
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

    async fn tags(&self, repo: &RepoName) -> Result<Option<Vec<String>>> {
        manifests::tags(self, repo).await
    }

    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Descriptor>> {
        manifests::referrers(self, repo, subject).await
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        manifests::repositories(self).await
    }
}
