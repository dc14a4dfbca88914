//! The folder's repository names: the folders under `repos/` that hold a repository.

use std::path::Path;

use super::layout::Layout;
use crate::errors::Result;
use crate::storage::fsutil::Fs;

/// Every repository name, sorted: folders under `repos/` that hold a `_blobs`, `_manifests` or `_tags` folder.
pub async fn repositories(layout: &Layout, fs: &Fs) -> Result<Vec<String>> {
    let base = layout.repos();
    let walked = tokio::task::spawn_blocking(move || {
        let mut names = Vec::new();
        walk(&base, "", &mut names).map(|()| names)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|inner| inner);
    let mut names = walked.map_err(|e| fs.err("listing", &layout.repos(), e))?;
    names.sort();
    Ok(names)
}

fn walk(dir: &Path, prefix: &str, names: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut is_repo = false;
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('_') {
            is_repo = true;
        } else if entry.file_type()?.is_dir() {
            let child = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            walk(&entry.path(), &child, names)?;
        }
    }
    if is_repo && !prefix.is_empty() {
        names.push(prefix.to_string());
    }
    Ok(())
}
