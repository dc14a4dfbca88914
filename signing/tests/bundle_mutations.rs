//! Every good bundle of the Sigstore conformance suite (testdata/sigstore-conformance), mutated field by field
//! (`test_support::bundle_mutation`: a bit of every signature, certificate, log entry body, proof hash,
//! timestamp and digest, ±1 on log indexes, times and tree sizes, every checkpoint line, the removal of every
//! element) and verified as `palisade verify FILE` verifies: no mutation of what was signed may verify.
//! The mutations that may verify (unsigned hints, copies the verifier does not read, redundant evidence) are
//! listed with their reasons in `bundle_mutation::ALLOWED`.

use std::collections::BTreeSet;
use std::time::Instant;

use sha2::{Digest as _, Sha256};
use signing::config::Subject;
use signing::identity::Identity;
use signing::sigstore_verifier::{Signed, Signer};
use signing::trust::TrustRoot;
use test_support::bundle_mutation::{ALLOWED, allowance, mutations};
use test_support::{
    CaseSigner, ConformanceCase, KeylessSigner, SigstoreInstance, conformance_cases,
};

/// The OIDC issuer of the private instance's signer.
const ISSUER: &str = "https://accounts.palisade.test";

/// Mutations of signed content that verify (`CASE`, `MUTATION` as displayed), with why they are not fixed
/// yet. The test fails when this list and what verifies differ, either way.
const KNOWN_FINDINGS: &[(&str, &str, &str)] = &[];

/// The fields the brief of this test names, each of which must be mutated in some case.
const REQUIRED_FIELDS: &[&str] = &[
    "messageSignature.signature",
    "messageSignature.messageDigest.digest",
    "verificationMaterial.certificate.rawBytes",
    "verificationMaterial.x509CertificateChain.certificates[*].rawBytes",
    "verificationMaterial.x509CertificateChain.certificates[*]",
    "verificationMaterial.tlogEntries[*].canonicalizedBody",
    "verificationMaterial.tlogEntries[*].logIndex",
    "verificationMaterial.tlogEntries[*].integratedTime",
    "verificationMaterial.tlogEntries[*].inclusionPromise.signedEntryTimestamp",
    "verificationMaterial.tlogEntries[*].inclusionProof.hashes[*]",
    "verificationMaterial.tlogEntries[*].inclusionProof.checkpoint.envelope#*",
    "verificationMaterial.tlogEntries[*].inclusionProof.checkpoint.envelope#*.signature",
    "verificationMaterial.tlogEntries[*]",
    "verificationMaterial.timestampVerificationData.rfc3161Timestamps[*].signedTimestamp",
    "verificationMaterial.timestampVerificationData.rfc3161Timestamps[*]",
    "dsseEnvelope.payload",
    "dsseEnvelope.payloadType",
    "dsseEnvelope.signatures[*].sig",
];

/// What happened to one case's mutations.
#[derive(Default)]
struct Outcome {
    tried: usize,
    allowed: usize,
    findings: Vec<String>,
    unexpected: Vec<String>,
}

fn verify(case: &ConformanceCase, trust_root: &TrustRoot, bundle: &[u8]) -> Result<(), String> {
    let identity;
    let signer = match &case.signer {
        CaseSigner::Key(pem) => Signer::KeyPem(pem),
        CaseSigner::Identity {
            identity: san,
            issuer,
        } => {
            identity = Identity::Issuer {
                issuer: issuer.clone(),
                subject: Subject::Equal(san.clone()),
            };
            Signer::Identity(&identity)
        }
    };
    trust_root
        .verifier()
        .verify(Signed::Bytes(&case.artifact), bundle, signer)
        .map(|_| ())
}

