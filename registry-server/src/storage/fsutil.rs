//! Crash-safe file operations: every visible file is complete, because it is written elsewhere, synced, and renamed
//! into place.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::errors::{RegistryError, Result};

/// Paths and error mapping for one storage root.
#[derive(Debug, Clone)]
pub struct Fs {
    root: PathBuf,
}

impl Fs {
    /// File operations under `root`.
    pub fn new(root: PathBuf) -> Fs {
        Fs { root }
    }

    /// The error for `source` on `path`, naming a full disk as such.
    pub fn err(&self, action: &'static str, path: &Path, source: std::io::Error) -> RegistryError {
        RegistryError::io(action, path, source, &self.root)
    }

    /// A fresh path in the staging folder, on the same file system as everything it will be renamed to.
    pub async fn staging_path(&self) -> Result<PathBuf> {
        let dir = self.root.join("tmp");
        self.create_dir_all(&dir).await?;
        Ok(dir.join(uuid::Uuid::new_v4().simple().to_string()))
    }

    /// Creates `dir` and its parents.
    pub async fn create_dir_all(&self, dir: &Path) -> Result<()> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| self.err("creating folder", dir, e))
    }

    /// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a mix, even after a
    /// crash.
    pub async fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let staging = self.staging_path().await?;
        let written = async {
            let mut file = tokio::fs::File::create(&staging)
                .await
                .map_err(|e| self.err("creating", &staging, e))?;
            file.write_all(bytes)
                .await
                .map_err(|e| self.err("writing", &staging, e))?;
            file.sync_all()
                .await
                .map_err(|e| self.err("syncing", &staging, e))?;
            self.rename_into_place(&staging, path).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&staging).await;
        }
        written
    }

    /// Renames a synced file to `path`, creating its folder, and syncs the folder so the rename survives a crash.
    pub async fn rename_into_place(&self, from: &Path, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        self.create_dir_all(dir).await?;
        tokio::fs::rename(from, path)
            .await
            .map_err(|e| self.err("renaming into", path, e))?;
        self.sync_dir(dir).await
    }

    /// Syncs a folder's entries to disk.
    pub async fn sync_dir(&self, dir: &Path) -> Result<()> {
        let owned = dir.to_path_buf();
        let synced = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&owned).and_then(|d| d.sync_all())
        })
        .await;
        match synced {
            Ok(result) => result.map_err(|e| self.err("syncing folder", dir, e)),
            Err(join) => Err(self.err("syncing folder", dir, std::io::Error::other(join))),
        }
    }

    /// Reads a small file, `None` if it does not exist.
    pub async fn read_optional(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("reading", path, e)),
        }
    }

    /// Sets a file's modification time to now; returns whether it exists.
    pub async fn touch(&self, path: &Path) -> Result<bool> {
        let file = match tokio::fs::OpenOptions::new().write(true).open(path).await {
            Ok(file) => file.into_std().await,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.err("touching", path, e)),
        };
        file.set_modified(std::time::SystemTime::now())
            .map_err(|e| self.err("touching", path, e))?;
        Ok(true)
    }

    /// Removes a file; returns whether it existed.
    pub async fn remove_file(&self, path: &Path) -> Result<bool> {
        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err("removing", path, e)),
        }
    }

    /// The names of the entries of `dir`, sorted; empty if it does not exist.
    pub async fn list_dir(&self, dir: &Path) -> Result<Vec<String>> {
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err("listing", dir, e)),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| self.err("listing", dir, e))?
        {
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn atomic_writes_replace_whole_files_and_leave_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let fs = Fs::new(dir.path().to_path_buf());
        let target = dir.path().join("a/b/tag");
        fs.write_atomic(&target, b"first").await.unwrap();
        fs.write_atomic(&target, b"second").await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        assert!(
            fs.list_dir(&dir.path().join("tmp"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            fs.read_optional(&dir.path().join("missing")).await.unwrap(),
            None
        );
    }
}
