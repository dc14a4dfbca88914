//! A policy as the hub describes it: its manifest's annotations and the metadata of its module layer, read from
//! storage once per manifest digest and saved there, so that neither a restart nor another replica reads it again.

use std::collections::BTreeMap;

use artifact::metadata::{Metadata, WellKnown};
use artifact::oci::Digest;
use artifact::oci::manifest::ImageManifest;
use artifact::oci::policy::{OCI_ANNOTATIONS, parse_manifest, policy_layer};
use artifact::wasm::{SectionMap, read_metadata};
use serde::{Deserialize, Serialize};

use crate::errors::Result;
use crate::names::RepoName;
use crate::storage::{Storage, StoredManifest, WholeBlob, read_whole};

/// Modules larger than this are listed without their metadata (the hub reads a module whole to find its metadata
/// section; Kubewarden policies weigh from a few hundred KiB to a few MiB).
pub const MAX_MODULE_BYTES: u64 = 64 * 1024 * 1024;

/// A policy manifest and what its module says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    /// The manifest's digest.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// The module layer's digest.
    pub module_digest: Digest,
    /// The module layer's size in bytes.
    pub module_size: u64,
    /// The manifest's annotations (single-line metadata annotations and `org.opencontainers.image.*`).
    pub annotations: BTreeMap<String, String>,
    /// The module's `io.kubewarden.metadata` section; `None` if it has none or it could not be read.
    pub metadata: Option<Metadata>,
    /// Why `metadata` is `None`, for the page to say.
    pub problem: Option<String>,
}

impl Policy {
    /// The value of a well-known annotation: from the module's metadata, else the manifest's annotations (the
    /// `io.kubewarden.policy.*` key, then the `org.opencontainers.image.*` one other tools write).
    pub fn field(&self, key: WellKnown) -> Option<&str> {
        let from_metadata = self.metadata.as_ref().and_then(|m| m.well_known(key));
        let oci_key = OCI_ANNOTATIONS
            .iter()
            .find(|(known, _)| *known == key)
            .map(|(_, oci)| *oci);
        from_metadata
            .or_else(|| self.annotations.get(key.key()).map(String::as_str))
            .or_else(|| oci_key.and_then(|k| self.annotations.get(k).map(String::as_str)))
            .filter(|value| !value.trim().is_empty())
    }

    /// All its annotations: the manifest's, overridden by the metadata's.
    pub fn all_annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = self.annotations.clone();
        annotations.extend(self.metadata.iter().flat_map(|m| m.annotations.clone()));
        annotations
    }

    /// The resources the policy's rules match (`pods`, `deployments`, `*`), sorted, without duplicates.
    pub fn resources(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .metadata
            .iter()
            .flat_map(|m| &m.rules)
            .flat_map(|rule| rule.resources.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The manifest of `stored` as an image manifest, if it is one (indexes and unreadable documents are not).
pub fn image_manifest(stored: &StoredManifest) -> Option<ImageManifest> {
    if artifact::oci::media_types::is_index(&stored.media_type) {
        return None;
    }
    parse_manifest("", &stored.bytes).ok()
}

/// The version of the saved descriptions' format: a change to [`Policy`] bumps it, and descriptions are made again.
const DESCRIPTION_FORMAT: &str = "policy-v1";

/// Describes `stored` if it is a policy manifest (one Wasm layer): from the description saved for its digest (by
/// this server or another), else by reading its module from `repository`, saving what it finds.
pub async fn describe<S: Storage>(
    storage: &S,
    repository: &RepoName,
    stored: &StoredManifest,
) -> Result<Option<Policy>> {
    let key = format!(
        "hub/{DESCRIPTION_FORMAT}/{}/{}",
        stored.digest.algorithm().name(),
        stored.digest.hex()
    );
    if let Some(saved) = storage.derived(&key).await?
        && let Ok(policy) = serde_json::from_slice::<Policy>(&saved)
    {
        return Ok(Some(policy));
    }
    let Some((policy, lasting)) = read_description(storage, repository, stored).await? else {
        return Ok(None);
    };
    if lasting && let Ok(bytes) = serde_json::to_vec(&policy) {
        storage.save_derived(&key, &bytes).await?;
    }
    Ok(Some(policy))
}

/// Describes `stored` from its module, and says whether the description lasts (it does unless the module was
/// missing, which a later push of the blob can change).
async fn read_description<S: Storage>(
    storage: &S,
    repository: &RepoName,
    stored: &StoredManifest,
) -> Result<Option<(Policy, bool)>> {
    let Some(manifest) = image_manifest(stored) else {
        return Ok(None);
    };
    let Ok(layer) = policy_layer(&manifest) else {
        return Ok(None);
    };
    let module = read_whole(storage, repository, &layer.digest, MAX_MODULE_BYTES).await?;
    let lasting = !matches!(module, WholeBlob::Missing);
    let (metadata, problem) = match module {
        WholeBlob::Missing => (
            None,
            Some(format!(
                "the module layer {} is not in the repository",
                layer.digest
            )),
        ),
        WholeBlob::TooLarge(size) => (
            None,
            Some(format!(
                "the module is {size} bytes, more than the {MAX_MODULE_BYTES} the hub reads: its metadata is not shown"
            )),
        ),
        WholeBlob::Read(module) => match metadata_of(&module) {
            Ok(Some(metadata)) => (Some(metadata), None),
            Ok(None) => (
                None,
                Some("the module has no `io.kubewarden.metadata` section".to_string()),
            ),
            Err(problem) => (None, Some(problem)),
        },
    };
    let policy = Policy {
        digest: stored.digest.clone(),
        manifest_size: stored.bytes.len() as u64,
        module_digest: layer.digest.clone(),
        module_size: layer.size,
        annotations: manifest.annotations.clone().unwrap_or_default(),
        metadata,
        problem,
    };
    Ok(Some((policy, lasting)))
}

/// The metadata section of a module, or what is wrong with the module (the scan reads section headers only, so
/// this is cheap enough for the request task).
fn metadata_of(module: &[u8]) -> std::result::Result<Option<Metadata>, String> {
    let map = SectionMap::scan(module).map_err(|e| format!("the module cannot be read: {e}"))?;
    read_metadata(&map).map_err(|e| format!("the module's metadata cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_problems_are_described() {
        assert!(
            metadata_of(b"not wasm")
                .unwrap_err()
                .contains("cannot be read")
        );
        assert_eq!(metadata_of(b"\0asm\x01\0\0\0").unwrap(), None);
    }
}
