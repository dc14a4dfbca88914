//! The shared storage's connections: the object store and PostgreSQL, opened once per replica.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::signer::Signer;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::keys::Keys;
use crate::errors::{RegistryError, Result};

/// The schema, applied at start-up (each migration once, in order, recorded in the database).
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Where a shared registry keeps its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStorageOptions {
    /// The object store and prefix, as a URL: `s3://BUCKET/PREFIX` (S3 and S3-compatible stores).
    pub objects: String,
    /// The object store's settings by `object_store` key (`aws_endpoint`, `aws_region`, `aws_access_key_id`,
    /// `aws_allow_http`…), usually the `AWS_*` environment variables in lower case.
    pub object_options: Vec<(String, String)>,
    /// The PostgreSQL URL, `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub database: String,
    /// Connections to PostgreSQL this replica may hold.
    pub max_connections: u32,
    /// Answer blob downloads with a presigned URL of the object store (`307`) rather than streaming them through
    /// the replica (S3 only).
    pub redirect: bool,
}

/// Blobs in an object store, metadata in PostgreSQL.
pub struct SharedStorage {
    pub(super) objects: Arc<dyn ObjectStore>,
    pub(super) keys: Keys,
    pub(super) db: PgPool,
    pub(super) max_blob_bytes: u64,
    /// Presigns blob downloads, when redirects are on.
    pub(super) signer: Option<Arc<dyn Signer>>,
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
        let (objects, prefix) = object_store::parse_url_opts(&url, options.object_options.clone())
            .map_err(|e| {
                RegistryError::Config(format!(
                    "storage URL {:?}: {e} (expected s3://BUCKET/PREFIX)",
                    options.objects
                ))
            })?;
        let signer = if options.redirect {
            Some(presigner(&url, &options.object_options)?)
        } else {
            None
        };
        let database = without_credentials(&options.database);
        let connect_options = PgConnectOptions::from_str(&options.database)
            .map_err(|e| RegistryError::Config(format!("database URL {database}: {e}")))?
            // The schema's `IF NOT EXISTS` notices are not news.
            .options([("client_min_messages", "warning")]);
        let db = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options)
            .await
            .map_err(|source| RegistryError::DatabaseUnreachable {
                database: database.clone(),
                source,
            })?;
        MIGRATIONS.run(&db).await?;
        Ok(SharedStorage {
            objects: Arc::from(objects),
            keys: Keys::new(prefix),
            db,
            max_blob_bytes: u64::MAX,
            signer,
            description: format!("{url}, metadata in {database}"),
        })
    }

    /// Refuses blobs larger than `bytes`.
    pub fn with_max_blob_bytes(mut self, bytes: u64) -> SharedStorage {
        self.max_blob_bytes = bytes;
        self
    }
}

/// What presigns URLs for the S3 bucket of `url`, with the same settings as the store.
fn presigner(url: &url::Url, options: &[(String, String)]) -> Result<Arc<dyn Signer>> {
    if url.scheme() != "s3" {
        return Err(RegistryError::Config(format!(
            "redirect: true needs an s3:// object store (presigned URLs), not {url}"
        )));
    }
    let mut builder = AmazonS3Builder::new().with_url(url.as_str());
    for (key, value) in options {
        if let Ok(key) = key.parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    Ok(Arc::new(builder.build()?))
}

/// A database URL without its user name and password, to show.
fn without_credentials(database: &str) -> String {
    match url::Url::parse(database) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "(not a URL)".to_string(),
    }
}
