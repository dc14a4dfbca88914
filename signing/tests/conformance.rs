//! The Sigstore client conformance suite's bundle-verify cases (testdata/sigstore-conformance, see its README),
//! each run through `signing::file::verify_file` — the code behind `palisade verify FILE` — with the case's
//! bundle, artifact, trusted root and identity or key: every case must get the suite's verdict (a directory
//! ending in `_fail` must be refused, every other one verified).

use std::path::{Path, PathBuf};

use artifact::oci::Digest;
use signing::config::{Requirement, Subject, VerificationConfig};
use signing::file::verify_file;
use signing::sigstore_verifier::{Signed, SigstoreVerifier};

/// The suite's defaults, for cases that name no identity or issuer.
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases (`NAME`, or `NAME (digest)` for the run by digest) that do not get the suite's verdict yet, with the
/// reason. The test fails when one of them starts
/// passing (remove it here) as well as when any other case fails.
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sigstore-conformance")
}

fn read_text(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The verification config a case asks for: its key, or its identity and issuer (a malformed key is refused
/// here, as `palisade verify` refuses it).
fn config_of(dir: &Path) -> Result<VerificationConfig, String> {
    let requirement = match std::fs::read_to_string(dir.join("key.pub")) {
        Ok(key) => Requirement::PubKey {
            owner: None,
            key,
            annotations: None,
        },
        Err(_) => Requirement::GenericIssuer {
            issuer: read_text(dir, "issuer").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            subject: Subject::Equal(
                read_text(dir, "identity").unwrap_or_else(|| DEFAULT_IDENTITY.into()),
            ),
            annotations: None,
        },
    };
    VerificationConfig::all_of(vec![requirement]).map_err(|e| e.to_string())
}

/// Runs one case, with the artifact's bytes or (as the suite also does) only its digest: whether it was
/// verified, and the failure when not.
fn run_case(dir: &Path, by_digest: bool) -> Result<(), String> {
    let verifier = match std::fs::read(dir.join("trusted_root.json")) {
        Ok(root) => SigstoreVerifier::from_trusted_root_json(&root),
        Err(_) => SigstoreVerifier::production(),
    }
    .map_err(|e| e.to_string())?;
    let artifact_path = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        suite().join("a.txt")
    };
    let artifact = std::fs::read(&artifact_path).expect("the case's artifact is readable");
    let digest = Digest::sha256_of(&artifact);
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).expect("the case's bundle");
    let report = verify_file(
        "artifact",
        if by_digest {
            Signed::Digest(&digest)
        } else {
            Signed::Bytes(&artifact)
        },
        "bundle.sigstore.json",
        &bundle,
        &config_of(dir)?,
        &verifier,
    );
    match report.failure {
        None => Ok(()),
        Some(failure) => Err(failure),
    }
}

#[test]
fn every_bundle_verify_case_gets_the_suites_verdict() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(suite())
        .expect("testdata/sigstore-conformance exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite's 70 bundle-verify cases");

    let mut right = 0;
    let mut wrong = Vec::new();
    let mut listed_but_right = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("case names are UTF-8");
        for by_digest in [false, true] {
            let name = if by_digest {
                format!("{name} (digest)")
            } else {
                name.to_string()
            };
            let must_fail = name.contains("_fail");
            let outcome = run_case(dir, by_digest);
            let correct = outcome.is_err() == must_fail;
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
    let refused = run_case(&suite().join("checkpoint-wrong-roothash_fail"), false)
        .expect_err("a checkpoint with the wrong root hash is refused");
    assert!(refused.contains("checkpoint"), "{refused}");
}
