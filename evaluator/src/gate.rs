//! The gate: the only way to a runnable policy is an [`AdmittedModule`], and the only ways to an
//! `AdmittedModule` are
//! - a [`signing::verify::VerifiedArtifact`] together with module bytes that are exactly its verified Wasm
//!   layer ([`AdmittedModule::verified`]; [`admit_from_registry`] verifies, then takes the module of the
//!   verified digest from the [`LocalStore`] or pulls it by that digest);
//! - a local module whose Sigstore bundle (`<module>.sigstore.json`) met the verification config
//!   ([`AdmittedModule::verified_file`]; [`admit_file`] reads both);
//! - [`AdmittedModule::insecure`], for development, which logs a warning every time it is used.
//!
//! Every loader of the engine (`Policy::load`, `Engine::load_wapc`, …) takes an
//! `AdmittedModule`, so code that skips verification does not compile. A verification that fails for any
//! reason (signatures, trust root, network, registry) is an error: nothing falls through to "run anyway".
//!
//! Compiled code taken from a registry instead of compiling (`precompiled.rs`) never bypasses the gate:
//! it is only loadable as a `precompiled::VerifiedPrecompiled`, which only its verification makes, an
//! engine takes it only for the `AdmittedModule` whose digest it was compiled from, and it stands in only for
//! the compilation of exactly the Wasm each of its layers names.
//!
//! Raw bytes do not load:
//!
//! ```compile_fail
//! # fn main() -> Result<(), evaluator::EvaluatorError> {
//! let engine = evaluator::Engine::new(evaluator::EngineConfig::default())?;
//! let policy = engine.load_wapc(&b"\0asm\x01\0\0\0".to_vec())?;
//! # Ok(()) }
//! ```
//!
//! and an `AdmittedModule` cannot be made from parts:
//!
//! ```compile_fail
//! let module = evaluator::AdmittedModule { source: String::new(), bytes: Vec::new().into(), provenance: evaluator::gate::Provenance::Unverified };
//! ```

use std::path::Path;
use std::sync::Arc;

use artifact::oci::Digest;
use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{PolicyRef, RegistryRef};
use client::layout::Layout;
use client::remote::Remote;
use client::store::Store;
use signing::config::VerificationConfig;
use signing::local::{VerifiedFile, bundle_path, verify_file};
use signing::trust::TrustRoot;
use signing::verify::VerifiedArtifact;

use crate::error::{EvaluatorError, Refusal};

/// How a module got through the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// The Wasm layer of a verified registry manifest.
    Registry {
        /// The verified manifest digest.
        manifest_digest: Digest,
    },
    /// A local file verified by the Sigstore bundle next to it.
    Bundle {
        /// The verified digest of the file.
        digest: Digest,
    },
    /// Admitted without verification ([`AdmittedModule::insecure`]).
    Unverified,
}

/// Module bytes that passed the gate: what the engine compiles, and nothing else.
#[derive(Clone)]
pub struct AdmittedModule {
    source: String,
    bytes: Arc<[u8]>,
    provenance: Provenance,
}

impl std::fmt::Debug for AdmittedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmittedModule")
            .field("source", &self.source)
            .field("size", &self.bytes.len())
            .field("provenance", &self.provenance)
            .finish()
    }
}

impl AdmittedModule {
    /// Admits `module` if it is exactly the Wasm layer of the verified manifest (digest and size).
    pub fn verified(
        artifact: &VerifiedArtifact,
        module: Vec<u8>,
    ) -> Result<AdmittedModule, EvaluatorError> {
        artifact
            .check_module(&module)
            .map_err(|err| refused(artifact.reference(), err))?;
        Ok(AdmittedModule {
            source: artifact.reference().to_string(),
            bytes: module.into(),
            provenance: Provenance::Registry {
                manifest_digest: artifact.manifest_digest().clone(),
            },
        })
    }

    /// Admits `module` if it is byte for byte the file its bundle verified.
    pub fn verified_file(
        file: &VerifiedFile,
        module: Vec<u8>,
    ) -> Result<AdmittedModule, EvaluatorError> {
        file.check_module(&module)
            .map_err(|err| refused(file.name(), err))?;
        Ok(AdmittedModule {
            source: file.name().to_string(),
            bytes: module.into(),
            provenance: Provenance::Bundle {
                digest: file.digest().clone(),
            },
        })
    }

