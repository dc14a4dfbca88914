//! OCI image layout folders (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as skopeo, oras and
//! crane read and write them (`palisade save` archives them: see `store::archive`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::blobs::BlobDir;
use crate::error::{ClientError, Result};
use artifact::files;
use artifact::oci::manifest::Descriptor;
use artifact::oci::policy::{PolicyArtifact, parse_manifest, policy_layer};
use artifact::oci::{Digest, media_types};

/// The annotation that names a manifest in a layout's index.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_VERSION: &str = "1.0.0";

/// An OCI image layout folder.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutMarker {
    image_layout_version: String,
}

/// The layout's `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutIndex {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl Layout {
    /// Opens an existing layout, checking its `oci-layout` marker.
    pub fn open(root: impl Into<PathBuf>) -> Result<Layout> {
        let layout = Layout { root: root.into() };
        let marker_path = layout.root.join(LAYOUT_FILE);
        let marker: LayoutMarker = serde_json::from_slice(&files::read(&marker_path)?)
            .map_err(|err| layout.invalid(format!("{LAYOUT_FILE} is not valid JSON ({err})")))?;
        if marker.image_layout_version != LAYOUT_VERSION {
            return Err(layout.invalid(format!(
                "image layout version {} is not {LAYOUT_VERSION}",
                marker.image_layout_version
            )));
        }
        Ok(layout)
    }

    /// Opens the layout in `root`, creating an empty one if the folder has none.
    pub fn create(root: impl Into<PathBuf>) -> Result<Layout> {
        let root = root.into();
        if root.join(LAYOUT_FILE).exists() {
            return Layout::open(root);
        }
        files::create_dir_all(&root.join("blobs"))?;
        let marker = serde_json::to_vec(&LayoutMarker {
            image_layout_version: LAYOUT_VERSION.into(),
        })
        .map_err(|err| ClientError::Layout(err.to_string()))?;
        files::write_atomic(&root.join(LAYOUT_FILE), |out| out.write_all(&marker))?;
        let layout = Layout { root };
        layout.save_index(&LayoutIndex {
            schema_version: 2,
            media_type: Some(media_types::OCI_INDEX.into()),
            manifests: Vec::new(),
        })?;
        Ok(layout)
    }

    /// The layout folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn invalid(&self, reason: String) -> ClientError {
        ClientError::Layout(format!("{}: {reason}", self.root.display()))
    }

    fn blobs(&self) -> BlobDir {
        BlobDir::new(self.root.join("blobs"))
    }

    fn index(&self) -> Result<LayoutIndex> {
        let path = self.root.join("index.json");
        serde_json::from_slice(&files::read(&path)?)
            .map_err(|err| self.invalid(format!("index.json is not an image index ({err})")))
    }

    fn save_index(&self, index: &LayoutIndex) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(index).map_err(|err| self.invalid(err.to_string()))?;
        Ok(files::write_atomic(&self.root.join("index.json"), |out| {
            out.write_all(&bytes)
        })?)
    }

    /// Adds `artifact` under `name` (replacing what had that name): blobs first, then the index entry.
    pub fn add(&self, name: &str, artifact: &PolicyArtifact) -> Result<()> {
        for (digest, bytes) in artifact.blobs() {
            self.put_blob(&digest, &bytes)?;
        }
        self.put_manifest(name, &artifact.manifest_bytes, media_types::OCI_MANIFEST)
    }

    /// Writes a blob (a config, a layer or a manifest) unless the layout has it.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.blobs().write(digest, bytes).map(drop)
    }

    /// Writes the manifest `bytes` and names it `name` in the index (replacing what had that name); its
    /// blobs must be put first.
    pub fn put_manifest(&self, name: &str, bytes: &[u8], media_type: &str) -> Result<()> {
        let mut entry = Descriptor::of(media_type, bytes);
        self.put_blob(&entry.digest, bytes)?;
        let mut index = self.index()?;
        index
            .manifests
            .retain(|entry| entry_name(entry) != Some(name));
        entry.annotations = Some(BTreeMap::from([(REF_NAME.to_string(), name.to_string())]));
        index.manifests.push(entry);
        self.save_index(&index)
    }

    /// The named entries of the index, in order: each name with its manifest's descriptor.
    pub fn entries(&self) -> Result<Vec<(String, Descriptor)>> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .filter_map(|entry| Some((entry_name(&entry)?.to_string(), entry)))
            .collect())
    }

    /// A blob of the layout, checked against its digest.
    pub fn blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.blobs().read(digest)
    }

    /// The policy called `name`, every blob checked against its digest.
    pub fn policy(&self, name: &str) -> Result<PolicyArtifact> {
        let index = self.index()?;
        let entry = index
            .manifests
            .iter()
            .find(|entry| entry_name(entry) == Some(name))
            .ok_or_else(|| {
                let names: Vec<&str> = index.manifests.iter().filter_map(entry_name).collect();
                self.invalid(format!(
                    "no manifest named {name:?} (names: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            })?;
        let origin = format!("{}:{name}", self.root.display());
        let manifest_bytes = self.blob(&entry.digest)?;
        let manifest = parse_manifest(&origin, &manifest_bytes)?;
        let layer = policy_layer(&manifest)?;
        let config = self.blob(&manifest.config.digest)?;
        let module = self.blob(&layer.digest)?;
        Ok(PolicyArtifact::from_parts(
            &origin,
            manifest_bytes,
            config,
            module,
        )?)
    }
}

fn entry_name(entry: &Descriptor) -> Option<&str> {
    entry
        .annotations
        .as_ref()?
        .get(REF_NAME)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use artifact::ArtifactError;

    fn artifact(module: &[u8]) -> PolicyArtifact {
        PolicyArtifact::build(module.to_vec(), None, None).unwrap()
    }

    #[test]
    fn adds_and_reads_back_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path().join("l")).unwrap();
        let one = artifact(b"\0asm\x01\0\0\0one");
        layout.add("v1", &one).unwrap();
        layout
            .add("ghcr.io/org/p:v2", &artifact(b"\0asm\x01\0\0\0two"))
            .unwrap();
        layout.add("v1", &one).unwrap();
        let names: Vec<String> = layout
            .entries()
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["ghcr.io/org/p:v2", "v1"]);
        let back = Layout::open(layout.root()).unwrap().policy("v1").unwrap();
        assert_eq!(back.manifest_bytes, one.manifest_bytes);
        assert_eq!(back.module, one.module);
    }

    #[test]
    fn a_tampered_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        let policy = artifact(b"\0asm\x01\0\0\0one");
        layout.add("v1", &policy).unwrap();
        std::fs::write(
            layout.blobs().path(&Digest::sha256_of(&policy.module)),
            b"\0asm\x01\0\0\0evil",
        )
        .unwrap();
        let err = layout.policy("v1").unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Artifact(ArtifactError::DigestMismatch { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_name_lists_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(dir.path()).unwrap();
        layout.add("v1", &artifact(b"\0asm\x01\0\0\0")).unwrap();
        let err = layout.policy("v2").unwrap_err().to_string();
        assert!(err.contains("\"v2\"") && err.contains("names: v1"), "{err}");
        assert!(Layout::open(dir.path().join("nowhere")).is_err());
    }
}
