//! Policies loaded from an archive, served from the store with what the archive carried attached to them
//! (cosign's `.sig`, `.att` and `.sbom` images, Sigstore bundle and SBOM referrers), so that verifying and
//! running them needs no registry on the far side of an air gap.

use std::collections::BTreeMap;

use super::folder::Store;
use super::index::{Index, repository_of};
use crate::error::Result;
use artifact::cosign::{SIGSTORE_BUNDLE_V03, signature_digests, signature_tag};
use artifact::oci::Digest;
use artifact::oci::manifest::{Descriptor, ManifestLinks};
use artifact::oci::media_types;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;

/// What an archive brings into the store, checked before it is imported.
#[derive(Debug, Clone, Default)]
pub struct ArchiveImport {
    /// The policies, each under its reference (`registry://…`, or kwctl's `https://…` URL).
    pub policies: Vec<(String, PolicyArtifact)>,
    /// The attached manifests: repository (`host/repository`), tag or digest there, manifest digest.
    pub attachments: Vec<(String, String, Digest)>,
    /// Every blob of the attached manifests, the manifests themselves included, by digest.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
    /// Whether the archive carries what is attached to its policies (palisade's does, kwctl's does not:
    /// whether its policies were signed is then unknown).
    pub carries_attachments: bool,
}

/// One repository as the store holds it for a policy loaded from an archive: the read half of a registry.
#[derive(Debug, Clone)]
pub struct StoredRepository {
    store: Store,
    reference: RegistryRef,
}

impl Store {
    /// The manifest digest of `reference` if it was loaded from an archive (and not pulled since): such a
    /// policy is served from the store. A reference with a digest matches any loaded tag of its repository
    /// with that digest.
    pub fn loaded(&self, reference: &RegistryRef) -> Result<Option<Digest>> {
        let index = Index::load(&self.index_path())?;
        let key = reference.to_string();
        if index.loaded.contains(&key) {
            return Ok(index.policies.get(&key).cloned());
        }
        let Some(wanted) = &reference.digest else {
            return Ok(None);
        };
        let repository = format!("{}/{}", reference.registry, reference.repository);
        Ok(index
            .loaded
            .iter()
            .filter(|loaded| repository_of(loaded) == Some(repository.as_str()))
            .filter_map(|loaded| index.policies.get(loaded))
            .find(|digest| *digest == wanted)
            .cloned())
    }

    /// The repository of `reference` as the store holds it, if `reference` was loaded from an archive.
    pub fn loaded_repository(&self, reference: &RegistryRef) -> Result<Option<StoredRepository>> {
        Ok(self.loaded(reference)?.map(|_| StoredRepository {
            store: self.clone(),
            reference: reference.clone(),
        }))
    }

