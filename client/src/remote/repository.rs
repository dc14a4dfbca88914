//! One repository of a registry, reached and authenticated: the primitives that copying, signing and
//! SBOM attachment are made of. Everything fetched is checked against its digest. A repository of a policy
//! loaded from an archive is served from the local store instead, read-only.

use super::client::Remote;
use super::session::Session;
use crate::error::{ClientError, Result};
use crate::store::StoredRepository;
use artifact::ArtifactError;
use artifact::oci::manifest::{Descriptor, ManifestLinks};
use artifact::oci::{Digest, media_types};
use artifact::reference::RegistryRef;

/// Every manifest media type fetched.
const MANIFEST_TYPES: [&str; 4] = [
    media_types::OCI_MANIFEST,
    media_types::OCI_INDEX,
    media_types::DOCKER_MANIFEST,
    media_types::DOCKER_MANIFEST_LIST,
];

/// A manifest as fetched: its bytes (as served, so that its digest holds) and media type.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The media type, from the document (OCI image manifest when it does not say).
    pub media_type: String,
}

impl FetchedManifest {
    /// The manifest's digest.
    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.bytes)
    }

    /// A manifest of these bytes, its media type read from the document (OCI image manifest when it does
    /// not say).
    pub fn from_bytes(bytes: Vec<u8>) -> FetchedManifest {
        let media_type = serde_json::from_slice::<ManifestLinks>(&bytes)
            .ok()
            .and_then(|m| m.media_type)
            .unwrap_or_else(|| media_types::OCI_MANIFEST.to_string());
        FetchedManifest { bytes, media_type }
    }

    /// A descriptor of this manifest, for subjects and indexes.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::of(&self.media_type, &self.bytes)
    }
}

/// A repository (`registry/repository`) with a live connection, or as the store holds it.
pub struct Repository {
    backend: Backend,
}

enum Backend {
    Registry(Box<Session>),
    Store(StoredRepository),
}

impl Remote {
    /// Connects to the repository of `reference` (its tag or digest is the default for [`Repository::resolve`]);
    /// for a policy loaded from an archive into the client's store, opens it there instead.
    pub async fn repository(&self, reference: &RegistryRef) -> Result<Repository> {
        if let Some(store) = &self.store
            && let Some(stored) = store.loaded_repository(reference)?
        {
            return Ok(Repository {
                backend: Backend::Store(stored),
            });
        }
        Ok(Repository {
            backend: Backend::Registry(Box::new(self.connect(reference).await?)),
        })
    }
}

impl Repository {
    /// The reference the repository was opened with.
    pub fn reference(&self) -> &RegistryRef {
        match &self.backend {
            Backend::Registry(session) => &session.target,
            Backend::Store(stored) => stored.reference(),
        }
    }

    /// The live connection; an error for a repository served from the store, which cannot be written.
    pub(super) fn session(&self) -> Result<&Session> {
        match &self.backend {
            Backend::Registry(session) => Ok(session),
            Backend::Store(stored) => Err(ClientError::Registry {
                registry: stored.reference().registry.clone(),
                reason: format!(
                    "{} was loaded from an archive and is served from the store in {}, read-only: remove it from the store (`palisade rm`) to work with the registry",
                    stored.reference(),
                    stored.store().root().display()
                ),
            }),
        }
    }

    /// The same repository at a tag or a digest.
    pub fn at(&self, tag_or_digest: &str) -> RegistryRef {
        self.reference().at(tag_or_digest)
    }

    /// The manifest the opening reference points to; an error if there is none.
    pub async fn resolve(&self) -> Result<FetchedManifest> {
        let target = self.reference().clone();
        self.fetch(&target).await?.ok_or(ClientError::NotFound {
            what: target.to_string(),
        })
    }

    /// The manifest at a tag or digest of this repository; `None` when there is none.
    pub async fn manifest(&self, tag_or_digest: &str) -> Result<Option<FetchedManifest>> {
        self.fetch(&self.at(tag_or_digest)).await
    }