    /// Admits `module` without any verification, for development (`--insecure-skip-verification`). Logs a
    /// warning every time.
    pub fn insecure(source: impl Into<String>, module: Vec<u8>) -> AdmittedModule {
        let source = source.into();
        tracing::warn!(policy = %source, "running a policy whose signatures were NOT verified (insecure-skip-verification)");
        AdmittedModule {
            source,
            bytes: module.into(),
            provenance: Provenance::Unverified,
        }
    }

    /// Where the module came from (a reference or a file name), for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The module bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How the module was admitted.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }
}

/// What a policy must meet to be admitted.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The requirements (Kubewarden's verification config).
    pub config: VerificationConfig,
    /// The trust root keyless requirements are checked against (a given `trusted_root.json`, or the Sigstore
    /// public-good root built in).
    pub trust_root: TrustRoot,
}

/// Whether policies are verified before they run.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Every policy must meet this verification.
    Verify(Verification),
    /// Nothing is verified (development only; every admission logs a warning).
    InsecureSkipVerification,
}

/// The local store registry policies are kept in once admitted, so that a later start (or reload) takes
/// them from there instead of downloading them again. Their signatures are checked all the same.
#[derive(Debug, Clone)]
pub struct LocalStore {
    /// The store.
    pub store: Store,
    /// Download every policy again, even one the store holds.
    pub refresh: bool,
}

/// Fetches the policy at `source` and admits it as `admission` says: verified (registry signatures of both
/// cosign layouts, or the Sigstore bundle next to a file), or not at all. An OCI layout folder carries no
/// signatures, so it is only admitted without verification. A registry policy comes from `store` when it
/// holds it (see [`client::distribute::fetch`]).
pub async fn admit(
    remote: &Remote,
    source: &PolicyRef,
    admission: &Admission,
    store: Option<&LocalStore>,
) -> Result<AdmittedModule, EvaluatorError> {
    match (admission, source) {
        (Admission::Verify(verification), PolicyRef::Registry(reference)) => {
            admit_from_registry(remote, reference, verification, store).await
        }
        (Admission::Verify(verification), PolicyRef::File(path)) => admit_file(path, verification),
        (Admission::Verify(_), PolicyRef::Layout(_)) => {
            Err(refused(source, Refusal::UnsignedLayout))
        }
        (Admission::InsecureSkipVerification, PolicyRef::Registry(reference)) => {
            let pulled = fetch(remote, reference, None, store).await?;
            Ok(AdmittedModule::insecure(
                reference.with_digest(pulled.digest()).to_string(),
                pulled.module,
            ))
        }
        (Admission::InsecureSkipVerification, PolicyRef::Layout(layout)) => {
            let policy = Layout::open(&layout.folder)
                .and_then(|opened| opened.policy(&layout.name))
                .map_err(|err| refused(source, err))?;
            Ok(AdmittedModule::insecure(source.to_string(), policy.module))
        }
        (Admission::InsecureSkipVerification, PolicyRef::File(path)) => Ok(
            AdmittedModule::insecure(path.display().to_string(), read(path)?),
        ),
    }
}

/// Resolves `reference`, verifies its signatures (both layouts) against `verification`, fetches the policy
/// of the verified manifest digest (from `store` when it holds it) and admits its module if it is the
/// verified layer.
pub async fn admit_from_registry(
    remote: &Remote,
    reference: &RegistryRef,
    verification: &Verification,
    store: Option<&LocalStore>,
) -> Result<AdmittedModule, EvaluatorError> {
    let checked = signing::registry::check(
        remote,
        reference,
        &verification.config,
        Some(&verification.trust_root),
    )
    .await
    .map_err(|err| refused(reference, err))?;
    let verified = checked.verified.map_err(|err| refused(reference, err))?;
    let pulled = fetch(remote, reference, Some(verified.manifest_digest()), store).await?;
    AdmittedModule::verified(&verified, pulled.module)
}

/// The policy at `reference` (of manifest `digest`, when it is known): from the store when it holds it
/// ([`client::distribute::fetch`], which downloads and keeps it otherwise), else pulled into memory.
async fn fetch(
    remote: &Remote,
    reference: &RegistryRef,
    digest: Option<&Digest>,
    store: Option<&LocalStore>,
) -> Result<PolicyArtifact, EvaluatorError> {
    let pinned = match digest {
        Some(digest) => reference.with_digest(digest.clone()),
        None => reference.clone(),
    };
    let fetched = match store {
        Some(local) => {
            client::distribute::fetch(remote, &local.store, reference, digest, local.refresh)
                .await
                .map(|pulled| pulled.artifact)
        }
        None => remote.pull(&pinned).await,
    };
    fetched.map_err(|err| refused(&pinned, err))
}

