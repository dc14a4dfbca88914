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
use crate::trust::{self, TrustMode, TrustRule};

/// Sends a manifest with its stored media type; `head` sends the headers only. In an `enforce` prefix, a tag that
/// waits for a signature is `404` saying so, and a manifest that waits is shown by digest only to clients that may
/// push (to sign it).
pub async fn get<S: Storage>(
    state: &AppState<S>,
    repo: &RepoName,
    reference: &str,
    head: bool,
    may_push: bool,
) -> Result<Response> {
    let storage = &*state.storage;
    let reference = Reference::parse(reference)?;
    let found = storage.get_manifest(repo, &reference).await?;
    // A tag that waits is absent: say why. A manifest that waits is shown by digest only to those who may sign it.
    if let Some(rule) = enforced(state, repo)
        && matches!(
            (&reference, &found),
            (Reference::Tag(_), None) | (Reference::Digest(_), Some(_))
        )
    {
        let waiting = storage.pending_tags(repo).await?;
        match &reference {
            Reference::Tag(tag) => {
                if let Some((_, digest)) = waiting.iter().find(|(name, _)| name == tag.as_str()) {
                    return Err(RegistryError::TagPending {
                        tag: tag.to_string(),
                        prefix: rule.prefix.clone(),
                        waits_for: may_push.then(|| format!("{repo}@{digest}")),
                    });
                }
            }
            Reference::Digest(digest) => {
                if !may_push && waiting.iter().any(|(_, waits_for)| waits_for == digest) {
                    return Err(RegistryError::ManifestUnknown {
                        reference: reference.to_string(),
                    });
                }
            }
        }
    }
    let manifest = found.ok_or_else(|| RegistryError::ManifestUnknown {
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
    let rule = enforced(state, repo);
    // In an `enforce` prefix a tag waits for a signature; cosign's attachment tags (signatures among them) do not.
    let waiting_tag = tag.filter(|tag| rule.is_some() && !trust::is_attachment_tag(tag.as_str()));
    let published_tag = if waiting_tag.is_some() { None } else { tag };
    storage
        .put_manifest(repo, &stored, referrer_of, published_tag)
        .await?;
    let mut waits = None;
    if let Some(rule) = rule {
        if let Some(tag) = waiting_tag {
            let report = trust::push_tag(storage, rule, repo, tag, &stored.digest).await?;
            waits = report.failure;
        }
        if let Some(subject) = trust::vouched_for(tag, checked.subject.as_ref()) {
            trust::signature_arrived(storage, rule, repo, &subject).await?;
        }
    }
    let mut response = Headers::default()
        .with(
            header::LOCATION,
            format!("/v2/{repo}/manifests/{}", stored.digest),
        )
        .with(DOCKER_CONTENT_DIGEST, &stored.digest);
    if let Some(subject) = &checked.subject {
        response = response.with(OCI_SUBJECT, subject);
    }
    if let (Some(reason), Some(tag)) = (waits, waiting_tag) {
        response = response.with(header::WARNING, pending_warning(tag.as_str(), &reason));
    }
    Ok(response.respond(StatusCode::CREATED, Body::empty()))
}

/// The rule of `repo` if its prefix is in `enforce` mode.
fn enforced<'a, S>(state: &'a AppState<S>, repo: &RepoName) -> Option<&'a TrustRule> {
    state
        .trust
        .rule_for(repo.as_str())
        .filter(|rule| rule.mode == TrustMode::Enforce)
}

/// The `Warning` header (RFC 9111 code 299, which the distribution spec lets registries send) of a stored tag that
/// waits: printable ASCII, as header values must be.
fn pending_warning(tag: &str, reason: &str) -> String {
    let text: String = format!(
        "tag {tag} is stored but not published until a trusted signature arrives: {reason}"
    )
    .chars()
    .map(|c| {
        if c.is_ascii_graphic() || c == ' ' {
            c
        } else {
            '?'
        }
    })
    .filter(|c| *c != '"' && *c != '\\')
    .take(500)
    .collect();
    format!("299 - \"{text}\"")
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
