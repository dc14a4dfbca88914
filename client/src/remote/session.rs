//! A connection to one registry that answered: each operation retried on transient failures, every blob
//! checked against its digest as it streams in, uploads whole or in chunks.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use oci_client::RegistryOperation;
use oci_client::client::Client;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;

use super::progress::{self, Progress};
use super::sources::Sources;
use super::transport::{self, Attempt, FIRST_BACKOFF, RETRIES};
use super::upload::{ChunkedUpload, Chunking, Outcome};
use crate::error::{ClientError, Result};
use artifact::ArtifactError;
use artifact::oci::policy::{PolicyArtifact, parse_manifest, policy_layer};
use artifact::oci::{Digest, media_types};
use artifact::reference::RegistryRef;

/// The manifest media types a policy may be stored as.
const ACCEPTED_MANIFESTS: [&str; 2] = [media_types::OCI_MANIFEST, media_types::DOCKER_MANIFEST];
/// Blobs up to this size are uploaded without asking first whether the registry has them: the question
/// costs as much as the upload.
const ASK_BEFORE_UPLOADING: u64 = 64 * 1024;

/// A connection to one registry that answered, and the reference operations apply to by default.
pub(super) struct Session {
    pub(super) client: Client,
    pub(super) target: RegistryRef,
    /// The credentials, for the requests oci-client does not make.
    pub(super) auth: RegistryAuth,
    /// How the registry was reached, for the same.
    pub(super) attempt: Attempt,
    /// Whether the registry is open to all and no credentials were given: no request needs a token.
    pub(super) open: bool,
    pub(super) sources: Sources,
    pub(super) progress: Arc<dyn Progress>,
    pub(super) chunking: Chunking,
}

impl Session {
    /// Pulls the policy at `source`, checking every digest, the media types and the module's magic.
    pub(super) async fn pull_policy(&self, source: &RegistryRef) -> Result<PolicyArtifact> {
        let (manifest_bytes, _) = self
            .call(|client, reference| async move {
                client
                    .pull_manifest_raw(&reference, &RegistryAuth::Anonymous, &ACCEPTED_MANIFESTS)
                    .await
            })
            .await
            .map_err(|err| not_found_as(err, source))?;
        let manifest_bytes = manifest_bytes.to_vec();
        if let Some(expected) = &source.digest
            && !expected.matches(&manifest_bytes)
        {
            return Err(ArtifactError::DigestMismatch {
                what: format!("the manifest of {source}"),
                actual: Digest::compute(expected.algorithm(), &manifest_bytes).to_string(),
            }
            .into());
        }
        let origin = source.to_string();
        let manifest = parse_manifest(&origin, &manifest_bytes)?;
        let layer = policy_layer(&manifest)
            .map_err(|err| ArtifactError::NotAPolicy(format!("{origin}: {}", err.problem())))?;
        let config = self.pull_blob(&manifest.config.digest).await?;
        let module = self.pull_blob(&layer.digest).await?;
        // The blobs were checked against their digests as they streamed in; `from_parts` checks the
        // manifest's shape and the module's magic (and the digests once more: it trusts no caller).
        Ok(PolicyArtifact::from_parts(
            &origin,
            manifest_bytes,
            config,
            module,
        )?)
    }

