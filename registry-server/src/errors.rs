//! The one error type of the registry, and its mapping to the OCI error JSON and HTTP status codes.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything a request, the storage or the configuration can fail with.
///
/// Protocol errors carry the OCI error code the client expects; storage and configuration errors name the file and
/// what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The blob is not in the repository.
    #[error("blob {digest} is not in this repository")]
    BlobUnknown {
        /// The digest asked for.
        digest: String,
    },

    /// The upload cannot be completed as asked.
    #[error("invalid upload: {0}")]
    BlobUploadInvalid(String),

    /// A chunk does not start where the upload stands: the client must resume from `size`.
    #[error(
        "chunk out of order: the upload holds {size} bytes, so the next chunk must start at byte {size}"
    )]
    ChunkOutOfOrder {
        /// Bytes received so far.
        size: u64,
    },

    /// A `Content-Range` header that is not `<start>-<end>`.
    #[error("malformed Content-Range {0}: expected `<start>-<end>`, inclusive byte offsets")]
    ContentRangeInvalid(String),

    /// The upload session does not exist (never started, finished, cancelled or expired).
    #[error("upload {id} is unknown: it finished, was cancelled or expired; start a new upload")]
    BlobUploadUnknown {
        /// The session id asked for.
        id: String,
    },

    /// A digest is malformed or does not match the content.
    #[error("{0}")]
    DigestInvalid(String),

    /// A manifest points at a blob or manifest the repository does not have.
    #[error("the manifest references {digest}, which is not in this repository: push it first")]
    ManifestBlobUnknown {
        /// The missing digest.
        digest: String,
    },

    /// A manifest is not one this registry accepts.
    #[error("invalid manifest: {0}")]
    ManifestInvalid(String),

    /// The manifest (by tag or digest) is not in the repository.
    #[error("manifest {reference} is not in this repository")]
    ManifestUnknown {
        /// The tag or digest asked for.
        reference: String,
    },

    /// A tag of an `enforce` prefix that no trusted signature has vouched for yet.
    #[error(
        "tag {tag} awaits a signature that satisfies the trust policy of prefix {prefix:?}: it is not published until one is pushed{}",
        waits_for.as_ref().map(|d| format!(" (sign {d})")).unwrap_or_default()
    )]
    TagPending {
        /// The tag.
        tag: String,
        /// The trust policy's prefix.
        prefix: String,
        /// The digest it waits to name, told to clients that may push (so that they can sign it).
        waits_for: Option<String>,
    },

    /// A document the hub makes from a policy's metadata (its Artifact Hub package) that this metadata cannot make;
    /// the message says what it lacks.
    #[error("{0}")]
    HubDocumentUnavailable(String),

    /// A repository name breaks the OCI grammar.
    #[error("invalid repository name {name:?}: {reason}")]
    NameInvalid {
        /// The name as given.
        name: String,
        /// What was expected.
        reason: String,
    },

    /// The repository does not exist.
    #[error("repository {name} is unknown")]
    NameUnknown {
        /// The name asked for.
        name: String,
    },

    /// The body's length disagrees with what the request declared.
    #[error("{0}")]
    SizeInvalid(String),

    /// The requested byte range lies outside the blob.
    #[error("range not satisfiable: the blob has {size} bytes")]
    RangeNotSatisfiable {
        /// The blob's size.
        size: u64,
    },

    /// The client must authenticate.
    #[error("authentication required")]
    Unauthorized {
        /// The `WWW-Authenticate` challenge to send.
        challenge: String,
    },

    /// The client is authenticated but not allowed to do this.
    #[error("access denied: {0}")]
    Denied(String),

    /// A query parameter is malformed.
    #[error("invalid query: {0}")]
    QueryInvalid(String),

    /// The operation is not supported by this registry.
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// The registry is answering as many requests as it is configured to.
    #[error("the registry is busy ({limit} requests in flight): retry shortly")]
    TooManyRequests {
        /// The configured limit.
        limit: usize,
    },

    /// The body or manifest is larger than the configured limit.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The configured limit.
        limit: u64,
    },

    /// The storage's file system is full; the write was rolled back.
    #[error("the registry's storage under {} is full: nothing was stored; free space and retry", root.display())]
    StorageFull {
        /// The storage root.
        root: PathBuf,
    },

    /// A storage file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`writing`, `renaming`…).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A storage file holds something the registry did not write.
    #[error("{} is corrupt: {reason}; restore it from a backup or delete it", path.display())]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The metadata database could not be reached at start-up.
    #[error("cannot connect to the registry's database {database}: {source}")]
    DatabaseUnreachable {
        /// The database, without credentials.
        database: String,
        /// Why.
        source: sqlx::Error,
    },

    /// The metadata database cannot be reached while serving: it is down, unreachable, or gave no connection in
    /// time. The message names the cause but never the database's URL (which may hold credentials).
    #[error("the registry's database cannot be reached ({0}): retry once it is back")]
    DatabaseDown(sqlx::Error),

    /// The metadata database refused or failed an operation.
    #[error("the registry's database: {0}")]
    Database(sqlx::Error),

    /// The folder's SQLite file (repository versions and the hub's catalog) could not be opened, read or written.
    #[error("the registry's catalog {}: {source}", path.display())]
    Catalog {
        /// The file.
        path: PathBuf,
        /// Why.
        source: sqlx::Error,
    },

    /// The database's schema could not be brought up to date.
    #[error("updating the registry's database schema: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// The object store cannot be reached while serving: no connection to it, or no answer in time. The message
    /// names the root cause, not the request (its URL shows the store's address and object names).
    #[error("the registry's object store cannot be reached ({reason}): retry once it is back")]
    ObjectStoreDown {
        /// The root cause (`Connection refused`…).
        reason: String,
        /// The object store's error.
        source: object_store::Error,
    },

    /// The object store refused or failed an operation.
    #[error("the registry's object store: {0}")]
    ObjectStore(object_store::Error),

    /// The server could not listen (its address, its TLS files) or stopped serving.
    #[error(transparent)]
    Serve(#[from] http_server::HttpServerError),

    /// The configuration file or an override is wrong.
    #[error("configuration: {0}")]
    Config(String),
}

