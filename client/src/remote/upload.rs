//! Resumable chunked blob uploads, as the OCI distribution spec describes them ("Pushing a blob in
//! chunks"): `POST` opens a session, each `PATCH` sends one chunk with `Content-Range: <start>-<end>`,
//! `PUT ?digest=` closes it. After a dropped connection, a 5xx or a 416, a `GET` on the session tells how
//! much the registry holds (`Range: 0-<end>`), and the upload goes on from there instead of starting over.
//! A registry that refuses chunks before taking any byte is reported, so that the caller can upload the
//! blob in one request instead.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, Url};

use super::progress::{Progress, reporting_stream};
use super::transport::{FIRST_BACKOFF, RETRIES};
use crate::error::{ClientError, Result};
use artifact::oci::Digest;

/// When, and in what pieces, blobs are uploaded in chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Blobs larger than this many bytes go in chunks; smaller ones in one request.
    pub threshold: u64,
    /// The size of a chunk, in bytes.
    pub chunk_size: u64,
}

impl Default for Chunking {
    /// Chunks of 8 MiB for blobs over 16 MiB: policies are rarely that large, and a lost connection then
    /// costs one chunk, not the whole module.
    fn default() -> Chunking {
        Chunking {
            threshold: 16 << 20,
            chunk_size: 8 << 20,
        }
    }
}

/// How a chunked upload ended, when it did not fail.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The registry has the blob.
    Uploaded,
    /// The registry refused chunks (for this reason) before it took any byte: upload in one request.
    Unsupported(String),
}

/// One chunked upload of a blob into a repository.
pub(super) struct ChunkedUpload<'a> {
    /// The HTTP client, configured as the session's transport.
    pub http: &'a reqwest::Client,
    /// `http://HOST[:PORT]/v2/REPOSITORY/blobs/`, which the session URLs are resolved against.
    pub blobs_url: Url,
    /// `host[:port]`, for errors.
    pub registry: &'a str,
    /// The `Authorization` header for pushing, if the registry wants one.
    pub authorization: Option<HeaderValue>,
    /// The chunk size in bytes.
    pub chunk_size: u64,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
}

/// Where an upload stands.
struct State {
    /// The session URL, once opened.
    session: Option<Url>,
    /// How many bytes the registry holds.
    offset: u64,
}

/// What one request led to.
enum Step {
    /// The upload moved on.
    Moved,
    /// The registry has the whole blob.
    Done,
}

/// Why a request failed.
enum Failure {
    /// Worth asking where the upload stands and going on (dropped connection, 5xx, 429, 416).
    Transient(String),
    /// The registry refused the request for a reason that chunks may explain (a 4xx).
    Refused(String),
    /// Not worth trying again.
    Fatal(ClientError),
}

