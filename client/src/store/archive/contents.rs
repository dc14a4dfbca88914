//! What an archive holds, in either format: the policies saved into it, its files, what reading one found,
//! and the names and errors both formats use.

use std::path::Path;

use crate::error::ClientError;
use crate::remote::Attachments;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::RegistryRef;

/// A policy to archive: its reference, the policy, and what is attached to it.
#[derive(Debug, Clone)]
pub struct ArchivedPolicy {
    /// The reference it is saved under.
    pub reference: RegistryRef,
    /// The policy.
    pub artifact: PolicyArtifact,
    /// Its signatures, attestations and SBOMs (ignored by the kwctl format).
    pub attachments: Attachments,
}

/// One file of an archive: its path (`/`-separated, relative, checked) and content.
pub(super) struct Entry {
    pub(super) path: String,
    pub(super) bytes: Vec<u8>,
}

/// What a format's reader found besides what goes into the store.
#[derive(Default)]
pub(super) struct Found {
    pub(super) policies: Vec<String>,
    pub(super) skipped: Vec<String>,
    pub(super) trust_root: Option<Vec<u8>>,
}

/// A policy's name in an archive: its reference without the `registry://` scheme.
pub(super) fn archive_name(reference: &RegistryRef) -> String {
    let mut name = format!("{}/{}", reference.registry, reference.repository);
    if let Some(tag) = &reference.tag {
        name.push(':');
        name.push_str(tag);
    }
    if let Some(digest) = &reference.digest {
        name.push('@');
        name.push_str(&digest.to_string());
    }
    name
}

/// An error about the archive at `path`.
pub(super) fn invalid(path: &Path, reason: impl Into<String>) -> ClientError {
    ClientError::Archive {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
