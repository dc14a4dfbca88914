//! Reading inputs and writing outputs so that a failure never leaves a half-written file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::{ArtifactError, Result};

/// Reads a whole file, with an error that names it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|cause| ArtifactError::Io {
        action: "reading",
        path: path.to_path_buf(),
        cause,
    })
}

/// Reads a whole UTF-8 text file, with an error that names it.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| ArtifactError::Io {
        action: "reading",
        path: path.to_path_buf(),
        cause: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ),
    })
}

/// Creates a folder and its parents, with an error that names it.
pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|cause| ArtifactError::Io {
        action: "creating",
        path: path.to_path_buf(),
        cause,
    })
}

/// Writes `path` atomically: the content goes to a temporary file in the same folder, is synced,
/// then renamed over `path`. Readers see the old file or the new one, never a mix; on error the
/// old file is untouched. An existing file keeps its permissions.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomic_with(path, Visibility::Public, write)
}

/// Writes a file only its owner may read (0600), such as one holding credentials, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, Visibility::Private, |out| out.write_all(bytes))
}

/// Who may read a written file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// As the file it replaces, or 0644 for a new one.
    Public,
    /// The owner only, whatever the file it replaces allowed.
    Private,
}

fn write_atomic_with(
    path: &Path,
    visibility: Visibility,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let io_error = |cause| ArtifactError::Io {
        action: "writing",
        path: path.to_path_buf(),
        cause,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(io_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the folder `{}` does not exist", folder.display()),
        )));
    }
    let temp = NamedTempFile::new_in(folder).map_err(io_error)?;
    let permissions = fs::metadata(path)
        .ok()
        .map(|existing| existing.permissions());
    let mut out = BufWriter::with_capacity(1 << 20, temp);
    write(&mut out).map_err(io_error)?;
    let temp = out.into_inner().map_err(|err| io_error(err.into_error()))?;
    temp.as_file().sync_all().map_err(io_error)?;
    // A temporary file is created private (0600), which is what `Private` wants.
    if visibility == Visibility::Public {
        match permissions {
            Some(permissions) => fs::set_permissions(temp.path(), permissions),
            None => set_new_file_permissions(temp.path()),
        }
        .map_err(io_error)?;
    }
    temp.persist(path).map_err(|err| io_error(err.error))?;
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error)
}

/// Temporary files are private (0600); a new output file is readable by all, like one `cp` makes.
#[cfg(unix)]
fn set_new_file_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_new_file_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();
        write_atomic(&path, |w: &mut dyn Write| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();
        let err = write_atomic(&path, |w: &mut dyn Write| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_stay_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"token").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(&dir.path().join("public"), |w| w.write_all(b"x")).unwrap();
        let public = fs::metadata(dir.path().join("public"))
            .unwrap()
            .permissions();
        assert_eq!(public.mode() & 0o777, 0o644);
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.bin");
        let err = write_atomic(&path, |w: &mut dyn Write| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
