//! palisade's archive: an OCI image layout (`oci-layout`, `index.json`, `blobs/ALG/HEX`). Each manifest of
//! the index is named (`org.opencontainers.image.ref.name`) by where it was in its registry: a policy
//! `HOST/REPOSITORY:TAG`; what is attached to it by the tag or digest it had in that repository
//! (`HOST/REPOSITORY:sha256-<hex>.sig`, `HOST/REPOSITORY@sha256:<referrer>`); a carried trust root is the
//! manifest named `trust-root`. Any tool that reads OCI layouts (skopeo, oras, crane) can push it back.

use std::fs;
use std::path::{Path, PathBuf};

use super::contents::{ArchivedPolicy, Entry, Found, archive_name, invalid};
use crate::error::{ClientError, Result};
use crate::layout::Layout;
use crate::store::ArchiveImport;
use artifact::ArtifactError;
use artifact::files;
use artifact::oci::manifest::{Descriptor, ImageManifest, ManifestLinks};
use artifact::oci::policy::{PolicyArtifact, parse_manifest, policy_layer};
use artifact::oci::{Digest, media_types};
use artifact::reference::RegistryRef;

/// The file that marks an OCI image layout.
pub(super) const MARKER: &str = "oci-layout";
/// The name of the trust root's manifest.
const TRUST_ROOT_NAME: &str = "trust-root";

/// The files of the layout holding `policies` (with their attachments) and `trust_root`.
pub(super) fn entries(
    policies: &[ArchivedPolicy],
    trust_root: Option<&[u8]>,
    out: &Path,
) -> Result<Vec<Entry>> {
    let staging = staging_dir(out)?;
    let layout = Layout::create(staging.path().join("layout"))?;
    for policy in policies {
        layout.add(&archive_name(&policy.reference), &policy.artifact)?;
        for (digest, bytes) in &policy.attachments.blobs {
            layout.put_blob(digest, bytes)?;
        }
        for (name, manifest) in &policy.attachments.manifests {
            let at = policy.reference.at(name);
            layout.put_manifest(&archive_name(&at), &manifest.bytes, &manifest.media_type)?;
        }
    }
    if let Some(bytes) = trust_root {
        let layer = Descriptor::of(artifact::cosign::SIGSTORE_TRUSTED_ROOT, bytes);
        let config = Descriptor::of(
            media_types::OCI_EMPTY,
            artifact::oci::media_types::EMPTY_JSON,
        );
        layout.put_blob(&layer.digest, bytes)?;
        layout.put_blob(&config.digest, artifact::oci::media_types::EMPTY_JSON)?;
        let mut manifest = ImageManifest::new(config, vec![layer]);
        manifest.artifact_type = Some(artifact::cosign::SIGSTORE_TRUSTED_ROOT.into());
        let manifest =
            serde_json::to_vec(&manifest).map_err(|err| ClientError::Layout(err.to_string()))?;
        layout.put_manifest(TRUST_ROOT_NAME, &manifest, media_types::OCI_MANIFEST)?;
    }
    let mut paths = Vec::new();
    collect_files(layout.root(), layout.root(), &mut paths)?;
    paths
        .into_iter()
        .map(|relative| {
            let bytes = files::read(&layout.root().join(&relative))?;
            let path = relative
                .components()
                .filter_map(|c| c.as_os_str().to_str())
                .collect::<Vec<_>>()
                .join("/");
            Ok(Entry { path, bytes })
        })
        .collect()
}

