//! Verification of a local policy module (a file, not in a registry) by a Sigstore bundle kept next to it,
//! `<module>.sigstore.json`. The bundle's in-toto statement names the module's own sha256 as its subject (what
//! [`crate::bundle::sign`] writes when given the module's digest), or it is a message signature of the module
//! (`cosign sign-blob --bundle`); it is checked against a [`VerificationConfig`] by the same verifier as
//! `palisade verify FILE`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use artifact::cosign::{BUNDLE_FILE_SUFFIX, COSIGN_SIGN_PREDICATE};
use artifact::oci::Digest;

use crate::bundle::{self, Bundle};
use crate::config::VerificationConfig;
use crate::error::{Result, SigningError};
use crate::file::{self, FileReport};
use crate::keys::PrivateKey;
use crate::sigstore_verifier::Signed;
use crate::trust::TrustRoot;

/// The bundle file that goes with `module`: `policy.wasm` → `policy.wasm.sigstore.json`.
pub fn bundle_path(module: &Path) -> PathBuf {
    let mut name = module.as_os_str().to_owned();
    name.push(BUNDLE_FILE_SUFFIX);
    PathBuf::from(name)
}

/// A local module whose bundle met a verification config. There is no public constructor: [`verify_file`] is
/// the only way to get one.
#[derive(Debug, Clone)]
pub struct VerifiedFile {
    report: FileReport,
}

impl VerifiedFile {
    /// The module's name as given to [`verify_file`].
    pub fn name(&self) -> &str {
        &self.report.file
    }

    /// The verified digest of the module.
    pub fn digest(&self) -> &Digest {
        &self.report.digest
    }

    /// What was checked, requirement by requirement.
    pub fn report(&self) -> &FileReport {
        &self.report
    }

    /// Checks that `module` is byte for byte the module that was verified.
    pub fn check_module(&self, module: &[u8]) -> Result<()> {
        if self.report.digest.matches(module) {
            return Ok(());
        }
        Err(SigningError::NotVerified {
            reference: self.report.file.clone(),
            reason: format!(
                "the module is not the verified file {} (its digest is {})",
                self.report.digest,
                Digest::sha256_of(module)
            ),
        })
    }
}

/// Signs the module file `module` with `key` (and the signed `annotations`): its Sigstore bundle, over the
/// module's sha256, written atomically to [`bundle_path`], replacing any bundle there. Returns the bundle path.
pub fn sign_file(
    module: &Path,
    key: &PrivateKey,
    annotations: &BTreeMap<String, String>,
) -> Result<PathBuf> {
    let bytes = artifact::files::read(module)?;
    let signed = bundle::sign(key, &Digest::sha256_of(&bytes), annotations).to_bytes();
    let path = bundle_path(module);
    artifact::files::write_atomic(&path, |out| out.write_all(&signed))?;
    Ok(path)
}

/// Verifies `module` (named `name` in messages) by the Sigstore bundle `bundle` kept next to it against
/// `config`, with the one file verifier ([`crate::file::verify_file`]): a message signature of the module, or a
/// DSSE statement naming it whose predicate is a signature's (an SBOM or provenance attestation vouches for a
/// document about the module, not for running it).
pub fn verify_file(
    name: &str,
    module: &[u8],
    bundle: &[u8],
    config: &VerificationConfig,
    trust_root: &TrustRoot,
) -> Result<VerifiedFile> {
    if let Ok(statement) = Bundle::parse(bundle).and_then(|parsed| parsed.statement())
        && statement.predicate_type != COSIGN_SIGN_PREDICATE
    {
        return Err(SigningError::NotVerified {
            reference: name.to_string(),
            reason: format!(
                "its bundle is an attestation (predicate type {}), not a signature",
                statement.predicate_type
            ),
        });
    }
    let bundle_name = format!("{name}{BUNDLE_FILE_SUFFIX}");
    let report = file::verify_file(
        name,
        Signed::Bytes(module),
        &bundle_name,
        bundle,
        config,
        trust_root,
    )
    .into_verified()?;
    Ok(VerifiedFile { report })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> TrustRoot {
        TrustRoot::production().unwrap()
    }

    fn config(key: &PrivateKey) -> VerificationConfig {
        VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new()).unwrap()
    }

    #[test]
    fn a_bundle_of_the_module_digest_verifies_it_and_only_it() {
        let module = b"\0asm\x01\0\0\0";
        let key = PrivateKey::generate().unwrap();
        let signed = bundle::sign(&key, &Digest::sha256_of(module), &BTreeMap::new()).to_bytes();
        let verified = verify_file("p.wasm", module, &signed, &config(&key), &root()).unwrap();
        assert_eq!(verified.digest(), &Digest::sha256_of(module));
        assert_eq!(verified.report().requirements.len(), 1);
        assert!(verified.report().requirements[0].checked.is_some());
        assert!(verified.check_module(module).is_ok());
        assert!(verified.check_module(b"\0asm\x01\0\0\0\0").is_err());

        let other = b"\0asm\x01\0\0\0\x00\x00";
        let err = verify_file("p.wasm", other, &signed, &config(&key), &root()).unwrap_err();
        assert!(err.to_string().contains("p.wasm is not verified"), "{err}");
        let stranger = PrivateKey::generate().unwrap();
        let err = verify_file("p.wasm", module, &signed, &config(&stranger), &root()).unwrap_err();
        assert!(err.to_string().contains("p.wasm is not verified"), "{err}");
        let err = verify_file("p.wasm", module, b"{}", &config(&key), &root()).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not parse as a Sigstore bundle"),
            "{err}"
        );

        // An attestation by the same key over the module is not a signature.
        let statement = bundle::Statement::attestation(
            "p.wasm",
            &Digest::sha256_of(module),
            artifact::cosign::SPDX_PREDICATE,
            serde_json::json!({}),
        );
        let attested = bundle::sign_statement(&key, &statement).to_bytes();
        let err = verify_file("p.wasm", module, &attested, &config(&key), &root()).unwrap_err();
        assert!(err.to_string().contains("an attestation"), "{err}");
    }

    #[test]
    fn the_bundle_sits_next_to_the_module() {
        assert_eq!(
            bundle_path(Path::new("dir/policy.wasm")),
            PathBuf::from("dir/policy.wasm.sigstore.json")
        );
    }

    #[test]
    fn a_signed_file_verifies_by_the_bundle_written_next_to_it() {
        let dir = test_support::tempdir();
        let module = dir.path().join("p.wasm");
        std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
        let key = PrivateKey::generate().unwrap();
        let written = sign_file(&module, &key, &BTreeMap::new()).unwrap();
        assert_eq!(written, dir.path().join("p.wasm.sigstore.json"));
        let bundle = std::fs::read(&written).unwrap();
        verify_file(
            "p.wasm",
            b"\0asm\x01\0\0\0",
            &bundle,
            &config(&key),
            &root(),
        )
        .unwrap();
        let missing = sign_file(&dir.path().join("absent.wasm"), &key, &BTreeMap::new());
        assert!(missing.unwrap_err().to_string().contains("absent.wasm"));
    }
}
