//! The store's index: which reference names which manifest digest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ArtifactError, Result};
use crate::files;
use crate::oci::Digest;

/// The version of the index format written by this code.
const INDEX_VERSION: u32 = 1;

/// The index file: references (canonical `registry://…` strings) to manifest digests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The format version.
    pub version: u32,
    /// Every stored policy, by reference.
    pub policies: BTreeMap<String, Digest>,
}

impl Index {
    /// Reads the index; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Index> {
        if !path.exists() {
            return Ok(Index {
                version: INDEX_VERSION,
                policies: BTreeMap::new(),
            });
        }
        let bytes = files::read(path)?;
        let index: Index =
            serde_json::from_slice(&bytes).map_err(|err| ArtifactError::StoreCorrupt {
                path: path.to_path_buf(),
                reason: format!("the index is not valid JSON ({err})"),
            })?;
        if index.version != INDEX_VERSION {
            return Err(ArtifactError::StoreCorrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "index format version {} is not the {INDEX_VERSION} this palisade reads: was it written by a newer one?",
                    index.version
                ),
            });
        }
        Ok(index)
    }

    /// Writes the index atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|err| ArtifactError::StoreCorrupt {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
        files::write_atomic(path, |out| out.write_all(&bytes))
    }
}
