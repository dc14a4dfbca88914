//! A folder of blobs named by digest, `blobs/<algorithm>/<hex>`: the layout shared by OCI image layouts
//! and the local store. Blobs are written atomically and checked against their digest when read.

use std::path::{Path, PathBuf};

use crate::error::Result;
use artifact::ArtifactError;
use artifact::files;
use artifact::oci::Digest;

/// The `blobs` folder of a layout or store.
#[derive(Debug, Clone)]
pub struct BlobDir {
    root: PathBuf,
}

impl BlobDir {
    /// The blobs under `root` (the folder that holds `<algorithm>/<hex>`).
    pub fn new(root: impl Into<PathBuf>) -> BlobDir {
        BlobDir { root: root.into() }
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` lives.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join(digest.algorithm().name()).join(digest.hex())
    }

    /// Whether the blob is there.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// The blob's content, checked against its digest: a blob that does not match is an error.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.path(digest);
        let bytes = files::read(&path)?;
        if !digest.matches(&bytes) {
            return Err(ArtifactError::DigestMismatch {
                what: format!("blob {}", path.display()),
                actual: Digest::compute(digest.algorithm(), &bytes).to_string(),
            }
            .into());
        }
        Ok(bytes)
    }

    /// Writes the blob unless it is there already, intact; returns its path if this call wrote it. A blob
    /// whose content no longer matches its digest is written again, so that importing a policy anew repairs
    /// a damaged copy.
    pub fn write(&self, digest: &Digest, bytes: &[u8]) -> Result<Option<PathBuf>> {
        let path = self.path(digest);
        if path.is_file() && self.read(digest).is_ok() {
            return Ok(None);
        }
        if let Some(folder) = path.parent() {
            files::create_dir_all(folder)?;
        }
        files::write_atomic(&path, |out| out.write_all(bytes))?;
        Ok(Some(path))
    }
}
