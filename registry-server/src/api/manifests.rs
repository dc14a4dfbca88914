//! `GET`, `HEAD`, `PUT` and `DELETE /v2/<name>/manifests/<reference>`.

use artifact::oci::{Algorithm, Digest};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::headers::{DOCKER_CONTENT_DIGEST, Headers, OCI_SUBJECT};
use crate::errors::{RegistryError, Result};
use crate::manifest;
use crate::names::{Reference, RepoName};
use crate::state::AppState;
use crate::storage::{Storage, StoredManifest};

/// Sends a manifest with its stored media type; `head` sends the headers only.
pub async fn get<S: Storage>(
    storage: &S,
    repo: &RepoName,
    reference: &str,
    head: bool,
) -> Result<Response> {
    let reference = Reference::parse(reference)?;
    let manifest = storage
        .get_manifest(repo, &reference)
        .await?
        .ok_or_else(|| RegistryError::ManifestUnknown {
            reference: reference.to_string(),
        })?;
    let headers = Headers::default()
        .with(header::CONTENT_TYPE, &manifest.media_type)
        .with(DOCKER_CONTENT_DIGEST, &manifest.digest)
        .with(header::ETAG, format!("\"{}\"", manifest.digest))
        .with(header::CONTENT_LENGTH, manifest.bytes.len());
    let body = if head {
        Body::empty()
    } else {
        Body::from(manifest.bytes)
    };
    Ok(headers.respond(StatusCode::OK, body))
}

/// Checks and stores a manifest; answers `201 Created` with its digest, and `OCI-Subject` if it has a subject.
pub async fn put<S: Storage>(
    state: &AppState<S>,
    repo: &RepoName,
    reference: &str,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let reference = Reference::parse(reference)?;
    let limit = state.limits.max_manifest_bytes;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| RegistryError::TooLarge {
            what: "the manifest",
            limit: limit as u64,
        })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let checked = manifest::check(content_type, &bytes)?;
    let digest = match &reference {
        Reference::Digest(expected) => {
            let actual = Digest::compute(expected.algorithm(), &bytes);
            if &actual != expected {
                return Err(RegistryError::DigestInvalid(format!(
                    "the manifest's digest is {actual}, not {expected} as its URL says"
                )));
            }
            actual
        }
        Reference::Tag(_) => Digest::compute(Algorithm::Sha256, &bytes),
    };
    let storage = &*state.storage;
    for blob in &checked.blobs {
        if storage.keep_blob(repo, blob).await?.is_none() {
            return Err(RegistryError::ManifestBlobUnknown {
                digest: blob.to_string(),
            });
        }
    }
    for child in &checked.manifests {
        if !storage.keep_manifest(repo, child).await? {
            return Err(RegistryError::ManifestBlobUnknown {
                digest: child.to_string(),
            });
        }
    }
    let descriptor = checked.descriptor(digest.clone(), bytes.len() as u64);
    let stored = StoredManifest {
        bytes,
        media_type: checked.media_type.clone(),
        digest,
    };
    let tag = match &reference {
        Reference::Tag(tag) => Some(tag),
        Reference::Digest(_) => None,
    };
    let referrer_of = checked
        .subject
        .as_ref()
        .map(|subject| (subject, &descriptor));
    storage
        .put_manifest(repo, &stored, referrer_of, tag)
        .await?;
    let mut response = Headers::default()
        .with(
            header::LOCATION,
            format!("/v2/{repo}/manifests/{}", stored.digest),
        )
        .with(DOCKER_CONTENT_DIGEST, &stored.digest);
    if let Some(subject) = &checked.subject {
        response = response.with(OCI_SUBJECT, subject);
    }
    Ok(response.respond(StatusCode::CREATED, Body::empty()))
}

/// Deletes a tag, or a manifest by digest: `202 Accepted`, or `404` if there was nothing to delete.
pub async fn delete<S: Storage>(storage: &S, repo: &RepoName, reference: &str) -> Result<Response> {
    let reference = Reference::parse(reference)?;
    if storage.delete_manifest(repo, &reference).await? {
        Ok(Headers::default().respond(StatusCode::ACCEPTED, Body::empty()))
    } else {
        Err(RegistryError::ManifestUnknown {
            reference: reference.to_string(),
        })
    }
}