    async fn fetch(&self, at: &RegistryRef) -> Result<Option<FetchedManifest>> {
        let session = match &self.backend {
            Backend::Registry(session) => session,
            Backend::Store(stored) => {
                let name = at.digest.as_ref().map(ToString::to_string);
                let name = name.or_else(|| at.tag.clone()).unwrap_or_default();
                return Ok(stored.manifest(&name)?.map(FetchedManifest::from_bytes));
            }
        };
        let fetched = session
            .call_at(at, |client, reference| async move {
                client
                    .pull_manifest_raw(
                        &reference,
                        &oci_client::secrets::RegistryAuth::Anonymous,
                        &MANIFEST_TYPES,
                    )
                    .await
            })
            .await;
        let bytes = match fetched {
            Ok((bytes, _)) => bytes.to_vec(),
            Err(ClientError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        if let Some(expected) = &at.digest
            && !expected.matches(&bytes)
        {
            return Err(ArtifactError::DigestMismatch {
                what: format!("the manifest of {at}"),
                actual: Digest::compute(expected.algorithm(), &bytes).to_string(),
            }
            .into());
        }
        Ok(Some(FetchedManifest::from_bytes(bytes)))
    }

    /// A blob of this repository, checked against its digest.
    pub async fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        match &self.backend {
            Backend::Registry(session) => session.pull_blob(digest).await,
            Backend::Store(stored) => stored.store().blob(digest),
        }
    }

    /// Whether the repository has the blob.
    pub async fn has_blob(&self, digest: &Digest) -> Result<bool> {
        match &self.backend {
            Backend::Registry(session) => session.has_blob(&session.target, digest).await,
            Backend::Store(stored) => Ok(stored.store().has_blob(digest)),
        }
    }

    /// Uploads a blob unless the repository has it already.
    pub async fn push_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        if self.has_blob(digest).await? {
            return Ok(());
        }
        self.upload_blob(digest, bytes.to_vec()).await
    }

    /// Uploads a blob without asking whether the repository has it (the caller knows it does not).
    pub(super) async fn upload_blob(&self, digest: &Digest, bytes: Vec<u8>) -> Result<()> {
        let session = self.session()?;
        session
            .upload_blob(&session.target, digest, bytes.into())
            .await
    }

    /// Puts a manifest at a tag, or at its digest (pass the digest); returns its digest.
    pub async fn push_manifest(
        &self,
        tag_or_digest: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest> {
        let at = self.at(tag_or_digest);
        let content_type = reqwest::header::HeaderValue::from_str(media_type).map_err(|_| {
            ClientError::Registry {
                registry: at.registry.clone(),
                reason: format!("media type {media_type:?} cannot be sent as a header"),
            }
        })?;
        self.session()?
            .call_at(&at, |client, reference| {
                let (bytes, content_type) = (bytes.to_vec(), content_type.clone());
                async move {
                    client
                        .push_manifest_raw(&reference, bytes, content_type)
                        .await
                }
            })
            .await?;
        Ok(Digest::sha256_of(bytes))
    }

    /// The manifests that name `subject` as theirs (OCI 1.1 referrers, or the `sha256-<hex>` tag index
    /// on registries without the API), optionally of one artifact type.
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let session = match &self.backend {
            Backend::Registry(session) => session,
            Backend::Store(stored) => return stored.referrers(subject, artifact_type),
        };
        let at = self.at(&subject.to_string());
        let listed = session
            .call_at(&at, |client, reference| async move {
                client.pull_referrers(&reference, artifact_type).await
            })
            .await;
        let index = match listed {
            Ok(index) => index,
            Err(ClientError::NotFound { .. }) => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        index
            .manifests
            .into_iter()
            .map(|entry| {
                Ok(Descriptor {
                    media_type: entry.media_type,
                    digest: entry.digest.parse()?,
                    size: entry.size.try_into().unwrap_or_default(),
                    artifact_type: entry.artifact_type,
                    annotations: entry.annotations.map(|a| a.into_iter().collect()),
                    urls: None,
                })
            })
            .collect()
    }
}