    /// Imports what an archive carried, as one step: the policies (marked as loaded, with the signatures
    /// found among their attachments) and their attachments. On any error the store is unchanged.
    pub fn import_archive(&self, import: &ArchiveImport) -> Result<()> {
        let mut blobs: Vec<(&Digest, &[u8])> = Vec::new();
        let digests: Vec<Digest> = import.policies.iter().map(|(_, a)| a.digest()).collect();
        for ((_, artifact), digest) in import.policies.iter().zip(&digests) {
            blobs.push((digest, &artifact.manifest_bytes));
            blobs.push((&artifact.manifest.config.digest, &artifact.config));
            blobs.push((&artifact.module_digest, &artifact.module));
        }
        blobs.extend(import.blobs.iter().map(|(d, b)| (d, b.as_slice())));
        let mut failure = None;
        self.update(&blobs, |index| {
            for (repository, name, digest) in &import.attachments {
                index
                    .attached
                    .entry(repository.clone())
                    .or_default()
                    .insert(name.clone(), digest.clone());
            }
            for ((reference, _), digest) in import.policies.iter().zip(&digests) {
                index.policies.insert(reference.clone(), digest.clone());
                index.loaded.insert(reference.clone());
                let signatures = repository_of(reference)
                    .filter(|_| import.carries_attachments)
                    .map(|repository| self.signatures_in(index, repository, digest))
                    .transpose();
                match signatures {
                    Ok(Some(found)) => {
                        index.signatures.insert(reference.clone(), found);
                    }
                    Ok(None) => {
                        index.signatures.remove(reference);
                    }
                    Err(err) => failure = Some(err),
                }
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// The signatures attached to `subject` in `repository`, as recorded in `index`.
    fn signatures_in(
        &self,
        index: &Index,
        repository: &str,
        subject: &Digest,
    ) -> Result<Vec<Digest>> {
        let image = index
            .attached
            .get(repository)
            .and_then(|attached| attached.get(&signature_tag(subject)))
            .cloned();
        let referrers = self.referrers_in(index, repository, subject, Some(SIGSTORE_BUNDLE_V03))?;
        Ok(signature_digests(image, referrers))
    }

    /// The manifest at `tag_or_digest` of `repository`: a policy or an attached manifest.
    fn manifest_in(
        &self,
        index: &Index,
        repository: &str,
        tag_or_digest: &str,
    ) -> Result<Option<Vec<u8>>> {
        let attached = index.attached.get(repository);
        let digest = match tag_or_digest.parse::<Digest>() {
            Ok(digest) => {
                let known = attached.is_some_and(|a| a.values().any(|d| *d == digest))
                    || index.policies.iter().any(|(reference, d)| {
                        *d == digest && repository_of(reference) == Some(repository)
                    });
                known.then_some(digest)
            }
            Err(_) => attached
                .and_then(|a| a.get(tag_or_digest))
                .or_else(|| {
                    index
                        .policies
                        .get(&format!("registry://{repository}:{tag_or_digest}"))
                })
                .cloned(),
        };
        digest.map(|digest| self.blob(&digest)).transpose()
    }

    /// The attached manifests of `repository` whose subject is `subject`, described as the OCI referrers
    /// API describes them, optionally of one artifact type.
    fn referrers_in(
        &self,
        index: &Index,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let mut found: Vec<Descriptor> = Vec::new();
        for digest in index
            .attached
            .get(repository)
            .into_iter()
            .flat_map(BTreeMap::values)
        {
            let links: ManifestLinks = self.links(digest)?;
            if links.subject.as_ref().map(|s| &s.digest) != Some(subject)
                || found.iter().any(|d| d.digest == *digest)
            {
                continue;
            }
            let kind = links
                .artifact_type
                .clone()
                .or_else(|| links.config.as_ref().map(|c| c.media_type.clone()));
            if artifact_type.is_some_and(|wanted| kind.as_deref() != Some(wanted)) {
                continue;
            }
            let bytes = self.blob(digest)?;
            let mut descriptor = Descriptor::of(
                links
                    .media_type
                    .as_deref()
                    .unwrap_or(media_types::OCI_MANIFEST),
                &bytes,
            );
            descriptor.artifact_type = kind;
            descriptor.annotations = links.annotations;
            found.push(descriptor);
        }
        Ok(found)
    }
}

impl StoredRepository {
    /// The reference the repository was opened with.
    pub fn reference(&self) -> &RegistryRef {
        &self.reference
    }

    /// The store it is served from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn repository(&self) -> String {
        format!("{}/{}", self.reference.registry, self.reference.repository)
    }

    /// The manifest at a tag or digest of this repository; `None` when the store has none there.
    pub fn manifest(&self, tag_or_digest: &str) -> Result<Option<Vec<u8>>> {
        let index = Index::load(&self.store.index_path())?;
        self.store
            .manifest_in(&index, &self.repository(), tag_or_digest)
    }

    /// The attached manifests that name `subject` as theirs, optionally of one artifact type.
    pub fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let index = Index::load(&self.store.index_path())?;
        self.store
            .referrers_in(&index, &self.repository(), subject, artifact_type)
    }
}
