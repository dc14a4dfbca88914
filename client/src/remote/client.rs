//! The client for any number of registries: where its credentials and transport settings come from,
//! connecting to a registry, and pushing and pulling policies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use oci_client::client::Client;
use oci_client::secrets::RegistryAuth;

use super::credentials::{Credential, DockerConfig};
use super::progress::{Progress, Silent};
use super::session::{Session, not_found_as, oci_reference};
use super::sources::Sources;
use super::transport::{self, Attempt};
use super::upload::Chunking;
use crate::error::{ClientError, Result};
use crate::store::Store;
use artifact::oci::Digest;
use artifact::oci::media_types;
use artifact::oci::policy::{PolicyArtifact, policy_layer};
use artifact::reference::RegistryRef;

/// Where credentials and transport settings come from.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The docker config with the credentials.
    pub docker_config: DockerConfig,
    /// Insecure registries, certificate authorities, proxies.
    pub sources: Sources,
}

/// A client for any number of registries.
#[derive(Clone)]
pub struct Remote {
    options: RemoteOptions,
    progress: Arc<dyn Progress>,
    chunking: Chunking,
    pub(super) store: Option<Store>,
    connections: Connections,
}

/// Per registry, how it was reached and the oci-client that reached it, shared by every clone of a
/// [`Remote`]: the operations after the first reuse its connections, its tokens and the transport found,
/// instead of connecting, probing and authenticating again (a policy server starting 50 policies made
/// about five connections for each).
#[derive(Clone, Default)]
struct Connections(Arc<Mutex<HashMap<String, Connection>>>);

/// How one registry was reached.
#[derive(Clone)]
struct Connection {
    client: Client,
    attempt: Attempt,
    open: bool,
}

impl Connections {
    fn get(&self, registry: &str) -> Option<Connection> {
        let known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(registry).cloned()
    }

    fn keep(&self, registry: &str, connection: Connection) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known.insert(registry.to_string(), connection);
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("options", &self.options)
            .field("chunking", &self.chunking)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// A client with these options, silent, uploading in chunks as [`Chunking::default`] says.
    pub fn new(options: RemoteOptions) -> Remote {
        Remote {
            options,
            progress: Arc::new(Silent),
            chunking: Chunking::default(),
            store: None,
            connections: Connections::default(),
        }
    }

    /// The same client, serving the policies loaded from an archive into `store` (see
    /// [`Store::loaded`]) from there, with what the archive carried, instead of asking their registry.
    pub fn with_store(mut self, store: Store) -> Remote {
        self.store = Some(store);
        self
    }

    /// The policy at `source` from the store, if it was loaded there from an archive.
    pub(super) fn loaded_artifact(&self, source: &RegistryRef) -> Result<Option<PolicyArtifact>> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        store
            .loaded(source)?
            .map(|digest| store.artifact(&digest))
            .transpose()
    }

    /// The same client, reporting blob transfers to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Remote {
        self.progress = progress;
        self
    }

    /// The same client, uploading blobs in chunks as `chunking` says.
    pub fn with_chunking(mut self, chunking: Chunking) -> Remote {
        self.chunking = chunking;
        self
    }

    /// Pushes `artifact` to `target` and returns the manifest digest.
    pub async fn push(&self, artifact: &PolicyArtifact, target: &RegistryRef) -> Result<Digest> {
        let session = self.connect(target).await?;
        let layer = policy_layer(&artifact.manifest)?;
        session
            .push_blob(
                &artifact.manifest.config.digest,
                Bytes::from(artifact.config.clone()),
            )
            .await?;
        session
            .push_blob(&layer.digest, Bytes::from(artifact.module.clone()))
            .await?;
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
        if let Some(artifact) = self.loaded_artifact(source)? {
            return Ok(artifact);
        }
        self.connect(source).await?.pull_policy(source).await
    }

    /// The manifest digest `reference` points to now (a HEAD request, then a GET if the registry does not
    /// send the digest header); for a policy loaded from an archive into the client's store, the digest it
    /// was loaded at, with no request.
    pub async fn manifest_digest(&self, reference: &RegistryRef) -> Result<Digest> {
        if let Some(store) = &self.store
            && let Some(digest) = store.loaded(reference)?
        {
            return Ok(digest);
        }
        let session = self.connect(reference).await?;
        let digest = session
            .call(|client, reference| async move {
                client
                    .fetch_manifest_digest(&reference, &RegistryAuth::Anonymous)
                    .await
            })
            .await
            .map_err(|err| not_found_as(err, reference))?;
        digest.parse().map_err(|_| ClientError::Registry {
            registry: reference.registry.clone(),
            reason: format!("it answered the digest {digest:?}, which is not a valid digest"),
        })
    }

    /// A session on the registry of `target`: through the connection made before, if any, else a transport
    /// found to reach it (see [`transport::attempts`]) and authenticated, kept for the next sessions.
    pub(super) async fn connect(&self, target: &RegistryRef) -> Result<Session> {
        let auth = match self.options.docker_config.credential(&target.registry)? {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => RegistryAuth::Basic(username, password),
            Credential::IdentityToken(token) => RegistryAuth::Bearer(token),
        };
        if let Some(known) = self.connections.get(&target.registry) {
            return Ok(self.session(target, auth, known));
        }
        let reference = oci_reference(target);
        let mut attempts = transport::attempts(&self.options.sources, target);
        let mut open = false;
        if attempts.contains(&Attempt::PlainHttp)
            && let Some(status) = transport::plain_http_status(&target.registry).await
        {
            attempts = vec![Attempt::PlainHttp];
            open = status == 200;
        }
        // A registry open to all needs no credentials, and without any oci-client skips the `/v2/`
        // challenge it otherwise sends before every request.
        let store_auth = !(open && matches!(auth, RegistryAuth::Anonymous));
        let single = attempts.len() == 1;
        let mut last_failure = None;
        for attempt in attempts {
            let config = transport::client_config(
                attempt,
                &self.options.sources,
                &target.registry,
                !store_auth,
            )?;
            let client = Client::new(config);
            if store_auth {
                client
                    .store_auth_if_needed(reference.resolve_registry(), &auth)
                    .await;
            }
            let connection = Connection {
                client,
                attempt,
                open: !store_auth,
            };
            if !single {
                let probe = connection
                    .client
                    .fetch_manifest_digest(&reference, &auth)
                    .await;
                if let Err(err) = probe
                    && transport::is_connection_failure(&err)
                {
                    last_failure = Some(err);
                    continue;
                }
                tracing::debug!(registry = %target.registry, ?attempt, "connected");
            }
            // With a single transport there is nothing to choose between: the first real request reports
            // any failure.
            self.connections.keep(&target.registry, connection.clone());
            return Ok(self.session(target, auth, connection));
        }
        Err(match last_failure {
            Some(err) => transport::explain(&target.registry, &target.to_string(), err),
            None => ClientError::Unreachable {
                registry: target.registry.clone(),
                reason: "no transport to try".into(),
            },
        })
    }

    /// A session on `target` through `connection`, with `auth` for the requests oci-client does not make.
    fn session(&self, target: &RegistryRef, auth: RegistryAuth, connection: Connection) -> Session {
        Session {
            client: connection.client,
            target: target.clone(),
            auth,
            attempt: connection.attempt,
            open: connection.open,
            sources: self.options.sources.clone(),
            progress: self.progress.clone(),
            chunking: self.chunking,
        }
    }
}
