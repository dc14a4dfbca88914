//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (monolithic with `?digest=`, mount with `?mount=&from=`, or a
//! session), then `PATCH`, `PUT`, `GET` and `DELETE` on the session.

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::headers::{BLOB_UPLOAD_SESSION_ID, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, Headers};
use super::request::{Request, upload};
use crate::errors::{RegistryError, Result, upload_range};
use crate::names::{RepoName, parse_digest};
use crate::storage::Storage;

/// Starts an upload: stores a whole blob, mounts one from another repository (if `may_mount_from` it), or opens a
/// session.
pub async fn start<S: Storage>(
    storage: &S,
    repo: &RepoName,
    may_mount_from: impl Fn(&str) -> bool,
    request: Request,
) -> Result<Response> {
    let params = &request.params;
    if let Some(digest) = &params.digest {
        let digest = parse_digest(digest)?;
        storage
            .put_blob(repo, &digest, upload(&request.headers, request.body, None)?)
            .await?;
        return Ok(created(repo, &digest.to_string()));
    }
    if let (Some(mount), Some(from)) = (&params.mount, &params.from) {
        let mounted = match (parse_digest(mount), RepoName::parse(from)) {
            (Ok(digest), Ok(from)) if may_mount_from(from.as_str()) => storage
                .mount_blob(&from, repo, &digest)
                .await?
                .then_some(digest),
            _ => None,
        };
        if let Some(digest) = mounted {
            return Ok(created(repo, &digest.to_string()));
        }
    }
    let id = storage.start_upload(repo).await?;
    Ok(session_headers(repo, &id, 0).respond(StatusCode::ACCEPTED, Body::empty()))
}

/// `201 Created` for a stored blob.
fn created(repo: &RepoName, digest: &str) -> Response {
    Headers::default()
        .with(header::LOCATION, format!("/v2/{repo}/blobs/{digest}"))
        .with(DOCKER_CONTENT_DIGEST, digest)
        .respond(StatusCode::CREATED, Body::empty())
}

/// The headers every session response carries: where to continue and how far the upload is.
fn session_headers(repo: &RepoName, id: &str, size: u64) -> Headers {
    Headers::default()
        .with(header::LOCATION, location(repo, id))
        .with(header::RANGE, upload_range(size))
        .with(BLOB_UPLOAD_SESSION_ID, id)
        .with(DOCKER_UPLOAD_UUID, id)
}

fn location(repo: &RepoName, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

/// `PATCH`, `PUT`, `GET` or `DELETE` on an upload session.
pub async fn session<S: Storage>(
    storage: &S,
    repo: &RepoName,
    id: &str,
    method: Method,
    request: Request,
) -> Result<Response> {
    let answer = match method {
        Method::GET => storage.upload_size(repo, id).await.map(|size| {
            session_headers(repo, id, size).respond(StatusCode::NO_CONTENT, Body::empty())
        }),
        Method::PATCH => patch(storage, repo, id, request).await,
        Method::PUT => finish(storage, repo, id, request).await,
        Method::DELETE => storage
            .cancel_upload(repo, id)
            .await
            .map(|()| Headers::default().respond(StatusCode::NO_CONTENT, Body::empty())),
        other => Err(RegistryError::Unsupported(format!(
            "{other} is not allowed on an upload"
        ))),
    };
    Ok(answer.unwrap_or_else(|error| {
        let mut response = error.into_response();
        if response.status() == StatusCode::RANGE_NOT_SATISFIABLE
            && let Ok(value) = location(repo, id).try_into()
        {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }))
}

async fn patch<S: Storage>(
    storage: &S,
    repo: &RepoName,
    id: &str,
    request: Request,
) -> Result<Response> {
    let range = content_range(&request.headers)?;
    let body = upload(
        &request.headers,
        request.body,
        range.map(|(start, end)| end - start),
    )?;
    let size = storage
        .append_upload(repo, id, range.map(|(start, _)| start), body)
        .await?;
    Ok(session_headers(repo, id, size).respond(StatusCode::ACCEPTED, Body::empty()))
}

async fn finish<S: Storage>(
    storage: &S,
    repo: &RepoName,
    id: &str,
    request: Request,
) -> Result<Response> {
    let digest = request.params.digest.as_deref().ok_or_else(|| {
        RegistryError::DigestInvalid("completing an upload needs a `digest` query parameter".into())
    })?;
    let digest = parse_digest(digest)?;
    let range = content_range(&request.headers)?;
    let body = upload(
        &request.headers,
        request.body,
        range.map(|(start, end)| end - start),
    )?;
    storage
        .finish_upload(repo, id, &digest, range.map(|(start, _)| start), body)
        .await?;
    Ok(created(repo, &digest.to_string()))
}

/// The half-open range of a `Content-Range: <start>-<end>` header (inclusive end on the wire; `bytes ` prefix and
/// `/total` suffix tolerated). A malformed header answers `416`, as the spec asks.
fn content_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>> {
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let malformed = || RegistryError::ContentRangeInvalid(format!("{value:?}"));
    let text = value.to_str().map_err(|_| malformed())?.trim();
    let text = text.strip_prefix("bytes").map_or(text, str::trim_start);
    let text = text.split('/').next().unwrap_or(text);
    let (start, end) = text.split_once('-').ok_or_else(malformed)?;
    let start: u64 = start.trim().parse().map_err(|_| malformed())?;
    let end: u64 = end.trim().parse().map_err(|_| malformed())?;
    if end < start {
        return Err(malformed());
    }
    Ok(Some((start, end + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str) -> Result<Option<(u64, u64)>> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, value.parse().unwrap());
        content_range(&headers)
    }

    #[test]
    fn content_ranges() {
        assert_eq!(range("0-9").unwrap(), Some((0, 10)));
        assert_eq!(range("bytes 10-19/*").unwrap(), Some((10, 20)));
        assert!(range("9-0").is_err());
        assert!(range("nonsense").is_err());
        assert_eq!(content_range(&HeaderMap::new()).unwrap(), None);
    }
}
