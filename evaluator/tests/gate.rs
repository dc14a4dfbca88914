//! The gate admits a local module by any bundle `palisade verify FILE` accepts: here the Sigstore conformance
//! suite's message-signature bundles (`cosign sign-blob --bundle`), keyless with Rekor v1 and v2 and by a managed
//! key, each kept next to the module as `<module>.sigstore.json`.

use std::path::Path;

use evaluator::gate::{Provenance, Verification, admit_file};
use signing::config::VerificationConfig;
use signing::trust::TrustRoot;
use test_support::{CaseSigner, ConformanceCase, conformance_case, conformance_suite};

fn case(name: &str) -> ConformanceCase {
    conformance_case(&conformance_suite().join(name))
}

/// The case's artifact as `policy.wasm` in `dir`, its bundle next to it.
fn lay_out(case: &ConformanceCase, dir: &Path) -> std::path::PathBuf {
    let module = dir.join("policy.wasm");
    std::fs::write(&module, &case.artifact).unwrap();
    std::fs::write(dir.join("policy.wasm.sigstore.json"), &case.bundle).unwrap();
    module
}

fn verification(case: &ConformanceCase, signer: &CaseSigner) -> Verification {
    let trust_root = match &case.trusted_root {
        Some(root) => TrustRoot::from_trusted_root_json(root).unwrap(),
        None => TrustRoot::production().unwrap(),
    };
    Verification {
        config: VerificationConfig::from_yaml(&signer.verification_config()).unwrap(),
        trust_root,
    }
}

#[test]
fn message_signature_bundles_admit_the_module_they_sign() {
    for name in [
        "happy-path-v0.3",
        "rekor2-happy-path",
        "managed-key-happy-path",
    ] {
        let case = case(name);
        let dir = test_support::tempdir();
        let module = lay_out(&case, dir.path());
        let admitted = admit_file(&module, &verification(&case, &case.signer))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(admitted.bytes(), case.artifact.as_slice(), "{name}");
        assert!(
            matches!(admitted.provenance(), Provenance::Bundle { digest } if digest.matches(&case.artifact)),
            "{name}"
        );
    }
}

#[test]
fn a_message_signature_admits_nothing_else() {
    let case = case("happy-path-v0.3");
    let dir = test_support::tempdir();
    let module = lay_out(&case, dir.path());

    let stranger = CaseSigner::Identity {
        identity: "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    };
    let err = admit_file(&module, &verification(&case, &stranger)).unwrap_err();
    assert!(
        err.describe().contains("SubjectAltName"),
        "{}",
        err.describe()
    );

    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let err = admit_file(&module, &verification(&case, &case.signer)).unwrap_err();
    assert!(
        err.describe().contains("not verified"),
        "{}",
        err.describe()
    );
}
