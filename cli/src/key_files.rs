//! Key files named on the command line: cosign public keys, and private keys with their password.

use std::path::{Path, PathBuf};

use anyhow::Context;
use signing::keys::{PrivateKey, PrivateKeyKind, PublicKey};

/// Loads public key files (`cosign.pub`).
pub fn public_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    paths
        .iter()
        .map(|path| {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            PublicKey::from_pem(&pem).with_context(|| path.display().to_string())
        })
        .collect()
}

/// Loads a private key file, asking for its password (`COSIGN_PASSWORD` or a prompt) when it is encrypted.
pub fn private_key(path: &Path) -> anyhow::Result<PrivateKey> {
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let password = match PrivateKeyKind::of_pem(&pem).with_context(|| path.display().to_string())? {
        PrivateKeyKind::Encrypted => crate::password::for_existing_key(path)?,
        _ => String::new(),
    };
    PrivateKey::from_pem(&pem, password.as_bytes()).with_context(|| path.display().to_string())
}
