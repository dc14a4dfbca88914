//! The store folder: its blobs and index, imports that land whole or not at all, and removal with garbage
//! collection.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::index::Index;
use crate::blobs::BlobDir;
use crate::error::{ClientError, Result};
use artifact::ArtifactError;
use artifact::files;
use artifact::oci::Digest;
use artifact::oci::manifest::{ImageManifest, ManifestLinks};
use artifact::oci::policy::{PolicyArtifact, parse_manifest, policy_layer};

/// One stored policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreEntry {
    /// The reference it was pulled as (canonical form).
    pub reference: String,
    /// Its manifest digest.
    pub digest: Digest,
}

/// A store folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    blobs: BlobDir,
}

/// The exclusive lock on the index, held while writing.
struct Locked {
    _file: File,
}

impl Store {
    /// Opens (creating it if needed) the store in `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let root = root.into();
        let blobs = BlobDir::new(root.join("blobs"));
        files::create_dir_all(blobs.root())?;
        Ok(Store { root, blobs })
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn lock(&self) -> Result<Locked> {
        let path = self.root.join("index.lock");
        let io = |cause| ArtifactError::Io {
            action: "locking",
            path: path.clone(),
            cause,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(Locked { _file: file })
    }

    /// Whether the store holds the blob.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blobs.contains(digest)
    }

