//! `GET`, `HEAD` and `DELETE /v2/<name>/blobs/<digest>`, with single `Range` requests; a `GET` is redirected to the
//! object store when the storage offers presigned URLs.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::headers::{DOCKER_CONTENT_DIGEST, Headers};
use crate::errors::{RegistryError, Result};
use crate::names::{RepoName, parse_digest};
use crate::storage::Storage;

/// Sends a blob, or the part a `Range` header asks for; `head` sends the headers only.
pub async fn get<S: Storage>(
    storage: &S,
    repo: &RepoName,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response> {
    let digest = parse_digest(digest)?;
    let size = if head {
        storage.keep_blob(repo, &digest).await?
    } else {
        storage.blob_size(repo, &digest).await?
    };
    let size = size.ok_or_else(|| RegistryError::BlobUnknown {
        digest: digest.to_string(),
    })?;
    if !head && let Some(url) = storage.blob_redirect(&digest).await? {
        return Ok(Headers::default()
            .with(DOCKER_CONTENT_DIGEST, &digest)
            .with(header::LOCATION, url)
            .respond(StatusCode::TEMPORARY_REDIRECT, Body::empty()));
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) => parse_range(value, size)?,
        None => None,
    };
    let (status, start, end) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
        None => (StatusCode::OK, 0, size),
    };
    let mut response = Headers::default()
        .with(DOCKER_CONTENT_DIGEST, &digest)
        .with(header::ETAG, format!("\"{digest}\""))
        .with(header::ACCEPT_RANGES, "bytes")
        .with(header::CONTENT_TYPE, "application/octet-stream")
        .with(header::CONTENT_LENGTH, end - start);
    if range.is_some() {
        response = response.with(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end.saturating_sub(1)),
        );
    }
    if head {
        return Ok(response.respond(status, Body::empty()));
    }
    let content = storage.read_blob(repo, &digest, start, end).await?;
    Ok(response.respond(status, Body::from_stream(content.stream)))
}

/// The half-open byte range `bytes=a-b`, `bytes=a-` or `bytes=-n` selects; `None` for forms this registry serves
/// whole (other units, several ranges).
fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = || RegistryError::RangeNotSatisfiable { size };
    let (first, last) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| unsatisfiable());
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n = number(suffix)?.min(size);
            (size - n, size)
        }
        (first, "") => (number(first)?, size),
        (first, last) => (number(first)?, number(last)?.saturating_add(1).min(size)),
    };
    if start >= end || start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// Removes the blob from the repository: `202 Accepted`, or `404` if it held no such blob.
pub async fn delete<S: Storage>(storage: &S, repo: &RepoName, digest: &str) -> Result<Response> {
    let digest = parse_digest(digest)?;
    if storage.delete_blob(repo, &digest).await? {
        Ok(Headers::default().respond(StatusCode::ACCEPTED, Body::empty()))
    } else {
        Err(RegistryError::BlobUnknown {
            digest: digest.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 10)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 100)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 100)));
        assert_eq!(parse_range("bytes=50-1000", 100).unwrap(), Some((50, 100)));
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-2", 100).is_err());
        assert!(parse_range("bytes=x-2", 100).is_err());
    }
}
