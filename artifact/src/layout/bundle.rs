//! Bundles: an OCI image layout in one tarball, to carry policies across an air gap.
//!
//! `save` writes the tarball deterministically (sorted entries, zero timestamps and owners), so the
//! same policies make the same bytes; `load` accepts only layout files (`oci-layout`, `index.json`,
//! `blobs/<algorithm>/<hex>`) and checks every blob before it returns anything.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::Layout;
use crate::error::{ArtifactError, Result};
use crate::files;
use crate::oci::policy::PolicyArtifact;

/// Writes `policies` (each under its name) as a layout tarball at `out`, atomically.
pub fn save_bundle(policies: &[(String, PolicyArtifact)], out: &Path) -> Result<()> {
    let staging = staging_dir(out)?;
    let layout = Layout::create(staging.path().join("layout"))?;
    for (name, artifact) in policies {
        layout.add(name, artifact)?;
    }
    let mut paths = Vec::new();
    collect_files(layout.root(), layout.root(), &mut paths)?;
    paths.sort();
    files::write_atomic(out, |writer| {
        let mut builder = tar::Builder::new(writer);
        for relative in &paths {
            let bytes = fs::read(layout.root().join(relative))?;
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, relative, bytes.as_slice())?;
        }
        builder.finish()
    })
}

/// Reads a layout tarball and returns every policy in it with its name, each checked against its
/// digests; nothing is returned unless everything checks.
pub fn load_bundle(bundle: &Path) -> Result<Vec<(String, PolicyArtifact)>> {
    let invalid = |reason: String| ArtifactError::Layout(format!("{}: {reason}", bundle.display()));
    let staging = staging_dir(bundle)?;
    let root = staging.path().join("layout");
    let file = fs::File::open(bundle).map_err(|cause| ArtifactError::Io {
        action: "reading",
        path: bundle.to_path_buf(),
        cause,
    })?;
    let mut archive = tar::Archive::new(file);
    let entries = archive
        .entries()
        .map_err(|err| invalid(format!("not a tar archive ({err})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|err| invalid(format!("damaged or truncated ({err})")))?;
        let path = entry
            .path()
            .map_err(|err| invalid(format!("an entry has an unreadable name ({err})")))?
            .into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let relative = layout_path(&path)
            .filter(|_| kind.is_file())
            .ok_or_else(|| {
                invalid(format!(
                    "{} is not a file of an OCI image layout",
                    path.display()
                ))
            })?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|err| {
            invalid(format!(
                "damaged or truncated at {} ({err})",
                path.display()
            ))
        })?;
        let target = root.join(&relative);
        if let Some(folder) = target.parent() {
            files::create_dir_all(folder)?;
        }
        fs::write(&target, &bytes).map_err(|cause| ArtifactError::Io {
            action: "writing",
            path: target.clone(),
            cause,
        })?;
    }
    let layout =
        Layout::open(&root).map_err(|err| invalid(format!("not an OCI image layout ({err})")))?;
    layout
        .names()?
        .into_iter()
        .map(|name| {
            let artifact = layout.policy(&name)?;
            Ok((name, artifact))
        })
        .collect()
}

/// A temporary folder beside `path`, so that renames out of it stay on one file system.
fn staging_dir(path: &Path) -> Result<tempfile::TempDir> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".palisade-bundle-")
        .tempdir_in(&folder)
        .or_else(|_| tempfile::tempdir())
        .map_err(|cause| ArtifactError::Io {
            action: "creating a temporary folder in",
            path: folder,
            cause,
        })
}

/// The entry's path if it is one of a layout's files: `oci-layout`, `index.json`, `blobs/ALG/HEX`.
fn layout_path(path: &Path) -> Option<PathBuf> {
    let parts: Vec<&str> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let safe = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    match parts.as_slice() {
        ["oci-layout"] | ["index.json"] => Some(PathBuf::from(parts[0])),
        ["blobs", algorithm, hex] if safe(algorithm) && safe(hex) => {
            Some(PathBuf::from("blobs").join(algorithm).join(hex))
        }
        _ => None,
    }
}

fn collect_files(root: &Path, folder: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(folder).map_err(|cause| ArtifactError::Io {
        action: "listing",
        path: folder.to_path_buf(),
        cause,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Vec<(String, PolicyArtifact)> {
        ["one", "two"]
            .iter()
            .map(|n| {
                let module = format!("\0asm\x01\0\0\0{n}").into_bytes();
                (
                    format!("ghcr.io/org/{n}:v1"),
                    PolicyArtifact::build(module, None, None).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
        save_bundle(&policies(), &a).unwrap();
        save_bundle(&policies(), &b).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
        let loaded = load_bundle(&a).unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].0, "ghcr.io/org/one:v1");
        assert_eq!(loaded[1].1.module, policies()[1].1.module);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no staging folder is left behind"
        );
    }

    #[test]
    fn a_truncated_bundle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        save_bundle(&policies(), &path).unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_bundle(&path).unwrap_err().to_string();
        assert!(err.contains("a.tar"), "{err}");
    }

    #[test]
    fn foreign_paths_are_refused() {
        for bad in [
            "../etc/passwd",
            "blobs/sha256/../../x",
            "/abs",
            "other.txt",
            "blobs/sha256",
        ] {
            assert_eq!(layout_path(Path::new(bad)), None, "{bad}");
        }
        assert_eq!(
            layout_path(Path::new("./index.json")),
            Some(PathBuf::from("index.json"))
        );
    }
}
