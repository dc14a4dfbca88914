//! kwctl's archive, as `kwctl save` writes it and `kwctl load` unpacks it into kwctl's store: a gzip
//! tarball holding each bare module at the path kwctl's store keeps it, `SCHEME/HOST[:PORT]/PATH`:
//! `registry/ghcr.io/kubewarden/policies/pod-privileged:v0.2.2` for
//! `registry://ghcr.io/kubewarden/policies/pod-privileged:v0.2.2` (kwctl spells out the `latest` tag),
//! `https/github.com/org/repo/releases/download/v1/policy.wasm` for an `https://` URL, and
//! `file/PATH` for a local `file:///PATH` (which kwctl's store then does not list). No manifests, no
//! signatures: loading one packages each module as `palisade push` would, without a creation time.

use std::path::Path;

use super::contents::{ArchivedPolicy, Entry, Found, archive_name, invalid};
use crate::error::Result;
use crate::store::ArchiveImport;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;
use artifact::wasm::{self, SectionMap};

/// The first folders of kwctl's store paths: the schemes it keeps policies of.
pub(super) const SCHEMES: [&str; 4] = ["registry", "https", "http", "file"];

/// Whether `path` is a file of kwctl's store: under one of its schemes.
pub(super) fn is_store_path(path: &str) -> bool {
    path.split_once('/')
        .is_some_and(|(scheme, rest)| SCHEMES.contains(&scheme) && !rest.is_empty())
}

/// The files kwctl's save would write for `policies`.
pub(super) fn entries(policies: &[ArchivedPolicy]) -> Vec<Entry> {
    policies
        .iter()
        .map(|policy| Entry {
            path: format!("registry/{}", archive_name(&policy.reference)),
            bytes: policy.artifact.module.clone(),
        })
        .collect()
}

/// Packages every module of the archive under the reference its path names.
pub(super) fn read(entries: Vec<Entry>, archive: &Path) -> Result<(ArchiveImport, Found)> {
    let mut import = ArchiveImport::default();
    let mut found = Found::default();
    for entry in entries {
        let Some((scheme, rest)) = entry.path.split_once('/') else {
            continue;
        };
        let key = match scheme {
            "registry" => match format!("registry://{rest}").parse::<RegistryRef>() {
                Ok(reference) => reference.to_string(),
                Err(_) => {
                    return Err(invalid(
                        archive,
                        format!(
                            "{}: not a policy kwctl would have saved (expected registry/HOST/REPOSITORY:TAG)",
                            entry.path
                        ),
                    ));
                }
            },
            "file" => {
                found.skipped.push(format!(
                    "{} (the local file file:///{rest}, which kwctl's store does not list either: run it from the file)",
                    entry.path
                ));
                continue;
            }
            _ => format!("{scheme}://{rest}"),
        };
        let map = SectionMap::scan(&entry.bytes)
            .map_err(|err| invalid(archive, format!("{}: {err}", entry.path)))?;
        // kwctl loads a module whatever its metadata says; a module whose metadata does not parse is
        // stored without manifest annotations rather than refused.
        let metadata = wasm::read_metadata(&map).ok().flatten();
        let artifact = PolicyArtifact::build(entry.bytes, metadata.as_ref(), None)?;
        let shown = match key.parse::<RegistryRef>() {
            Ok(reference) => reference.with_digest(artifact.digest()).to_string(),
            Err(_) => key.clone(),
        };
        found.policies.push(shown);
        import.policies.push((key, artifact));
    }
    if import.policies.is_empty() {
        return Err(invalid(
            archive,
            "the archive holds no policy kwctl's store would list",
        ));
    }
    Ok((import, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_start_with_a_scheme() {
        assert!(is_store_path("registry/ghcr.io/org/p:v1"));
        assert!(is_store_path("https/example.com/p.wasm"));
        assert!(is_store_path("file/p.wasm"));
        assert!(!is_store_path("registry"));
        assert!(!is_store_path("blobs/sha256/00"));
        assert!(!is_store_path("oci-layout"));
    }
}
