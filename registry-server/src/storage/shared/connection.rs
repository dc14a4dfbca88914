//! The shared storage's connections: the object store and PostgreSQL, opened once per replica.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, ObjectStoreScheme, RetryConfig};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::keys::Keys;
use crate::errors::{RegistryError, Result};

/// The schema, applied at start-up (each migration once, in order, recorded in the database).
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a database connection before it answers `503`: a database that is down refuses
/// connections, which sqlx retries until this timeout, so it bounds how long clients wait for the error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the object store retries a request that failed (a refused connection, a `5xx`, a throttled request): three
/// times within about a second, as AWS's SDKs do, rather than `object_store`'s default of ten times within up to
/// three minutes, so that a store that cannot be reached fails a request in seconds.
const RETRIES: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        base: 2.0,
    },
    max_retries: 3,
    retry_timeout: Duration::from_secs(10),
};

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
        let bad_url = |e: String| {
            RegistryError::Config(format!(
                "storage URL {:?}: {e} (expected s3://BUCKET/PREFIX)",
                options.objects
            ))
        };
        let url = url::Url::parse(&options.objects).map_err(|e| bad_url(e.to_string()))?;
        let (objects, prefix) =
            object_store(&url, &options.object_options).map_err(|e| bad_url(e.to_string()))?;
        let objects = Arc::new(objects);
        let signer = options
            .redirect
            .then(|| Arc::clone(&objects) as Arc<dyn Signer>);
        let database = without_credentials(&options.database);
        let connect_options = PgConnectOptions::from_str(&options.database)
            .map_err(|e| RegistryError::Config(format!("database URL {database}: {e}")))?
            // The schema's `IF NOT EXISTS` notices are not news.
            .options([("client_min_messages", "warning")]);
        let db = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(connect_options)
            .await
            .map_err(|source| RegistryError::DatabaseUnreachable {
                database: database.clone(),
                source,
            })?;
        MIGRATIONS.run(&db).await?;
        Ok(SharedStorage {
            objects,
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

/// Whether both stores answer: `SELECT 1` in the database, and a `HEAD` in the object store (of an object that
/// does not exist: `404` is an answer).
pub async fn ready(storage: &SharedStorage) -> Result<()> {
    let database = async {
        sqlx::query("SELECT 1").execute(&storage.db).await?;
        Ok(())
    };
    let objects = async {
        match storage.objects.head(&storage.keys.never_written()).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(RegistryError::from(error)),
        }
    };
    futures_util::future::try_join(database, objects).await?;
    Ok(())
}

/// The S3 bucket of `url` (`s3://BUCKET/PREFIX`) with `options`, and the prefix; it also presigns URLs.
fn object_store(
    url: &url::Url,
    options: &[(String, String)],
) -> object_store::Result<(AmazonS3, Path)> {
    let (scheme, prefix) = ObjectStoreScheme::parse(url)?;
    if scheme != ObjectStoreScheme::AmazonS3 {
        return Err(object_store::Error::NotSupported {
            source: format!("{url} is not an S3 bucket").into(),
        });
    }
    let mut builder = AmazonS3Builder::new()
        .with_url(url.as_str())
        .with_retry(RETRIES);
    for (key, value) in options {
        if let Ok(key) = key.parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, value);
        }
    }
    Ok((builder.build()?, Path::parse(prefix)?))
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
