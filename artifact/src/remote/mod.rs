//! Pushing and pulling policies to and from OCI registries, on the `oci-client` crate.
//!
//! Nothing of `oci-client` shows outside this module: callers deal in [`RegistryRef`], [`PolicyArtifact`]
//! and [`Digest`]. Every manifest and blob fetched is checked against its digest before it is returned.

mod catalog;
mod copy;
pub mod credentials;
mod repository;
pub mod sources;
mod transport;

use std::future::Future;
use std::time::Duration;

use oci_client::client::Client;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;

use crate::error::{ArtifactError, Result};
use crate::oci::policy::{PolicyArtifact, parse_manifest, policy_layer};
use crate::oci::{Digest, media_types};
use crate::reference::RegistryRef;
pub use copy::Copied;
use credentials::{Credential, DockerConfig};
pub use repository::{FetchedManifest, Repository};
use sources::Sources;
use transport::Attempt;

/// How many times a transient failure (429, 5xx, dropped connection) is tried again.
const RETRIES: u32 = 3;
/// The first pause before a retry; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The manifest media types a policy may be stored as.
const ACCEPTED_MANIFESTS: [&str; 2] = [media_types::OCI_MANIFEST, media_types::DOCKER_MANIFEST];

/// Where credentials and transport settings come from.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The docker config with the credentials.
    pub docker_config: DockerConfig,
    /// Insecure registries, certificate authorities, proxies.
    pub sources: Sources,
}

/// A client for any number of registries.
#[derive(Debug, Clone)]
pub struct Remote {
    options: RemoteOptions,
}

/// A connection to one registry that answered, and the reference operations apply to by default.
struct Session {
    client: Client,
    target: RegistryRef,
}

impl Remote {
    /// A client with these options.
    pub fn new(options: RemoteOptions) -> Remote {
        Remote { options }
    }

    /// Pushes `artifact` to `target` and returns the manifest digest.
    pub async fn push(&self, artifact: &PolicyArtifact, target: &RegistryRef) -> Result<Digest> {
        let session = self.connect(target).await?;
        let layer = policy_layer(&artifact.manifest)?;
        let blobs = [
            (&artifact.manifest.config.digest, artifact.config.clone()),
            (&layer.digest, artifact.module.clone()),
        ];
        for (digest, bytes) in blobs {
            let digest = digest.to_string();
            let exists = session
                .call(|client, reference| {
                    let digest = digest.clone();
                    async move { client.blob_exists(&reference, &digest).await }
                })
                .await?;
            if !exists {
                session
                    .call(|client, reference| {
                        let bytes = bytes.clone();
                        let digest = digest.clone();
                        async move { client.push_blob(&reference, bytes, &digest).await }
                    })
                    .await?;
            }
        }
        session
            .call(|client, reference| {
                let body = artifact.manifest_bytes.clone();
                async move {
                    let content_type =
                        reqwest::header::HeaderValue::from_static(media_types::OCI_MANIFEST);
                    client
                        .push_manifest_raw(&reference, body, content_type)
                        .await
                }
            })
            .await?;
        Ok(artifact.digest())
    }

