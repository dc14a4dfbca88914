//! Archives of policies, to carry them across an air gap, in two formats that [`load`] tells apart by
//! their content:
//! - palisade's ([`ArchiveFormat::Palisade`]): an OCI image layout in a tarball, gzip-compressed on
//!   request, written deterministically (sorted entries, zero timestamps and owners), that carries each
//!   policy with what is attached to it in its repository (signatures, attestations, SBOMs) and, on
//!   request, a Sigstore trust root;
//! - kwctl's ([`ArchiveFormat::Kwctl`]), as `kwctl save` writes and `kwctl load` reads it: a gzip tarball
//!   of the bare modules, each at the path kwctl's store keeps it (`registry/HOST/REPOSITORY:TAG`), with
//!   no manifests and no signatures.
//!
//! Loading reads and checks the whole archive before anything enters the store: a damaged archive
//! imports nothing.

mod contents;
mod kwctl;
mod oci;

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;

use super::Store;
use crate::error::Result;
use artifact::ArtifactError;
use artifact::files;
pub use contents::ArchivedPolicy;
use contents::{Entry, invalid};

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The two archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveFormat {
    /// palisade's: an OCI image layout, with signatures and attachments.
    Palisade,
    /// kwctl's: the modules laid out as kwctl's store, gzip-compressed.
    Kwctl,
}

/// How to write an archive.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions<'a> {
    /// The format.
    pub format: ArchiveFormat,
    /// Compress with gzip (the kwctl format always is).
    pub gzip: bool,
    /// A Sigstore trust root to carry along (palisade's format only).
    pub trust_root: Option<&'a [u8]>,
}

/// What [`load`] imported.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    /// The archive's format.
    pub format: ArchiveFormat,
    /// The policies, by reference (pinned to the manifest digest where it is a registry reference).
    #[serde(rename = "loaded")]
    pub policies: Vec<String>,
    /// How many attached manifests (signatures, attestations, SBOMs) came with them.
    pub attachments: usize,
    /// Entries left out, and why.
    pub skipped: Vec<String>,
    /// Where the trust root the archive carried was written.
    pub trust_root: Option<PathBuf>,
}

/// Writes `policies` as an archive at `out`, atomically.
pub fn save(policies: &[ArchivedPolicy], options: SaveOptions<'_>, out: &Path) -> Result<()> {
    let (entries, gzip) = match options.format {
        ArchiveFormat::Palisade => (
            oci::entries(policies, options.trust_root, out)?,
            options.gzip,
        ),
        ArchiveFormat::Kwctl => (kwctl::entries(policies), true),
    };
    write_entries(&entries, gzip, out)
}

/// Reads the archive at `path` (either format, gzip-compressed or not) and imports its policies into
/// `store`, all or nothing.
pub fn load(store: &Store, path: &Path) -> Result<Loaded> {
    let entries = read_entries(path)?;
    let format = detect(&entries).map_err(|reason| invalid(path, reason))?;
    let (import, found) = match format {
        ArchiveFormat::Kwctl => kwctl::read(entries, path)?,
        ArchiveFormat::Palisade => oci::read(entries, path)?,
    };
    store.import_archive(&import)?;
    let trust_root = found
        .trust_root
        .map(|bytes| keep_trust_root(store, &bytes))
        .transpose()?;
    Ok(Loaded {
        format,
        policies: found.policies,
        attachments: import.attachments.len(),
        skipped: found.skipped,
        trust_root,
    })
}

/// Writes a trust root an archive carried into the store's `trust-roots` folder, named by its digest;
/// returns its path.
fn keep_trust_root(store: &Store, bytes: &[u8]) -> Result<PathBuf> {
    let folder = store.root().join("trust-roots");
    files::create_dir_all(&folder)?;
    let file = folder.join(artifact::oci::Digest::sha256_of(bytes).hex());
    files::write_atomic(&file, |out| out.write_all(bytes))?;
    Ok(file)
}

/// Which format the entries are: palisade's has an `oci-layout` file; every file of kwctl's is under one
/// of the schemes of kwctl's store. The one place the formats are told apart.
fn detect(entries: &[Entry]) -> std::result::Result<ArchiveFormat, String> {
    if entries.is_empty() {
        return Err("the archive holds no files".into());
    }
    if entries.iter().any(|entry| entry.path == oci::MARKER) {
        return Ok(ArchiveFormat::Palisade);
    }
    if entries
        .iter()
        .all(|entry| kwctl::is_store_path(&entry.path))
    {
        return Ok(ArchiveFormat::Kwctl);
    }
    let first = entries
        .iter()
        .find(|entry| !kwctl::is_store_path(&entry.path))
        .map_or("", |entry| entry.path.as_str());
    Err(format!(
        "neither palisade's archive (an OCI image layout: it has no `{}` file) nor kwctl's (every file under {}): it holds {first}",
        oci::MARKER,
        kwctl::SCHEMES.map(|scheme| format!("{scheme}/")).join(", ")
    ))
}