impl ChunkedUpload<'_> {
    /// Uploads `bytes` as the blob `digest`.
    pub(super) async fn run(&self, digest: &Digest, bytes: &Bytes) -> Result<Outcome> {
        let total = bytes.len() as u64;
        let mut state = State {
            session: None,
            offset: 0,
        };
        let mut failures = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let before = state.offset;
            let failure = match self.step(&mut state, digest, bytes).await {
                Ok(Step::Done) => {
                    self.progress.at(total);
                    return Ok(Outcome::Uploaded);
                }
                Ok(Step::Moved) => {
                    if state.offset > before {
                        failures = 0;
                        backoff = FIRST_BACKOFF;
                    }
                    continue;
                }
                Err(failure) => failure,
            };
            let reason = match failure {
                Failure::Fatal(err) => return Err(err),
                Failure::Refused(reason) if state.offset == 0 => {
                    return Ok(Outcome::Unsupported(reason));
                }
                Failure::Refused(reason) => {
                    return Err(self.error(format!(
                        "the upload of {digest} stopped at {} of {total} bytes: {reason}",
                        state.offset
                    )));
                }
                Failure::Transient(reason) => reason,
            };
            if failures == RETRIES {
                return Err(self.error(format!(
                    "the upload of {digest} failed {} times in a row at {} of {total} bytes: {reason}",
                    RETRIES + 1,
                    state.offset
                )));
            }
            failures += 1;
            tracing::warn!(registry = self.registry, %reason, "upload interrupted; resuming in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            match self.recover(&mut state, digest).await {
                Ok(true) => {
                    self.progress.at(total);
                    return Ok(Outcome::Uploaded);
                }
                Ok(false) | Err(Failure::Transient(_)) => self.progress.at(state.offset),
                Err(Failure::Fatal(err)) => return Err(err),
                Err(Failure::Refused(reason)) => {
                    return Err(
                        self.error(format!("the upload of {digest} cannot resume: {reason}"))
                    );
                }
            }
        }
    }

    /// The next request: open the session, send a chunk, or close the session.
    async fn step(
        &self,
        state: &mut State,
        digest: &Digest,
        bytes: &Bytes,
    ) -> std::result::Result<Step, Failure> {
        let total = bytes.len() as u64;
        let Some(session) = state.session.clone() else {
            let uploads = self.url("uploads/")?;
            let response = self
                .send(self.http.post(uploads).header(header::CONTENT_LENGTH, 0))
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(refusal(self.registry, response, "opening an upload session").await);
            }
            state.session = Some(self.location(&response)?);
            state.offset = 0;
            return Ok(Step::Moved);
        };
        if state.offset < total {
            let start = state.offset;
            let end = total.min(start + self.chunk_size);
            let chunk = bytes.slice(start as usize..end as usize);
            let body = reqwest::Body::wrap_stream(reporting_stream::<std::io::Error>(
                self.progress.clone(),
                chunk,
                start,
            ));
            let response = self
                .send(
                    self.http
                        .patch(session)
                        .header(header::CONTENT_TYPE, "application/octet-stream")
                        .header(header::CONTENT_RANGE, format!("{start}-{}", end - 1))
                        .header(header::CONTENT_LENGTH, end - start)
                        .body(body),
                )
                .await?;
            return match response.status() {
                StatusCode::ACCEPTED => {
                    state.session = Some(self.location(&response)?);
                    state.offset = committed(&response).unwrap_or(end);
                    Ok(Step::Moved)
                }
                StatusCode::RANGE_NOT_SATISFIABLE if start > 0 => Err(Failure::Transient(format!(
                    "it refused the range {start}-{}",
                    end - 1
                ))),
                // The registry lost the session (Distribution 2.8 refuses one whose last chunk arrived
                // in part, although it may still report it): start a new one.
                StatusCode::NOT_FOUND if start > 0 => {
                    state.session = None;
                    state.offset = 0;
                    Err(Failure::Transient(format!(
                        "it no longer knows the upload session (at {start} bytes)"
                    )))
                }
                _ => Err(refusal(self.registry, response, "sending a chunk").await),
            };
        }
        let mut url = session;
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let response = self
            .send(self.http.put(url).header(header::CONTENT_LENGTH, 0))
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(refusal(self.registry, response, "closing the upload").await);
        }
        Ok(Step::Done)
    }

    /// After a failure: how much the registry holds (a `GET` on the session). A session the registry no
    /// longer knows starts over, unless the blob arrived whole (the failure hit the answer to the closing
    /// `PUT`), which this returns `true` for.
    async fn recover(
        &self,
        state: &mut State,
        digest: &Digest,
    ) -> std::result::Result<bool, Failure> {
        let Some(session) = state.session.clone() else {
            return Ok(false);
        };
        let response = self.send(self.http.get(session)).await?;
        match response.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                state.session = Some(self.location(&response)?);
                state.offset = committed(&response).unwrap_or(0);
                Ok(false)
            }
            StatusCode::NOT_FOUND => {
                let blob = self.url(&digest.to_string())?;
                let head = self.send(self.http.head(blob)).await?;
                if !head.status().is_success() {
                    tracing::warn!(
                        registry = self.registry,
                        "the upload session is gone; starting a new one"
                    );
                }
                state.session = None;
                state.offset = 0;
                Ok(head.status().is_success())
            }
            _ => Err(refusal(self.registry, response, "asking where the upload stands").await),
        }
    }

    /// Sends a request with the session's credentials; a dropped connection is transient.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> std::result::Result<reqwest::Response, Failure> {
        let request = match &self.authorization {
            Some(value) => request.header(header::AUTHORIZATION, value.clone()),
            None => request,
        };
        request.send().await.map_err(|err| {
            if err.is_connect() {
                Failure::Fatal(ClientError::Unreachable {
                    registry: self.registry.to_string(),
                    reason: super::transport::root_cause(&err),
                })
            } else {
                Failure::Transient(super::transport::root_cause(&err))
            }
        })
    }

    /// A URL under the repository's `blobs/`.
    fn url(&self, path: &str) -> std::result::Result<Url, Failure> {
        self.blobs_url
            .join(path)
            .map_err(|err| Failure::Fatal(self.error(format!("bad URL {path:?}: {err}"))))
    }

    /// The session URL of a response (`Location`, absolute or relative to the registry).
    fn location(&self, response: &reqwest::Response) -> std::result::Result<Url, Failure> {
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| self.blobs_url.join(location).ok())
            .ok_or_else(|| {
                Failure::Fatal(self.error(format!(
                    "its answer ({}) has no usable Location header",
                    response.status()
                )))
            })
    }

    fn error(&self, reason: String) -> ClientError {
        ClientError::Registry {
            registry: self.registry.to_string(),
            reason,
        }
    }
}

/// What an unexpected answer means: try again (5xx, 429), stop (401, 403), or a refusal (other 4xx), with
/// the registry's messages.
async fn refusal(registry: &str, response: reqwest::Response, doing: &str) -> Failure {
    let status = response.status();
    let registry = registry.to_string();
    let body = response.text().await.unwrap_or_default();
    let reason = match super::transport::envelope_messages(&body) {
        messages if messages.trim().is_empty() => format!("{doing}: {status}"),
        messages => format!("{doing}: {status}: {}", messages.trim()),
    };
    match status.as_u16() {
        429 | 500..=599 => Failure::Transient(reason),
        401 => Failure::Fatal(ClientError::Unauthorized { registry }),
        403 => Failure::Fatal(ClientError::Denied { registry, reason }),
        _ => Failure::Refused(reason),
    }
}

/// How many bytes the registry says it holds: the end of `Range: 0-<end>` plus one (`0-0` counts as none,
/// as registries answer it for an empty session).
fn committed(response: &reqwest::Response) -> Option<u64> {
    let range = response.headers().get(header::RANGE)?.to_str().ok()?;
    parse_range(range)
}

fn parse_range(range: &str) -> Option<u64> {
    let range = range.trim();
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    match (start, end) {
        (0, 0) => Some(0),
        (0, end) => Some(end + 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_bytes_held() {
        assert_eq!(parse_range("0-1023"), Some(1024));
        assert_eq!(parse_range("bytes=0-9"), Some(10));
        assert_eq!(parse_range("0-0"), Some(0));
        assert_eq!(parse_range("5-9"), None);
        assert_eq!(parse_range("oops"), None);
    }
}