    /// Pulls the policy at `source`, checking every digest, the media types and the module's magic.
    pub async fn pull(&self, source: &RegistryRef) -> Result<PolicyArtifact> {
        let session = self.connect(source).await?;
        let (manifest_bytes, _) = session
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
                actual: Digest::compute(expected.algorithm(), &manifest_bytes),
            });
        }
        let origin = source.to_string();
        let manifest = parse_manifest(&origin, &manifest_bytes)?;
        let layer = policy_layer(&manifest)
            .map_err(|err| ArtifactError::NotAPolicy(format!("{origin}: {}", err.problem())))?;
        let config = session.pull_blob(&manifest.config.digest).await?;
        let module = session.pull_blob(&layer.digest).await?;
        PolicyArtifact::from_parts(&origin, manifest_bytes, config, module)
    }

    /// The manifest digest `reference` points to now (a HEAD request, then a GET if the registry does not
    /// send the digest header).
    pub async fn manifest_digest(&self, reference: &RegistryRef) -> Result<Digest> {
        let session = self.connect(reference).await?;
        let digest = session
            .call(|client, reference| async move {
                client
                    .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
                    .await
            })
            .await
            .map_err(|err| not_found_as(err, reference))?;
        digest.parse().map_err(|_| ArtifactError::Registry {
            registry: reference.registry.clone(),
            reason: format!("it answered the digest {digest:?}, which is not a valid digest"),
        })
    }

    /// Finds a transport that reaches the registry (see [`transport::attempts`]) and authenticates.
    async fn connect(&self, target: &RegistryRef) -> Result<Session> {
        let auth = match self.options.docker_config.credential(&target.registry)? {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => RegistryAuth::Basic(username, password),
            Credential::IdentityToken(token) => RegistryAuth::Bearer(token),
        };
        let reference = oci_reference(target)?;
        let mut attempts = transport::attempts(&self.options.sources, target);
        if attempts.contains(&Attempt::PlainHttp)
            && transport::speaks_plain_http(&target.registry).await
        {
            attempts = vec![Attempt::PlainHttp];
        }
        let single = attempts.len() == 1;
        let mut last_failure = None;
        for attempt in attempts {
            let config =
                transport::client_config(attempt, &self.options.sources, &target.registry)?;
            let client = Client::new(config);
            client
                .store_auth_if_needed(reference.resolve_registry(), &auth)
                .await;
            if single {
                // Nothing to choose between: the first real request reports any failure.
                return Ok(Session {
                    client,
                    target: target.clone(),
                });
            }
            let probe = client.fetch_manifest_digest(&reference, &auth).await;
            match probe {
                Err(err) if transport::is_connection_failure(&err) => last_failure = Some(err),
                _ => {
                    tracing::debug!(registry = %target.registry, ?attempt, "connected");
                    return Ok(Session {
                        client,
                        target: target.clone(),
                    });
                }
            }
        }
        Err(match last_failure {
            Some(err) => transport::explain(&target.registry, &target.to_string(), err),
            None => ArtifactError::Unreachable {
                registry: target.registry.clone(),
                reason: "no transport to try".into(),
            },
        })
    }
}

impl Session {
    /// Runs one registry operation on the session's reference (see [`Session::call_at`]).
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        F: Fn(Client, oci_client::Reference) -> Fut,
        Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        self.call_at(&self.target, operation).await
    }

    /// Runs one registry operation on `at` (in the session's registry), retrying transient failures
    /// with exponential backoff.
    async fn call_at<T, F, Fut>(&self, at: &RegistryRef, operation: F) -> Result<T>
    where
        F: Fn(Client, oci_client::Reference) -> Fut,
        Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        let reference = oci_reference(at)?;
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

    /// Downloads a blob of the session's repository (callers check it against its digest).
    async fn pull_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.pull_blob_at(&self.target, digest).await
    }

    /// Downloads a blob of `at`'s repository (callers check it against its digest).
    async fn pull_blob_at(&self, at: &RegistryRef, digest: &Digest) -> Result<Vec<u8>> {
        let text = digest.to_string();
        self.call_at(at, |client, reference| {
            let text = text.clone();
            async move {
                let mut bytes = Vec::new();
                client
                    .pull_blob(&reference, text.as_str(), &mut bytes)
                    .await?;
                Ok(bytes)
            }
        })
        .await
    }
}

/// A "not found" names the reference the user asked for.
fn not_found_as(err: ArtifactError, reference: &RegistryRef) -> ArtifactError {
    match err {
        ArtifactError::NotFound { .. } => ArtifactError::NotFound {
            what: reference.to_string(),
        },
        other => other,
    }
}

fn oci_reference(reference: &RegistryRef) -> Result<oci_client::Reference> {
    let repository = format!("{}/{}", reference.registry, reference.repository);
    let text = match (&reference.tag, &reference.digest) {
        (_, Some(digest)) => format!("{repository}@{digest}"),
        (Some(tag), None) => format!("{repository}:{tag}"),
        (None, None) => repository,
    };
    text.parse().map_err(|err| ArtifactError::InvalidReference {
        reference: reference.to_string(),
        reason: format!("{err}"),
    })
}