    /// A blob's content, checked against its digest (a corrupt blob is an error, never returned).
    pub fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.blobs.read(digest)
    }

    /// A stored manifest, parsed.
    pub fn manifest(&self, digest: &Digest) -> Result<ImageManifest> {
        let bytes = self.blob(digest)?;
        serde_json::from_slice(&bytes).map_err(|err| ClientError::StoreCorrupt {
            path: self.blobs.path(digest),
            reason: format!("not a manifest: {err}"),
        })
    }

    /// What a stored manifest or index links to.
    pub(super) fn links(&self, digest: &Digest) -> Result<ManifestLinks> {
        let bytes = self.blob(digest)?;
        serde_json::from_slice(&bytes).map_err(|err| ClientError::StoreCorrupt {
            path: self.blobs.path(digest),
            reason: format!("not a manifest: {err}"),
        })
    }

    /// The whole policy stored under manifest `digest`, every piece checked.
    pub fn artifact(&self, digest: &Digest) -> Result<PolicyArtifact> {
        let manifest_bytes = self.blob(digest)?;
        let manifest = parse_manifest(&digest.to_string(), &manifest_bytes)?;
        let layer = policy_layer(&manifest)?;
        let config = self.blob(&manifest.config.digest)?;
        let module = self.blob(&layer.digest)?;
        Ok(PolicyArtifact::from_parts(
            &digest.to_string(),
            manifest_bytes,
            config,
            module,
        )?)
    }

    /// The manifest digest stored for `reference`.
    pub fn resolve(&self, reference: &str) -> Result<Option<Digest>> {
        Ok(Index::load(&self.index_path())?
            .policies
            .get(reference)
            .cloned())
    }

    /// Every stored policy, sorted by reference.
    pub fn list(&self) -> Result<Vec<StoreEntry>> {
        let index = Index::load(&self.index_path())?;
        Ok(index
            .policies
            .into_iter()
            .map(|(reference, digest)| StoreEntry { reference, digest })
            .collect())
    }

    /// Stores a whole policy under `reference` and records the signature manifests its registry held for it
    /// (`None`: unknown, which forgets what an earlier import recorded), as one step: on any error, the
    /// blobs this call added are removed again and the index is unchanged. The blobs are not hashed again:
    /// a [`PolicyArtifact`] is checked when it is built.
    pub fn import_artifact(
        &self,
        reference: &str,
        artifact: &PolicyArtifact,
        signatures: Option<&[Digest]>,
    ) -> Result<()> {
        let digest = artifact.digest();
        let blobs = [
            (&digest, artifact.manifest_bytes.as_slice()),
            (&artifact.manifest.config.digest, artifact.config.as_slice()),
            (&artifact.module_digest, artifact.module.as_slice()),
        ];
        self.commit(reference, &digest, &blobs, signatures)
    }

    /// Writes the blobs, then the index entry (and the signatures, if given), under the lock; on error,
    /// removes the blobs it added. A reference imported this way is no longer one loaded from an archive.
    fn commit(
        &self,
        reference: &str,
        manifest: &Digest,
        blobs: &[(&Digest, &[u8])],
        signatures: Option<&[Digest]>,
    ) -> Result<()> {
        if !blobs.iter().any(|(digest, _)| *digest == manifest) && !self.has_blob(manifest) {
            return Err(ClientError::StoreCorrupt {
                path: self.root.clone(),
                reason: format!("import of {reference} lacks its manifest {manifest}"),
            });
        }
        self.update(blobs, |index| {
            index
                .policies
                .insert(reference.to_string(), manifest.clone());
            match signatures {
                Some(signatures) => index
                    .signatures
                    .insert(reference.to_string(), signatures.to_vec()),
                None => index.signatures.remove(reference),
            };
            index.loaded.remove(reference);
        })
    }

    /// Writes the blobs, then applies `change` to the index, under the lock; on error, removes the blobs it
    /// added and leaves the index as it was.
    pub(super) fn update(
        &self,
        blobs: &[(&Digest, &[u8])],
        change: impl FnOnce(&mut Index),
    ) -> Result<()> {
        let _lock = self.lock()?;
        let mut added = Vec::new();
        let result = self.write_blobs(blobs, &mut added).and_then(|()| {
            let mut index = Index::load(&self.index_path())?;
            let before = index.clone();
            change(&mut index);
            // A refresh that finds what the store has writes nothing (and syncs nothing).
            if index == before {
                return Ok(());
            }
            index.save(&self.index_path())
        });
        if result.is_err() {
            for path in added {
                let _ = fs::remove_file(path);
            }
        }
        result
    }

    fn write_blobs(&self, blobs: &[(&Digest, &[u8])], added: &mut Vec<PathBuf>) -> Result<()> {
        for (digest, bytes) in blobs {
            added.extend(self.blobs.write(digest, bytes)?);
        }
        Ok(())
    }

    /// The signature manifests the registry held for `reference` when it was last imported; `None` if
    /// nobody asked.
    pub fn signatures(&self, reference: &str) -> Result<Option<Vec<Digest>>> {
        Ok(Index::load(&self.index_path())?
            .signatures
            .get(reference)
            .cloned())
    }

    /// Removes the entries whose reference is `selector`, or whose digest starts with it (with or without
    /// the `sha256:` prefix), then every blob no remaining entry reaches. Returns the removed entries.
    pub fn remove(&self, selector: &str) -> Result<Vec<StoreEntry>> {
        let _lock = self.lock()?;
        let mut index = Index::load(&self.index_path())?;
        let matches = |reference: &str, digest: &Digest| {
            reference == selector
                || (selector.len() >= 4
                    && (digest.to_string().starts_with(selector)
                        || digest.hex().starts_with(selector)))
        };
        let removed: Vec<StoreEntry> = index
            .policies
            .iter()
            .filter(|(reference, digest)| matches(reference, digest))
            .map(|(reference, digest)| StoreEntry {
                reference: reference.clone(),
                digest: digest.clone(),
            })
            .collect();
        if removed.is_empty() {
            return Ok(removed);
        }
        index
            .policies
            .retain(|reference, digest| !matches(reference, digest));
        index.forget_unreferenced();
        index.save(&self.index_path())?;
        self.collect_garbage(&index)?;
        Ok(removed)
    }

    /// Deletes every blob that no indexed manifest (policy or attachment) reaches. Runs under the index lock.
    fn collect_garbage(&self, index: &Index) -> Result<()> {
        let mut reachable = Vec::new();
        let manifests = index
            .policies
            .values()
            .chain(index.attached.values().flat_map(BTreeMap::values));
        for digest in manifests {
            reachable.push(self.blobs.path(digest));
            if let Ok(links) = self.links(digest) {
                reachable.extend(links.blobs().map(|blob| self.blobs.path(&blob.digest)));
            }
        }
        for algorithm in fs::read_dir(self.blobs.root())
            .into_iter()
            .flatten()
            .flatten()
        {
            for blob in fs::read_dir(algorithm.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = blob.path();
                if !reachable.contains(&path) {
                    fs::remove_file(&path).map_err(|cause| ArtifactError::Io {
                        action: "removing",
                        path,
                        cause,
                    })?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Imports loose blobs, as `import_artifact` does a policy's.
    fn import(
        store: &Store,
        reference: &str,
        manifest: &Digest,
        blobs: &[(Digest, Vec<u8>)],
    ) -> Result<()> {
        let blobs: Vec<(&Digest, &[u8])> = blobs.iter().map(|(d, b)| (d, b.as_slice())).collect();
        store.commit(reference, manifest, &blobs, None)
    }

    fn blob(content: &[u8]) -> (Digest, Vec<u8>) {
        (Digest::sha256_of(content), content.to_vec())
    }

    fn manifest_of(layer: &(Digest, Vec<u8>)) -> (Digest, Vec<u8>) {
        let manifest = ImageManifest::new(
            artifact::oci::manifest::Descriptor::of("config", b"{}"),
            vec![artifact::oci::manifest::Descriptor::of("layer", &layer.1)],
        );
        blob(&serde_json::to_vec(&manifest).unwrap())
    }

    #[test]
    fn imports_resolves_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (layer, config) = (blob(b"module"), blob(b"{}"));
        let manifest = manifest_of(&layer);
        import(
            &store,
            "registry://h/p:v1",
            &manifest.0,
            &[layer.clone(), config, manifest.clone()],
        )
        .unwrap();
        assert_eq!(
            store.resolve("registry://h/p:v1").unwrap(),
            Some(manifest.0.clone())
        );
        assert_eq!(store.blob(&layer.0).unwrap(), b"module");
        assert_eq!(
            store.manifest(&manifest.0).unwrap().layers[0].digest,
            layer.0
        );
        assert_eq!(store.list().unwrap().len(), 1);
    }

    #[test]
    fn a_corrupt_blob_is_never_returned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let layer = blob(b"module");
        import(
            &store,
            "registry://h/p:v1",
            &layer.0,
            std::slice::from_ref(&layer),
        )
        .unwrap();
        fs::write(store.blobs.path(&layer.0), b"rot").unwrap();
        assert!(matches!(
            store.blob(&layer.0),
            Err(ClientError::Artifact(ArtifactError::DigestMismatch { .. }))
        ));
    }

    #[test]
    fn remove_by_reference_or_digest_prefix_collects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (one, two, config) = (blob(b"one"), blob(b"two"), blob(b"{}"));
        let (m1, m2) = (manifest_of(&one), manifest_of(&two));
        import(
            &store,
            "registry://h/one:v1",
            &m1.0,
            &[one.clone(), config.clone(), m1.clone()],
        )
        .unwrap();
        import(
            &store,
            "registry://h/two:v1",
            &m2.0,
            &[two.clone(), config.clone(), m2.clone()],
        )
        .unwrap();

        let removed = store.remove("registry://h/one:v1").unwrap();
        assert_eq!(removed.len(), 1);
        assert!(!store.has_blob(&one.0) && !store.has_blob(&m1.0));
        assert!(
            store.has_blob(&two.0) && store.has_blob(&config.0),
            "shared and other blobs stay"
        );

        let prefix = &m2.0.hex()[..8];
        assert_eq!(
            store.remove(prefix).unwrap()[0].reference,
            "registry://h/two:v1"
        );
        assert!(store.list().unwrap().is_empty() && !store.has_blob(&config.0));
        assert!(store.remove("registry://h/none:v1").unwrap().is_empty());
    }

    #[test]
    fn concurrent_imports_keep_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::thread::scope(|scope| {
            for n in 0..8 {
                let store = store.clone();
                scope.spawn(move || {
                    let layer = blob(format!("module {n}").as_bytes());
                    import(
                        &store,
                        &format!("registry://h/p:v{n}"),
                        &layer.0,
                        std::slice::from_ref(&layer),
                    )
                    .unwrap();
                });
            }
        });
        assert_eq!(store.list().unwrap().len(), 8);
    }

    #[test]
    fn signatures_are_recorded_and_forgotten_with_their_policy() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let module = b"\0asm\x01\0\0\0".to_vec();
        let artifact = PolicyArtifact::build(module, None, None).unwrap();
        let signature = Digest::sha256_of(b"a signature manifest");
        store
            .import_artifact(
                "registry://h/p:v1",
                &artifact,
                Some(std::slice::from_ref(&signature)),
            )
            .unwrap();
        assert_eq!(
            store.signatures("registry://h/p:v1").unwrap(),
            Some(vec![signature])
        );
        store
            .import_artifact("registry://h/other:v1", &artifact, Some(&[]))
            .unwrap();
        assert_eq!(
            store
                .signatures("registry://h/p:v1")
                .unwrap()
                .map(|s| s.len()),
            Some(1),
            "another reference to the same manifest keeps its own record"
        );
        assert_eq!(
            store.artifact(&artifact.digest()).unwrap().module,
            artifact.module
        );
        store.remove("registry://h/p:v1").unwrap();
        assert_eq!(store.signatures("registry://h/p:v1").unwrap(), None);
    }

    #[test]
    fn a_damaged_policy_is_refused_and_importing_it_again_repairs_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let artifact = PolicyArtifact::build(b"\0asm\x01\0\0\0".to_vec(), None, None).unwrap();
        store
            .import_artifact("registry://h/p:v1", &artifact, None)
            .unwrap();
        let module = store.blobs.path(&artifact.module_digest);
        fs::write(&module, b"\0asm\x01\0\0\0\0").unwrap();
        assert!(matches!(
            store.artifact(&artifact.digest()),
            Err(ClientError::Artifact(ArtifactError::DigestMismatch { .. }))
        ));
        store
            .import_artifact("registry://h/p:v1", &artifact, None)
            .unwrap();
        assert_eq!(
            store.artifact(&artifact.digest()).unwrap().module,
            artifact.module
        );
    }

    #[test]
    fn a_corrupt_index_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(store.index_path(), b"{oops").unwrap();
        let layer = blob(b"m");
        let err = import(
            &store,
            "registry://h/p:v1",
            &layer.0,
            std::slice::from_ref(&layer),
        )
        .unwrap_err();
        assert!(err.to_string().contains("index is not valid JSON"), "{err}");
        assert_eq!(fs::read(store.index_path()).unwrap(), b"{oops");
        assert!(!store.has_blob(&layer.0));
    }
}