/// Result alias for this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

impl RegistryError {
    /// An I/O error on `path`, recognising a full disk so that its message tells the operator what to do.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
        root: &std::path::Path,
    ) -> Self {
        if source.kind() == std::io::ErrorKind::StorageFull
            || source.kind() == std::io::ErrorKind::QuotaExceeded
        {
            RegistryError::StorageFull {
                root: root.to_path_buf(),
            }
        } else {
            RegistryError::Io {
                action,
                path: path.into(),
                source,
            }
        }
    }

    /// The OCI error code and HTTP status of this error.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        use RegistryError::*;
        match self {
            BlobUnknown { .. } => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
            BlobUploadInvalid(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            ChunkOutOfOrder { .. } | ContentRangeInvalid(_) => {
                ("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE)
            }
            BlobUploadUnknown { .. } => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
            DigestInvalid(_) => ("DIGEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestBlobUnknown { .. } => ("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST),
            ManifestInvalid(_) => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestUnknown { .. } | TagPending { .. } => {
                ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND)
            }
            NameInvalid { .. } => ("NAME_INVALID", StatusCode::BAD_REQUEST),
            NameUnknown { .. } => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            SizeInvalid(_) => ("SIZE_INVALID", StatusCode::BAD_REQUEST),
            RangeNotSatisfiable { .. } => ("BLOB_UNKNOWN", StatusCode::RANGE_NOT_SATISFIABLE),
            Unauthorized { .. } => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Denied(_) => ("DENIED", StatusCode::FORBIDDEN),
            Unsupported(_) => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            QueryInvalid(_) => ("UNSUPPORTED", StatusCode::BAD_REQUEST),
            HubDocumentUnavailable(_) => ("UNSUPPORTED", StatusCode::UNPROCESSABLE_ENTITY),
            TooLarge { .. } => ("SIZE_INVALID", StatusCode::PAYLOAD_TOO_LARGE),
            TooManyRequests { .. } => ("TOOMANYREQUESTS", StatusCode::TOO_MANY_REQUESTS),
            StorageFull { .. } => ("UNKNOWN", StatusCode::INSUFFICIENT_STORAGE),
            Database(_)
            | DatabaseDown(_)
            | DatabaseUnreachable { .. }
            | ObjectStore(_)
            | ObjectStoreDown { .. } => ("UNKNOWN", StatusCode::SERVICE_UNAVAILABLE),
            Io { .. } | Corrupt { .. } | Catalog { .. } | Serve(_) | Config(_) | Migration(_) => {
                ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn detail(&self) -> serde_json::Value {
        use RegistryError::*;
        match self {
            BlobUnknown { digest } | ManifestBlobUnknown { digest } => json!({ "digest": digest }),
            ManifestUnknown { reference } => json!({ "reference": reference }),
            TagPending { tag, prefix, .. } => {
                json!({ "reference": tag, "pending": true, "trust_prefix": prefix })
            }
            NameInvalid { name, .. } | NameUnknown { name } => json!({ "name": name }),
            BlobUploadUnknown { id } => json!({ "session": id }),
            _ => serde_json::Value::Null,
        }
    }

    /// Whether the registry's configuration or environment is what is wrong, not a request or the storage: its
    /// configuration file or overrides, its address or TLS files. A command line reports it as a usage error.
    pub fn is_usage(&self) -> bool {
        match self {
            RegistryError::Config(_) => true,
            RegistryError::Serve(error) => error.is_usage(),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for RegistryError {
    /// Tells a database that cannot be reached (so that clients read why they get `503`) from one that failed an
    /// operation.
    fn from(source: sqlx::Error) -> Self {
        if is_unreachable(&source) {
            RegistryError::DatabaseDown(source)
        } else {
            RegistryError::Database(source)
        }
    }
}

/// Whether `error` says that the database cannot be reached rather than that it refused an operation.
fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        // No connection within the pool's timeout: the server refuses connections (sqlx retries those until the
        // timeout) or every connection stayed busy.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // The connection exception class (`08…`), and a server shutting down, crashed or starting up.
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl From<object_store::Error> for RegistryError {
    /// Tells an object store that cannot be reached (so that clients read why they get `503`) from one that failed
    /// an operation.
    fn from(source: object_store::Error) -> Self {
        match unreachable_cause(&source) {
            Some(reason) => RegistryError::ObjectStoreDown { reason, source },
            None => RegistryError::ObjectStore(source),
        }
    }
}

/// The root cause of `error` if it says that the object store could not be reached: a connection that could not be
/// made or broke, or a request without an answer in time.
fn unreachable_cause(error: &object_store::Error) -> Option<String> {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut cause: &(dyn std::error::Error + 'static) = error;
    let mut unreachable = false;
    loop {
        if let Some(http) = cause.downcast_ref::<HttpError>() {
            unreachable |= matches!(
                http.kind(),
                HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Timeout
            );
        }
        match cause.source() {
            Some(next) => cause = next,
            None => break,
        }
    }
    unreachable.then(|| cause.to_string())
}

/// The `Range` header value of an upload holding `size` bytes (inclusive end, `0-0` when empty): what a session's
/// progress answers and what a chunk out of order is told to resume from.
pub fn upload_range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({ "errors": [{ "code": code, "message": self.to_string(), "detail": self.detail() }] });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            RegistryError::ChunkOutOfOrder { size } => {
                if let Ok(value) = HeaderValue::try_from(upload_range(*size)) {
                    headers.insert(header::RANGE, value);
                }
            }
            RegistryError::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            RegistryError::TooManyRequests { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            RegistryError::Unauthorized { challenge } => {
                if let Ok(value) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            _ => {}
        }
        response
    }
}