/// Reads the layout's policies and attachments, every blob checked against its digest.
pub(super) fn read(entries: Vec<Entry>, archive: &Path) -> Result<(ArchiveImport, Found)> {
    let staging = staging_dir(archive)?;
    let root = staging.path().join("layout");
    for entry in entries {
        if !is_layout_file(&entry.path) {
            return Err(invalid(
                archive,
                format!("{} is not a file of an OCI image layout", entry.path),
            ));
        }
        let target = root.join(&entry.path);
        if let Some(folder) = target.parent() {
            files::create_dir_all(folder)?;
        }
        fs::write(&target, &entry.bytes).map_err(|cause| ArtifactError::Io {
            action: "writing",
            path: target.clone(),
            cause,
        })?;
    }
    if !root.join("index.json").is_file() {
        return Err(invalid(archive, "index.json is missing"));
    }
    let layout = Layout::open(&root).map_err(|err| invalid(archive, err.to_string()))?;
    let mut import = ArchiveImport {
        carries_attachments: true,
        ..ArchiveImport::default()
    };
    let mut found = Found::default();
    let named = layout
        .entries()
        .map_err(|err| invalid(archive, err.to_string()))?;
    for (name, descriptor) in named {
        let read = |digest: &Digest| blob(&layout, digest, &name, archive);
        let manifest = read(&descriptor.digest)?;
        let links: ManifestLinks = serde_json::from_slice(&manifest)
            .map_err(|err| invalid(archive, format!("{name}: not a manifest ({err})")))?;
        if name == TRUST_ROOT_NAME {
            let layer = links
                .layers
                .first()
                .ok_or_else(|| invalid(archive, format!("{name}: the manifest has no layer")))?;
            found.trust_root = Some(read(&layer.digest)?);
            continue;
        }
        let reference = match name.parse::<RegistryRef>() {
            Ok(reference) => reference,
            Err(_) => {
                return Err(invalid(
                    archive,
                    format!(
                        "entry {name:?} is not named HOST/REPOSITORY:TAG; push it with `palisade push oci-layout://FOLDER:{name} REF` from the unpacked layout"
                    ),
                ));
            }
        };
        let is_policy =
            parse_manifest(&name, &manifest).is_ok_and(|parsed| policy_layer(&parsed).is_ok());
        if is_policy {
            let parsed = parse_manifest(&name, &manifest)?;
            let module = read(&policy_layer(&parsed)?.digest)?;
            let config = read(&parsed.config.digest)?;
            let artifact = PolicyArtifact::from_parts(&name, manifest, config, module)
                .map_err(|err| invalid(archive, err.to_string()))?;
            found
                .policies
                .push(reference.with_digest(artifact.digest()).to_string());
            import.policies.push((reference.to_string(), artifact));
        } else {
            for linked in links.blobs() {
                import
                    .blobs
                    .insert(linked.digest.clone(), read(&linked.digest)?);
            }
            import.blobs.insert(descriptor.digest.clone(), manifest);
            let tag_or_digest = match (&reference.digest, &reference.tag) {
                (Some(digest), _) => digest.to_string(),
                (None, tag) => tag.clone().unwrap_or_default(),
            };
            import.attachments.push((
                format!("{}/{}", reference.registry, reference.repository),
                tag_or_digest,
                descriptor.digest,
            ));
        }
    }
    if import.policies.is_empty() {
        return Err(invalid(archive, "the archive holds no policy"));
    }
    Ok((import, found))
}

/// A blob of the unpacked layout, named in messages by its path in the archive and the entry that needs it.
fn blob(layout: &Layout, digest: &Digest, name: &str, archive: &Path) -> Result<Vec<u8>> {
    let relative = format!("blobs/{}/{}", digest.algorithm(), digest.hex());
    if !layout.root().join(&relative).is_file() {
        return Err(invalid(
            archive,
            format!("{relative} is missing (needed by {name})"),
        ));
    }
    layout.blob(digest).map_err(|err| match err {
        ClientError::Artifact(ArtifactError::DigestMismatch { actual, .. }) => invalid(
            archive,
            format!(
                "{relative} (needed by {name}) has the digest {actual}: damaged or tampered with"
            ),
        ),
        other => other,
    })
}

/// Whether `path` is one of a layout's files: `oci-layout`, `index.json`, `blobs/ALG/HEX`.
fn is_layout_file(path: &str) -> bool {
    let safe = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [MARKER] | ["index.json"] => true,
        ["blobs", algorithm, hex] => safe(algorithm) && safe(hex),
        _ => false,
    }
}

/// A temporary folder beside `path`, so that renames out of it stay on one file system.
fn staging_dir(path: &Path) -> Result<tempfile::TempDir> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".palisade-archive-")
        .tempdir_in(&folder)
        .or_else(|_| tempfile::tempdir())
        .map_err(|cause| {
            ArtifactError::Io {
                action: "creating a temporary folder in",
                path: folder,
                cause,
            }
            .into()
        })
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

    #[test]
    fn only_layout_files_are_taken() {
        for bad in [
            "other.txt",
            "blobs/sha256",
            "blobs/sha256/../x",
            "blobs/sha-256/ab",
        ] {
            assert!(!is_layout_file(bad), "{bad}");
        }
        for good in ["oci-layout", "index.json", "blobs/sha256/00ff"] {
            assert!(is_layout_file(good), "{good}");
        }
    }
}