/// Reads the module at `path` and its bundle `<path>.sigstore.json`, and admits the module if the bundle
/// meets `verification`.
pub fn admit_file(
    path: &Path,
    verification: &Verification,
) -> Result<AdmittedModule, EvaluatorError> {
    let module = read(path)?;
    let bundle_file = bundle_path(path);
    let bundle = std::fs::read(&bundle_file).map_err(|source| {
        let cause = Refusal::NoBundle {
            path: bundle_file.clone(),
            source,
        };
        refused(path.display(), cause)
    })?;
    let name = path.display().to_string();
    let verified = verify_file(
        &name,
        &module,
        &bundle,
        &verification.config,
        &verification.trust_root,
    )
    .map_err(|err| refused(&name, err))?;
    AdmittedModule::verified_file(&verified, module)
}

fn read(path: &Path) -> Result<Vec<u8>, EvaluatorError> {
    std::fs::read(path).map_err(|source| EvaluatorError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The gate's refusal of `policy`, with the error that decided it.
fn refused(policy: impl std::fmt::Display, cause: impl Into<Refusal>) -> EvaluatorError {
    EvaluatorError::NotAdmitted {
        policy: policy.to_string(),
        cause: cause.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use artifact::oci::manifest::{Descriptor, ImageManifest};
    use artifact::oci::media_types;
    use signing::keys::PrivateKey;
    use signing::simple_signing;
    use signing::verify::{Evidence, verify};

    use super::*;

    /// A signed manifest whose Wasm layer is `module`, verified against the signing key.
    fn verified_artifact(module: &[u8]) -> Result<VerifiedArtifact, signing::SigningError> {
        let manifest = ImageManifest::new(
            Descriptor::of(media_types::WASM_CONFIG, b"{}"),
            vec![Descriptor::of(media_types::WASM_LAYER, module)],
        );
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|err| signing::SigningError::MalformedManifest(err.to_string()))?;
        let digest = Digest::sha256_of(&bytes);
        let key = PrivateKey::generate()?;
        let mut evidence = Evidence::new();
        evidence.add_signature(&simple_signing::sign(
            &key,
            "r/p",
            &digest,
            &BTreeMap::new(),
        ));
        let config = VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?;
        verify("r/p:v1", &digest, &bytes, &evidence, &config)
    }

    #[test]
    fn only_the_verified_layer_is_admitted() -> Result<(), Box<dyn std::error::Error>> {
        let module = test_support::compile_fixture("wapc-accept");
        let verified = verified_artifact(&module)?;
        let admitted = AdmittedModule::verified(&verified, module.clone())?;
        assert_eq!(admitted.bytes(), &module[..]);
        assert!(matches!(admitted.provenance(), Provenance::Registry { .. }));

        // The layer swapped for another module after verification.
        let swapped = test_support::compile_fixture("wapc-reject");
        let err = AdmittedModule::verified(&verified, swapped).map_err(|e| e.describe());
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("refusing to run r/p:v1")
                    && e.contains("not the verified layer")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn a_file_without_its_bundle_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = test_support::tempdir();
        let file = test_support::write_fixture(dir.path(), "wapc-accept");
        let key = PrivateKey::generate()?;
        let verification = Verification {
            config: VerificationConfig::for_keys(&[key.public_key().to_pem()], &BTreeMap::new())?,
            trust_root: TrustRoot::production().unwrap(),
        };
        let err = admit_file(&file, &verification)
            .map(|_| ())
            .map_err(|e| e.describe());
        assert!(
            err.as_ref()
                .is_err_and(|e| e.contains("no Sigstore bundle") && e.contains("No such file")),
            "{err:?}"
        );

        // Signed by another key: refused; by the right key: admitted.
        let module = std::fs::read(&file)?;
        let stranger = PrivateKey::generate()?;
        let write_bundle = |key: &PrivateKey| {
            let bundle = signing::bundle::sign(key, &Digest::sha256_of(&module), &BTreeMap::new());
            std::fs::write(bundle_path(&file), bundle.to_bytes())
        };
        write_bundle(&stranger)?;
        // The signing error that decided it is kept, typed.
        assert!(matches!(
            admit_file(&file, &verification),
            Err(EvaluatorError::NotAdmitted {
                cause: Refusal::Signing(signing::SigningError::NotVerified { .. }),
                ..
            })
        ));
        write_bundle(&key)?;
        let admitted = admit_file(&file, &verification)?;
        assert!(matches!(admitted.provenance(), Provenance::Bundle { .. }));
        Ok(())
    }
}
