//! The response headers the registry API sets, and a builder for them.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `Docker-Content-Digest`: the digest of the content sent or stored.
pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// `OCI-Subject`: the subject of a pushed manifest, telling the client the registry indexed it as a referrer.
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// `OCI-Filters-Applied`: which filters a referrers listing applied.
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
/// `Blob-Upload-Session-ID`: the id of an upload session.
pub const BLOB_UPLOAD_SESSION_ID: HeaderName = HeaderName::from_static("blob-upload-session-id");
/// `Docker-Upload-UUID`: the legacy name of the upload session id.
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// `Docker-Distribution-API-Version`: tells clients this is a v2 registry.
pub const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");

/// Builds response headers from values that are known to be header-safe (digests, names, numbers).
#[derive(Default)]
pub struct Headers(HeaderMap);

impl Headers {
    pub fn with(mut self, name: HeaderName, value: impl ToString) -> Headers {
        if let Ok(value) = HeaderValue::try_from(value.to_string()) {
            self.0.insert(name, value);
        }
        self
    }

    pub fn respond(self, status: StatusCode, body: impl Into<Body>) -> Response {
        (status, self.0, body.into()).into_response()
    }
}
