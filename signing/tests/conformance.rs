//! The Sigstore client conformance suite's bundle-verify cases (testdata/sigstore-conformance, see its README),
//! each run through `signing::file::verify_file` — the code behind `palisade verify FILE` — with the case's
//! bundle, artifact, trusted root and identity or key: every case must get the suite's verdict (a directory
//! ending in `_fail` must be refused, every other one verified).

use artifact::oci::Digest;
use signing::config::VerificationConfig;
use signing::file::verify_file;
use signing::sigstore_verifier::Signed;
use signing::trust::TrustRoot;
use test_support::{ConformanceCase, conformance_case, conformance_cases, conformance_suite};

/// Cases (`NAME`, or `NAME (digest)` for the run by digest) that do not get the suite's verdict yet, with the
/// reason. The test fails when one of them starts
/// passing (remove it here) as well as when any other case fails.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

/// The verification config a case asks for: its key, or its identity and issuer (a malformed key is refused
/// here, as `palisade verify` refuses it).
fn config_of(case: &ConformanceCase) -> Result<VerificationConfig, String> {
    VerificationConfig::from_yaml(&case.signer.verification_config()).map_err(|e| e.to_string())
}

/// Runs one case, with the artifact's bytes or (as the suite also does) only its digest: whether it was
/// verified, and the failure when not.
fn run_case(case: &ConformanceCase, by_digest: bool) -> Result<(), String> {
    let trust_root = match &case.trusted_root {
        Some(root) => TrustRoot::from_trusted_root_json(root),
        None => TrustRoot::production(),
    }
    .map_err(|e| e.to_string())?;
    let digest = Digest::sha256_of(&case.artifact);
    let report = verify_file(
        "artifact",
        if by_digest {
            Signed::Digest(&digest)
        } else {
            Signed::Bytes(&case.artifact)
        },
        "bundle.sigstore.json",
        &case.bundle,
        &config_of(case)?,
        &trust_root,
    );
    match report.failure {
        None => Ok(()),
        Some(failure) => Err(failure),
    }
}

#[test]
fn every_bundle_verify_case_gets_the_suites_verdict() {
    let cases = conformance_cases();
    assert_eq!(cases.len(), 70, "the suite's 70 bundle-verify cases");

    let mut right = 0;
    let mut wrong = Vec::new();
    let mut listed_but_right = Vec::new();
    for case in &cases {
        let name = &case.name;
        for by_digest in [false, true] {
            let name = if by_digest {
                format!("{name} (digest)")
            } else {
                name.to_string()
            };
            let outcome = run_case(case, by_digest);
            let correct = outcome.is_err() == case.must_fail();
            let listed = KNOWN_FAILURES.iter().any(|(case, _)| *case == name);
            match (correct, listed) {
                (true, false) => right += 1,
                (true, true) => listed_but_right.push(name),
                (false, true) => {}
                (false, false) => wrong.push(match outcome {
                    Ok(()) => format!("{name}: accepted, must be refused"),
                    Err(reason) => format!("{name}: refused, must verify: {reason}"),
                }),
            }
        }
    }
    println!(
        "sigstore-conformance bundle-verify: {right}/{} runs right (70 cases, by path and by digest), {} known failures",
        cases.len() * 2,
        KNOWN_FAILURES.len()
    );
    assert!(
        wrong.is_empty(),
        "cases without the suite's verdict:\n{}",
        wrong.join("\n")
    );
    assert!(
        listed_but_right.is_empty(),
        "known failures that now pass (remove them from KNOWN_FAILURES): {listed_but_right:?}"
    );
}

#[test]
fn a_refusal_names_the_failed_check() {
    let refused = run_case(
        &conformance_case(&conformance_suite().join("checkpoint-wrong-roothash_fail")),
        false,
    )
    .expect_err("a checkpoint with the wrong root hash is refused");
    assert!(refused.contains("checkpoint"), "{refused}");
}
