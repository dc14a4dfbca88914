//! What the registry API's handlers read from a request: the query parameters, the headers and the body.

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::errors::{RegistryError, Result};
use crate::storage::Upload;

/// The query parameters any endpoint reads.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    pub digest: Option<String>,
    pub mount: Option<String>,
    pub from: Option<String>,
    pub n: Option<String>,
    pub last: Option<String>,
    #[serde(rename = "artifactType")]
    pub artifact_type: Option<String>,
}

/// Everything a handler may read from the request.
pub struct Request {
    pub method: Method,
    pub params: Params,
    pub headers: HeaderMap,
    pub body: Body,
}

/// A request body as an [`Upload`], with the length from `Content-Length` unless `declared` overrides it.
pub fn upload(headers: &HeaderMap, body: Body, declared: Option<u64>) -> Result<Upload> {
    let content_length = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    RegistryError::SizeInvalid("Content-Length is not a number".into())
                })?,
        ),
    };
    if let (Some(length), Some(declared)) = (content_length, declared)
        && length != declared
    {
        return Err(RegistryError::SizeInvalid(format!(
            "Content-Length {length} disagrees with the {declared} bytes of Content-Range"
        )));
    }
    Ok(Upload {
        body: body
            .into_data_stream()
            .map_err(std::io::Error::other)
            .boxed(),
        declared_len: declared.or(content_length),
    })
}
