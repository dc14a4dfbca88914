//! What `palisade policies` lists: each stored policy with what its module says about itself.

use serde::Serialize;

use super::folder::{Store, StoreEntry};
use super::index::Index;
use crate::error::Result;
use artifact::metadata::WellKnown;
use artifact::oci::Digest;
use artifact::oci::policy::policy_layer;
use artifact::wasm::{self, SectionMap};

/// One line of the listing.
#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    /// The reference and manifest digest.
    #[serde(flatten)]
    pub entry: StoreEntry,
    /// The module's size in bytes.
    pub size: u64,
    /// The policy's title, from its metadata.
    pub title: Option<String>,
    /// Whether it mutates; `None` for a module without metadata.
    pub mutating: Option<bool>,
    /// Whether its repository held signatures for it when it was pulled; `None` if that was not recorded
    /// (loaded from a bundle, or pulled by an older palisade).
    pub signed: Option<bool>,
    /// The signature manifests its registry held for it when it was pulled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Digest>,
}

impl Store {
    /// Every stored policy, summarized.
    pub fn summaries(&self) -> Result<Vec<PolicySummary>> {
        let index = Index::load(&self.index_path())?;
        index
            .policies
            .into_iter()
            .map(|(reference, digest)| StoreEntry { reference, digest })
            .map(|entry| {
                let signatures = index.signatures.get(&entry.reference);
                let manifest = self.manifest(&entry.digest)?;
                let layer = policy_layer(&manifest)?;
                let module = self.blob(&layer.digest)?;
                let metadata = SectionMap::scan(&module)
                    .and_then(|map| wasm::read_metadata(&map))
                    .ok()
                    .flatten();
                Ok(PolicySummary {
                    size: layer.size,
                    title: metadata
                        .as_ref()
                        .and_then(|m| m.well_known(WellKnown::Title))
                        .map(str::to_string),
                    mutating: metadata.as_ref().map(|m| m.mutating),
                    signed: signatures.map(|found| !found.is_empty()),
                    signatures: signatures.cloned().unwrap_or_default(),
                    entry,
                })
            })
            .collect()
    }
}