fn run(
    case: &ConformanceCase,
    used: &mut BTreeSet<usize>,
    fields: &mut BTreeSet<String>,
) -> Outcome {
    let trust_root = match &case.trusted_root {
        Some(root) => TrustRoot::from_trusted_root_json(root),
        None => TrustRoot::production(),
    }
    .unwrap_or_else(|err| panic!("{}: the trust root: {err}", case.name));
    let bundle: serde_json::Value = serde_json::from_slice(&case.bundle)
        .unwrap_or_else(|err| panic!("{}: the bundle: {err}", case.name));
    let keyed = matches!(case.signer, CaseSigner::Key(_));
    verify(case, &trust_root, &case.bundle)
        .unwrap_or_else(|err| panic!("{}: the unmutated bundle: {err}", case.name));
    let mut outcome = Outcome::default();
    for mutation in mutations(&bundle) {
        let mutated = mutation
            .apply(&bundle)
            .expect("mutations() lists only mutations that apply");
        let json = serde_json::to_vec(&mutated).expect("JSON values serialize");
        outcome.tried += 1;
        fields.insert(mutation.field_pattern());
        if verify(case, &trust_root, &json).is_err() {
            continue;
        }
        let shown = mutation.to_string();
        if let Some(allowed) = allowance(&bundle, &mutation, keyed) {
            outcome.allowed += 1;
            used.extend(ALLOWED.iter().position(|a| a == allowed));
        } else if KNOWN_FINDINGS
            .iter()
            .any(|(name, known, _)| *name == case.name && *known == shown)
        {
            outcome.findings.push(shown);
        } else {
            outcome.unexpected.push(format!("{}: {shown}", case.name));
        }
    }
    outcome
}

#[test]
fn no_mutation_of_what_a_good_bundle_signed_verifies() {
    let started = Instant::now();
    let mut used = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let mut total = 0;
    let mut findings = BTreeSet::new();
    let mut unexpected = Vec::new();
    let cases: Vec<ConformanceCase> = conformance_cases()
        .into_iter()
        .filter(|case| !case.must_fail())
        .collect();
    assert_eq!(cases.len(), 21, "the suite's 21 good bundles");
    for case in &cases {
        let outcome = run(case, &mut used, &mut fields);
        println!(
            "{}: {} mutations, {} refused, {} allowed to verify, {} known findings",
            case.name,
            outcome.tried,
            outcome.tried - outcome.allowed - outcome.findings.len() - outcome.unexpected.len(),
            outcome.allowed,
            outcome.findings.len()
        );
        assert!(
            outcome.tried >= 80,
            "{}: only {} mutations",
            case.name,
            outcome.tried
        );
        total += outcome.tried;
        findings.extend(
            outcome
                .findings
                .into_iter()
                .map(|shown| (case.name.clone(), shown)),
        );
        unexpected.extend(outcome.unexpected);
    }
    println!(
        "{total} mutations of {} bundles in {:.1?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        unexpected.is_empty(),
        "mutations of signed content that verify:\n{}",
        unexpected.join("\n")
    );
    let expected: BTreeSet<(String, String)> = KNOWN_FINDINGS
        .iter()
        .map(|(name, shown, _)| (name.to_string(), shown.to_string()))
        .collect();
    assert_eq!(
        findings, expected,
        "known findings that no longer verify (remove them)"
    );
    let unused: Vec<&str> = ALLOWED
        .iter()
        .enumerate()
        .filter(|(index, _)| !used.contains(index))
        .map(|(_, allowed)| allowed.field)
        .collect();
    assert!(
        unused.is_empty(),
        "allowances no mutation needed (remove them): {unused:?}"
    );
    let missing: Vec<&&str> = REQUIRED_FIELDS
        .iter()
        .filter(|field| !fields.contains(**field))
        .collect();
    assert!(missing.is_empty(), "fields never mutated: {missing:?}");
}

#[test]
fn no_mutation_of_a_private_instance_keyless_bundle_verifies() {
    // A keyless cosign v3 bundle with an inclusion proof of several hashes, made by test_support's Sigstore
    // instance over a manifest, mutated as the suite's bundles are.
    let sigstore = SigstoreInstance::new();
    let manifest = br#"{"schemaVersion":2,"layers":[]}"#.to_vec();
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&manifest)));
    let case = ConformanceCase {
        name: "private-instance-dsse".into(),
        bundle: sigstore.sign_manifest(&KeylessSigner::email("alice@example.com", ISSUER), &digest),
        artifact: manifest,
        trusted_root: Some(sigstore.trusted_root_json()),
        signer: CaseSigner::Identity {
            identity: "alice@example.com".into(),
            issuer: ISSUER.into(),
        },
    };
    let outcome = run(&case, &mut BTreeSet::new(), &mut BTreeSet::new());
    println!(
        "{}: {} mutations, {} allowed to verify",
        case.name, outcome.tried, outcome.allowed
    );
    assert!(outcome.tried >= 80, "only {} mutations", outcome.tried);
    assert!(
        outcome.unexpected.is_empty() && outcome.findings.is_empty(),
        "mutations of signed content that verify:\n{}",
        outcome.unexpected.join("\n")
    );
}
