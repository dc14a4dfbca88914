//! What `sign` and `attest` act on: the policy argument and the private key that signs it.

use std::path::PathBuf;

use artifact::reference::{PolicyRef, RegistryRef};
use signing::keys::PrivateKey;

use crate::key_files;
use crate::options::registry_ref;

/// What `sign` and `attest` act on: a policy in a registry and the key that signs it.
#[derive(Debug, clap::Args)]
pub(crate) struct SigningTarget {
    /// The policy: registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]; `sign` also takes a local module file,
    /// whose Sigstore bundle it writes next to it (FILE.sigstore.json).
    #[arg(value_name = "REF")]
    reference: String,
    /// The private key (cosign.key, or an unencrypted PKCS#8 or SEC1 P-256 key).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
}

impl SigningTarget {
    /// The policy reference, parsed.
    pub(crate) fn reference(&self) -> anyhow::Result<RegistryRef> {
        registry_ref(&self.reference)
    }

    /// The local module file the argument names ([`PolicyRef::parse`]: an existing path, or `file://PATH`), if
    /// it names one rather than a reference.
    pub(crate) fn local_file(&self) -> Option<PathBuf> {
        match PolicyRef::parse(&self.reference) {
            Ok(PolicyRef::File(path)) => Some(path),
            _ => None,
        }
    }

    /// The private key, loaded (asking for its password when it is encrypted).
    pub(crate) fn private_key(&self) -> anyhow::Result<PrivateKey> {
        key_files::private_key(&self.key)
    }
}