    /// Runs one registry operation on the session's reference (see [`Session::call_at`]).
    pub(super) async fn call<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        F: Fn(Client, oci_client::Reference) -> Fut,
        Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        self.call_at(&self.target, operation).await
    }

    /// Runs one registry operation on `at` (in the session's registry), retrying transient failures
    /// with exponential backoff.
    pub(super) async fn call_at<T, F, Fut>(&self, at: &RegistryRef, operation: F) -> Result<T>
    where
        F: Fn(Client, oci_client::Reference) -> Fut,
        Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        let reference = oci_reference(at);
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 0;
        loop {
            match operation(self.client.clone(), reference.clone()).await {
                Ok(value) => return Ok(value),
                Err(err) if tries < RETRIES && transport::is_transient(&err) => {
                    tracing::warn!(registry = %at.registry, error = %err, "retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    tries += 1;
                }
                Err(err) => return Err(transport::explain(&at.registry, &at.to_string(), err)),
            }
        }
    }

    /// Downloads a blob of the session's repository, checked against its digest as it streams in.
    pub(super) async fn pull_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.pull_blob_at(&self.target, digest).await
    }

    /// Downloads a blob of `at`'s repository, checked against its digest as it streams in.
    async fn pull_blob_at(&self, at: &RegistryRef, digest: &Digest) -> Result<Vec<u8>> {
        let text = digest.to_string();
        let progress = self.progress.clone();
        self.call_at(at, |client, reference| {
            let (text, progress) = (text.clone(), progress.clone());
            async move {
                let mut stream = client.pull_blob_stream(&reference, text.as_str()).await?;
                let total = stream.content_length.unwrap_or_default();
                let _transfer = progress::Transfer::begin(
                    progress.as_ref(),
                    &format!("pulling {}", short(&text)),
                    total,
                );
                let mut bytes = Vec::with_capacity(usize::try_from(total).unwrap_or_default());
                while let Some(piece) = stream.next().await {
                    bytes.extend_from_slice(&piece.map_err(transport::stream_error)?);
                    progress.at(bytes.len() as u64);
                }
                Ok(bytes)
            }
        })
        .await
    }

    /// Uploads a blob to the session's repository, unless it is large enough to be worth asking first
    /// and the registry has it.
    pub(super) async fn push_blob(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        if bytes.len() as u64 > ASK_BEFORE_UPLOADING && self.has_blob(&self.target, digest).await? {
            return Ok(());
        }
        self.upload_blob(&self.target, digest, bytes).await
    }

    /// Whether the repository of `at` has the blob.
    pub(super) async fn has_blob(&self, at: &RegistryRef, digest: &Digest) -> Result<bool> {
        let text = digest.to_string();
        self.call_at(at, |client, reference| {
            let text = text.clone();
            async move { client.blob_exists(&reference, &text).await }
        })
        .await
    }

    /// Uploads a blob to the repository of `at`: in resumable chunks when it is larger than the chunking
    /// threshold and the registry takes chunks, else in one request.
    pub(super) async fn upload_blob(
        &self,
        at: &RegistryRef,
        digest: &Digest,
        bytes: Bytes,
    ) -> Result<()> {
        let text = digest.to_string();
        let _transfer = progress::Transfer::begin(
            self.progress.as_ref(),
            &format!("pushing {}", short(&text)),
            bytes.len() as u64,
        );
        if bytes.len() as u64 > self.chunking.threshold {
            match self.upload_in_chunks(at, digest, &bytes).await? {
                Outcome::Uploaded => return Ok(()),
                Outcome::Unsupported(reason) => {
                    tracing::info!(registry = %at.registry, %reason, "no chunked uploads; sending the blob whole");
                }
            }
        }
        let progress = self.progress.clone();
        self.call_at(at, |client, reference| {
            let (text, bytes, progress) = (text.clone(), bytes.clone(), progress.clone());
            async move {
                let size = bytes.len() as u64;
                let body = progress::reporting_stream(progress, bytes, 0);
                client
                    .push_blob_stream(&reference, body, &text, Some(size))
                    .await
            }
        })
        .await?;
        Ok(())
    }

    /// A chunked upload (see [`upload`]) on a plain HTTP client set up as the session's.
    async fn upload_in_chunks(
        &self,
        at: &RegistryRef,
        digest: &Digest,
        bytes: &Bytes,
    ) -> Result<Outcome> {
        let config =
            transport::client_config(self.attempt, &self.sources, &at.registry, self.open)?;
        let http = transport::http_client(&config, &at.registry)?;
        let auth = self.auth.clone();
        let token = if self.open {
            None
        } else {
            self.call_at(at, |client, reference| {
                let auth = auth.clone();
                async move {
                    client
                        .auth(&reference, &auth, RegistryOperation::Push)
                        .await
                }
            })
            .await?
        };
        let authorization = match (token, &self.auth) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(username, password)) => {
                use base64::Engine as _;
                let pair = format!("{username}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (None, _) => None,
        };
        let authorization = authorization
            .map(|value| reqwest::header::HeaderValue::from_str(&value))
            .transpose()
            .map_err(|_| {
                ClientError::CredentialsInvalid(format!(
                    "the credentials for {} cannot be sent as a header",
                    at.registry
                ))
            })?;
        let blobs_url = format!(
            "{}://{}/v2/{}/blobs/",
            transport::scheme(self.attempt),
            at.registry,
            at.repository
        );
        let upload = ChunkedUpload {
            http: &http,
            blobs_url: blobs_url.parse().map_err(|err| ClientError::Registry {
                registry: at.registry.clone(),
                reason: format!("bad registry URL {blobs_url}: {err}"),
            })?,
            registry: &at.registry,
            authorization,
            chunk_size: self.chunking.chunk_size.max(1),
            progress: self.progress.clone(),
        };
        upload.run(digest, bytes).await
    }
}

/// The first twelve hex digits of a digest, as progress names a blob.
fn short(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |colon| colon + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

/// A "not found" names the reference the user asked for.
pub(super) fn not_found_as(err: ClientError, reference: &RegistryRef) -> ClientError {
    match err {
        ClientError::NotFound { .. } => ClientError::NotFound {
            what: reference.to_string(),
        },
        other => other,
    }
}

/// The oci-client reference of `reference`, built from its parts: parsing the text again would compile
/// oci-client's reference grammar, a regular expression that costs about 30 ms per process.
pub(super) fn oci_reference(reference: &RegistryRef) -> oci_client::Reference {
    let registry = reference.registry.clone();
    // Docker Hub's official images live under `library/`, as oci-client's parser would have it.
    let repository = if registry == "docker.io" && !reference.repository.contains('/') {
        format!("library/{}", reference.repository)
    } else {
        reference.repository.clone()
    };
    match (&reference.tag, &reference.digest) {
        (_, Some(digest)) => {
            oci_client::Reference::with_digest(registry, repository, digest.to_string())
        }
        (Some(tag), None) => oci_client::Reference::with_tag(registry, repository, tag.clone()),
        (None, None) => oci_client::Reference::with_tag(
            registry,
            repository,
            artifact::reference::DEFAULT_TAG.into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::registry_ref as registry;

    #[test]
    fn references_convert_as_oci_client_would_parse_them() {
        for text in [
            "localhost:5000/policies/p:v1",
            "ghcr.io/kubewarden/policies/pod-privileged:v1.0.0",
            "docker.io/busybox:1",
            "registry.example.com/p@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let parsed: oci_client::Reference = text.parse().unwrap();
            assert_eq!(oci_reference(&registry(text)), parsed, "{text}");
        }
    }

    #[test]
    fn short_digests_keep_twelve_hex_digits() {
        assert_eq!(
            short("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "sha256:0123456789ab"
        );
        assert_eq!(short("odd"), "odd");
    }
}
