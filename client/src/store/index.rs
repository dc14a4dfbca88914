//! The store's index: which reference names which manifest digest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use artifact::files;
use artifact::oci::Digest;

/// The version of the index format written by this code.
const INDEX_VERSION: u32 = 1;

/// The index file: references (canonical `registry://…` strings) to manifest digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The format version.
    pub version: u32,
    /// Every stored policy, by reference.
    pub policies: BTreeMap<String, Digest>,
    /// The signature manifests the registry held for each reference's manifest when it was imported
    /// (signatures live in a repository, so two references to one manifest may differ). A reference missing
    /// here was not asked about (loaded from a bundle, or pulled by a palisade that did not record
    /// signatures); palisades of that kind read this index and ignore the field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signatures: BTreeMap<String, Vec<Digest>>,
    /// The references imported from an archive: served from the store, with what the archive carried,
    /// until a pull from the registry replaces them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub loaded: BTreeSet<String>,
    /// The manifests an archive carried attached to its policies, by repository (`host/repository`):
    /// each under the tag (`sha256-<hex>.sig`…) or digest it had there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attached: BTreeMap<String, BTreeMap<String, Digest>>,
}

impl Index {
    /// Reads the index; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Index> {
        if !path.exists() {
            return Ok(Index {
                version: INDEX_VERSION,
                ..Index::default()
            });
        }
        let bytes = files::read(path)?;
        let index: Index =
            serde_json::from_slice(&bytes).map_err(|err| ClientError::StoreCorrupt {
                path: path.to_path_buf(),
                reason: format!("the index is not valid JSON ({err})"),
            })?;
        if index.version != INDEX_VERSION {
            return Err(ClientError::StoreCorrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "index format version {} is not the {INDEX_VERSION} this palisade reads: was it written by a newer one?",
                    index.version
                ),
            });
        }
        Ok(index)
    }

    /// Forgets what is recorded about references that are no longer stored (signatures, archive origin),
    /// and the attachments of repositories none of them is in.
    pub fn forget_unreferenced(&mut self) {
        let policies = &self.policies;
        self.signatures
            .retain(|reference, _| policies.contains_key(reference));
        self.loaded
            .retain(|reference| policies.contains_key(reference));
        let repositories: BTreeSet<&str> = policies
            .keys()
            .filter_map(|reference| repository_of(reference))
            .collect();
        self.attached
            .retain(|repository, _| repositories.contains(repository.as_str()));
    }

    /// Writes the index atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|err| ClientError::StoreCorrupt {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        Ok(files::write_atomic(path, |out| out.write_all(&bytes))?)
    }
}

/// The `host/repository` of a stored reference (`registry://host/repository[:tag][@digest]`).
pub fn repository_of(reference: &str) -> Option<&str> {
    let rest = reference.strip_prefix("registry://")?;
    let name = rest.split_once('@').map_or(rest, |(name, _)| name);
    let (host, path) = name.split_once('/')?;
    let path = match path.rsplit_once(':') {
        Some((repository, _tag)) => repository,
        None => path,
    };
    Some(&name[..host.len() + 1 + path.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_without_signatures_reads_and_writes_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.json");
        let old = r#"{"version":1,"policies":{"registry://h/p:v1":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}"#;
        std::fs::write(&path, old).unwrap();
        let index = Index::load(&path).unwrap();
        assert!(index.signatures.is_empty());
        index.save(&path).unwrap();
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            written,
            serde_json::from_str::<serde_json::Value>(old).unwrap()
        );
    }

    #[test]
    fn the_repository_of_a_reference() {
        assert_eq!(
            repository_of("registry://localhost:5000/org/p:v1"),
            Some("localhost:5000/org/p")
        );
        assert_eq!(repository_of("registry://h/p@sha256:00"), Some("h/p"));
        assert_eq!(repository_of("https://h/p.wasm"), None);
    }
}