/// Every file of the tarball at `path`, gunzipped first if it starts with gzip's magic bytes.
fn read_entries(path: &Path) -> Result<Vec<Entry>> {
    let file = std::fs::File::open(path).map_err(|cause| ArtifactError::Io {
        action: "reading",
        path: path.to_path_buf(),
        cause,
    })?;
    let mut input = BufReader::new(file);
    let gzip = input
        .fill_buf()
        .map_err(|cause| ArtifactError::Io {
            action: "reading",
            path: path.to_path_buf(),
            cause,
        })?
        .starts_with(&GZIP_MAGIC);
    let (stream, what): (Box<dyn Read>, &str) = if gzip {
        (
            Box::new(flate2::read::GzDecoder::new(input)),
            "gzip-compressed tar archive",
        )
    } else {
        (Box::new(input), "tar archive")
    };
    // tar's own message on a first block that is no header quotes the block: say what it is instead.
    let damaged = |err: std::io::Error, first: bool| {
        let reason = if first {
            format!("not a {what}: neither palisade's nor kwctl's archive")
        } else {
            format!("damaged or truncated {what} ({err})")
        };
        invalid(path, reason)
    };
    let consumed = Rc::new(Cell::new(0));
    let mut archive = tar::Archive::new(Counted {
        inner: stream,
        consumed: consumed.clone(),
    });
    let mut entries = Vec::new();
    let mut end_of_last = 0;
    for (n, entry) in archive
        .entries()
        .map_err(|err| damaged(err, true))?
        .enumerate()
    {
        let mut entry = entry.map_err(|err| damaged(err, n == 0))?;
        let name = entry
            .path()
            .map_err(|err| invalid(path, format!("an entry has an unreadable name ({err})")))?
            .into_owned();
        let kind = entry.header().entry_type();
        end_of_last = entry.raw_file_position() + entry.size().div_ceil(BLOCK) * BLOCK;
        if kind.is_dir() {
            continue;
        }
        let relative = relative_path(&name)
            .filter(|_| kind.is_file())
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("{}: not a plain file with a relative path", name.display()),
                )
            })?;
        let mut bytes = Vec::new();
        let read = entry.read_to_end(&mut bytes);
        if let Err(err) = read {
            return Err(invalid(
                path,
                format!("{relative}: damaged or truncated ({err})"),
            ));
        }
        if bytes.len() as u64 != entry.size() {
            return Err(invalid(path, format!("{relative}: truncated")));
        }
        entries.push(Entry {
            path: relative,
            bytes,
        });
    }
    // A tarball ends with zero blocks; one that stops right after an entry was cut there.
    if consumed.get() <= end_of_last {
        return Err(invalid(
            path,
            format!("truncated: the {what} stops without its end-of-archive marker"),
        ));
    }
    Ok(entries)
}

/// The size of a tar block.
const BLOCK: u64 = 512;

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + read as u64);
        Ok(read)
    }
}

/// The entry's path as `/`-separated normal components, or `None` if it leaves the archive's folder.
fn relative_path(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Writes `entries` as a tarball at `out` (gzip-compressed if asked), atomically and deterministically:
/// sorted, regular files of mode 0644, owned by 0:0, dated 0.
fn write_entries(entries: &[Entry], gzip: bool, out: &Path) -> Result<()> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files::write_atomic(out, |writer| {
        let writer: Box<dyn std::io::Write + '_> = if gzip {
            Box::new(flate2::write::GzEncoder::new(
                writer,
                flate2::Compression::default(),
            ))
        } else {
            Box::new(writer)
        };
        let mut builder = tar::Builder::new(writer);
        for entry in sorted {
            let mut header = tar::Header::new_ustar();
            header.set_size(entry.bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, &entry.path, entry.bytes.as_slice())?;
        }
        builder.into_inner()?.flush()
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.into(),
            bytes: Vec::new(),
        }
    }

    #[test]
    fn the_format_is_told_by_the_files() {
        assert_eq!(
            detect(&[entry("blobs/sha256/00"), entry("oci-layout")]),
            Ok(ArchiveFormat::Palisade)
        );
        assert_eq!(
            detect(&[
                entry("registry/ghcr.io/org/p:v1"),
                entry("https/example.com/p.wasm")
            ]),
            Ok(ArchiveFormat::Kwctl)
        );
        let err = detect(&[entry("registry/h/p:v1"), entry("notes.txt")]).unwrap_err();
        assert!(
            err.contains("neither") && err.contains("notes.txt"),
            "{err}"
        );
        assert!(detect(&[]).unwrap_err().contains("no files"));
    }

    #[test]
    fn paths_never_leave_the_archive() {
        for bad in ["../etc/passwd", "/abs", "a/../../b"] {
            assert_eq!(relative_path(Path::new(bad)), None, "{bad}");
        }
        assert_eq!(
            relative_path(Path::new("./registry/h/p:v1")).as_deref(),
            Some("registry/h/p:v1")
        );
    }
}
