//! Keyless (certificate-based) verification of a real cosign v3 bundle — a Kubewarden release signed in GitHub
//! Actions — against the Sigstore public-good trusted_root.json, offline, with Kubewarden's identity rules.

use std::path::PathBuf;

use artifact::cosign::SIGSTORE_BUNDLE_V03;
use artifact::oci::Digest;
use artifact::oci::manifest::Descriptor;
use signing::config::VerificationConfig;
use signing::identity::Identity;
use signing::simple_signing::Signature;
use signing::trust::TrustRoot;
use signing::verify::{Evidence, Report, evaluate, evaluate_with_trust_root};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/signing")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn digest() -> Digest {
    "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172"
        .parse()
        .unwrap()
}

fn evidence(bundle: &[u8]) -> Evidence {
    let mut evidence = Evidence::new();
    evidence.add_bundle(None, &Descriptor::of(SIGSTORE_BUNDLE_V03, bundle), bundle);
    evidence
}

fn check(config: &str, bundle: &[u8], trust_root: Option<&TrustRoot>, digest: &Digest) -> Report {
    let config = VerificationConfig::from_yaml(&format!("apiVersion: v1\n{config}")).unwrap();
    evaluate_with_trust_root(
        "ghcr.io/kubewarden/kubewarden-controller",
        digest,
        &evidence(bundle),
        &config,
        trust_root,
    )
    .unwrap()
}

fn public_good() -> TrustRoot {
    TrustRoot::from_trusted_root_json(&fixture("sigstore-public-good-trusted-root.json")).unwrap()
}

const KUBEWARDEN_CONTROLLER: &str =
    "allOf:\n  - kind: githubAction\n    owner: kubewarden\n    repo: kubewarden-controller\n";

#[test]
fn github_action_and_generic_issuer_requirements_are_met() {
    let root = public_good();
    let bundle = fixture("cosign-v3-bundle.json");
    for config in [
        KUBEWARDEN_CONTROLLER,
        "allOf:\n  - kind: githubAction\n    owner: kubewarden\n",
        "allOf:\n  - kind: genericIssuer\n    issuer: https://token.actions.githubusercontent.com\n    subject:\n      equal: https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0\n",
        "allOf:\n  - kind: genericIssuer\n    issuer: https://token.actions.githubusercontent.com\n    subject:\n      urlPrefix: https://github.com/kubewarden\n",
    ] {
        let report = check(config, &bundle, Some(&root), &digest());
        assert!(report.verified, "{config}: {:?}", report.failure);
        assert_eq!(
            report.requirements[0].signed_at,
            ["2026-04-09T07:23:29Z"],
            "the log entry's integrated time"
        );
    }
    // A PEM-or-JSON reader picks the format by content.
    TrustRoot::from_file_bytes(&fixture("sigstore-public-good-trusted-root.json")).unwrap();
}

#[test]
fn a_client_trust_config_is_read_as_its_trusted_root() {
    let bundle = fixture("cosign-v3-bundle.json");
    let config = fixture("sigstore-public-good-client-trust-config.json");
    for root in [
        TrustRoot::from_client_trust_config_json(&config).unwrap(),
        // Told apart from a trusted_root.json by content.
        TrustRoot::from_file_bytes(&config).unwrap(),
    ] {
        let report = check(KUBEWARDEN_CONTROLLER, &bundle, Some(&root), &digest());
        assert!(report.verified, "{:?}", report.failure);
    }
    // Without the trusted root, nothing to trust: the signature is not verified.
    let report = check(KUBEWARDEN_CONTROLLER, &bundle, None, &digest());
    assert!(!report.verified);
}

#[test]
fn broken_trust_root_files_say_what_is_wrong() {
    for (bytes, expected) in [
        (
            &br#"{"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"}"#[..],
            "the ClientTrustConfig has no trustedRoot",
        ),
        (
            br#"{"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "trustedRoot": 7}"#,
            "not a Sigstore ClientTrustConfig",
        ),
        (
            br#"{"trustedRoot": {"certificateAuthorities": []}}"#,
            "no certificateAuthorities",
        ),
        (br#"{"tlogs": "x"}"#, "no certificateAuthorities"),
        (
            br#"{"certificateAuthorities": [{"certChain": 7}]}"#,
            "not a Sigstore trusted root",
        ),
        (b"{", "not a Sigstore trusted_root.json"),
        (b"hello", "not JSON"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "trusted_root.json"),
    ] {
        let err = TrustRoot::from_file_bytes(bytes).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn other_identities_are_refused_naming_the_field() {
    let root = public_good();
    let bundle = fixture("cosign-v3-bundle.json");
    for (config, expected) in [
        (
            "allOf:\n  - kind: githubAction\n    owner: kubewarden-evil\n",
            "GitHub workflow repository",
        ),
        (
            "allOf:\n  - kind: githubAction\n    owner: kubewarden\n    repo: policy-server\n",
            "GitHub workflow repository",
        ),
        (
            "allOf:\n  - kind: genericIssuer\n    issuer: https://accounts.google.com\n    subject:\n      equal: alice@example.com\n",
            "OIDC issuer",
        ),
        (
            "allOf:\n  - kind: genericIssuer\n    issuer: https://token.actions.githubusercontent.com\n    subject:\n      urlPrefix: https://github.com/kube\n",
            "SubjectAltName",
        ),
    ] {
        let report = check(config, &bundle, Some(&root), &digest());
        let failure = report.failure.unwrap_or_default();
        assert!(
            !report.verified && failure.contains(expected),
            "{config}: {failure}"
        );
    }
}

#[test]
fn keyless_needs_a_trust_root_the_right_digest_and_a_trusted_ca() {
    let bundle = fixture("cosign-v3-bundle.json");
    let report = check(KUBEWARDEN_CONTROLLER, &bundle, None, &digest());
    assert!(report.failure.unwrap().contains("needs a trust root"));
    let config =
        VerificationConfig::from_yaml(&format!("apiVersion: v1\n{KUBEWARDEN_CONTROLLER}")).unwrap();
    assert!(
        !evaluate("r", &digest(), &evidence(&bundle), &config)
            .unwrap()
            .verified
    );

    let other: Digest = format!("sha256:{}", "1".repeat(64)).parse().unwrap();
    let report = check(KUBEWARDEN_CONTROLLER, &bundle, Some(&public_good()), &other);
    assert!(report.failure.unwrap().contains("another artifact"));

    // A trust root without the CA that issued the certificate (only the 2021 root).
    let mut json: serde_json::Value =
        serde_json::from_slice(&fixture("sigstore-public-good-trusted-root.json")).unwrap();
    json["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let old_root = TrustRoot::from_trusted_root_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let report = check(KUBEWARDEN_CONTROLLER, &bundle, Some(&old_root), &digest());
    let failure = report.failure.unwrap();
    assert!(
        failure.contains("no trusted certificate authority"),
        "{failure}"
    );
}

#[test]
fn a_forged_signing_time_fails_the_signed_entry_timestamp() {
    let mut json: serde_json::Value =
        serde_json::from_slice(&fixture("cosign-v3-bundle.json")).unwrap();
    json["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1775719999".into();
    let bundle = serde_json::to_vec(&json).unwrap();
    let report = check(
        KUBEWARDEN_CONTROLLER,
        &bundle,
        Some(&public_good()),
        &digest(),
    );
    let failure = report.failure.unwrap();
    assert!(
        failure.contains("invalid inclusion promise: SET verification failed"),
        "{failure}"
    );
    // Without any tlog entry there is no proof of inclusion and no signing time.
    json["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    let bundle = serde_json::to_vec(&json).unwrap();
    let report = check(
        KUBEWARDEN_CONTROLLER,
        &bundle,
        Some(&public_good()),
        &digest(),
    );
    let failure = report.failure.unwrap();
    assert!(
        failure.contains("must have an inclusion proof"),
        "{failure}"
    );
}

#[test]
fn trust_root_files_are_checked() {
    assert!(TrustRoot::from_trusted_root_json(b"{\"mediaType\": \"x\"}").is_err());
    assert!(
        TrustRoot::from_trusted_root_json(b"{}")
            .unwrap_err()
            .to_string()
            .contains("no certificateAuthorities")
    );
    assert!(
        TrustRoot::from_file_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
}

/// A keyless `.sig` layer cosign wrote in 2026 in GitHub Actions (hashedrekord entry, SCT, chain), read from its
/// signature manifest, and its payload.
fn keyless_layer() -> (Descriptor, Signature) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&fixture("cosign-keyless-2026.sig-manifest.json")).unwrap();
    let descriptor: Descriptor = serde_json::from_value(manifest["layers"][0].clone()).unwrap();
    let payload = fixture("cosign-keyless-2026.payload.json");
    let signature = Signature::from_layer(&descriptor, &payload).unwrap();
    (descriptor, signature)
}

/// The manifest the 2026 layer signs.
const SIGNED_2026: &str = "sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321";

const GO_BAZEL_WORKFLOW: &str =
    "allOf:\n  - kind: githubAction\n    owner: salrashid123\n    repo: go-bazel-github-workflow\n";

fn the_workflow() -> Identity {
    Identity::GithubAction {
        owner: "salrashid123".into(),
        repo: Some("go-bazel-github-workflow".into()),
    }
}

fn check_layer(config: &str, root: &TrustRoot) -> Report {
    let (descriptor, signature) = keyless_layer();
    let mut evidence = Evidence::new();
    evidence.add_simple_signing_layer(&descriptor, &signature.payload);
    let config = VerificationConfig::from_yaml(&format!("apiVersion: v1\n{config}")).unwrap();
    let digest: Digest = SIGNED_2026.parse().unwrap();
    evaluate_with_trust_root("r", &digest, &evidence, &config, Some(root)).unwrap()
}

#[test]
fn a_cosign_keyless_sig_layer_verifies_through_the_sigstore_verifier() {
    let root = public_good();
    let checked = root
        .verify_keyless_simple_signing(&keyless_layer().1, &the_workflow())
        .unwrap();
    assert!(checked.certificate_chain && checked.certificate_timestamp && checked.transparency_log);
    assert_eq!(checked.verified_times, vec!["2026-02-27T18:20:46Z"]);
    assert!(
        checked
            .trust_root_entries
            .iter()
            .any(|e| e.starts_with("tlog https://rekor.sigstore.dev")),
        "{:?}",
        checked.trust_root_entries
    );
    assert!(
        checked
            .trust_root_entries
            .contains(&"ca https://fulcio.sigstore.dev".to_string()),
        "{:?}",
        checked.trust_root_entries
    );

    let report = check_layer(GO_BAZEL_WORKFLOW, &root);
    assert!(report.verified, "{:?}", report.failure);
    let report = check_layer(KUBEWARDEN_CONTROLLER, &root);
    let failure = report.failure.unwrap();
    assert!(failure.contains("GitHub workflow repository"), "{failure}");
}

#[test]
fn keyless_sig_layers_are_refused_when_anything_is_off() {
    let root = public_good();
    let refused = |change: &dyn Fn(&mut Signature)| {
        let mut signature = keyless_layer().1;
        change(&mut signature);
        root.verify_keyless_simple_signing(&signature, &the_workflow())
            .unwrap_err()
    };
    let err = refused(&|s| s.payload[10] ^= 1);
    assert!(err.contains("hash") || err.contains("signature"), "{err}");
    let err = refused(&|s| s.signature = String::from_utf8(fixture("cosign-busybox.sig")).unwrap());
    assert!(err.contains("signature"), "{err}");
    let err = refused(&|s| s.bundle = None);
    assert!(err.contains("inclusion promise"), "{err}");
    let err = refused(&|s| {
        s.bundle = Some(s.bundle.take().unwrap().replace("1772216446", "1772216447"));
    });
    assert!(err.contains("SET verification failed"), "{err}");
    let err = refused(&|s| {
        s.certificate = Some(String::from_utf8(fixture("cosign-keyless-2021.crt")).unwrap())
    });
    assert!(!err.is_empty());
    let err = refused(&|s| s.bundle = Some("{\"Payload\": {}}".into()));
    assert!(err.contains("dev.sigstore.cosign/bundle"), "{err}");

    // Only the 2021 CA in the root: the 2026 certificate does not chain.
    let mut json: serde_json::Value =
        serde_json::from_slice(&fixture("sigstore-public-good-trusted-root.json")).unwrap();
    json["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let old_root = TrustRoot::from_trusted_root_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let failure = check_layer(GO_BAZEL_WORKFLOW, &old_root).failure.unwrap();
    assert!(
        failure.contains("no trusted certificate authority"),
        "{failure}"
    );
}

#[test]
fn a_2021_rekord_entry_is_refused_by_name() {
    // cosign's first keyless signatures were logged as `rekord` entries, which the Sigstore clients no longer
    // verify (and their certificates have no OIDC issuer for Kubewarden's identity rules).
    let signature = Signature {
        payload: fixture("cosign-keyless-2021.payload.json"),
        signature: String::from_utf8(fixture("cosign-keyless-2021.sig")).unwrap(),
        certificate: Some(String::from_utf8(fixture("cosign-keyless-2021.crt")).unwrap()),
        chain: None,
        bundle: Some(String::from_utf8(fixture("cosign-keyless-2021.rekor-bundle.json")).unwrap()),
        rfc3161_timestamp: None,
    };
    let err = public_good()
        .verify_keyless_simple_signing(&signature, &the_workflow())
        .unwrap_err();
    assert!(err.contains("rekord/0.0.1"), "{err}");
}

#[test]
fn a_private_instances_keyless_signatures_pass_every_check_in_both_layouts() {
    // test_support's Sigstore instance: its own CA, CT log and transparency log, and the trusted root naming them.
    let sigstore = test_support::SigstoreInstance::new();
    let root = TrustRoot::from_file_bytes(&sigstore.trusted_root_json()).unwrap();
    let signer =
        test_support::KeylessSigner::email("alice@example.com", "https://accounts.palisade.test");
    let alice = Identity::Issuer {
        issuer: "https://accounts.palisade.test".into(),
        subject: signing::config::Subject::Equal("alice@example.com".into()),
    };
    let manifest: Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();

    let bundle = sigstore.sign_manifest(&signer, &manifest.to_string());
    let from_bundle = root
        .verify_keyless_bundle(&bundle, &manifest, &alice)
        .unwrap();
    let payload = signing::simple_signing::Payload::new(
        "registry.test/policies/app",
        &manifest,
        &Default::default(),
    )
    .to_bytes();
    let layer = sigstore.sign_payload(&signer, &payload);
    let signature = Signature {
        payload,
        signature: layer.signature,
        certificate: Some(layer.certificate),
        chain: Some(layer.chain),
        bundle: Some(layer.bundle),
        rfc3161_timestamp: None,
    };
    let from_layer = root
        .verify_keyless_simple_signing(&signature, &alice)
        .unwrap();
    for checked in [from_bundle, from_layer] {
        assert!(
            checked.certificate_chain
                && checked.certificate_timestamp
                && checked.transparency_log
                && checked.identity,
            "{checked:?}"
        );
        assert_eq!(checked.verified_times.len(), 1, "{checked:?}");
        assert_eq!(
            checked.trust_root_entries,
            vec![
                "tlog https://rekor.palisade.test".to_string(),
                "ca https://fulcio.palisade.test".to_string()
            ]
        );
    }
    // The public-good root trusts none of it: not even its transparency log.
    let failure = public_good()
        .verify_keyless_bundle(&bundle, &manifest, &alice)
        .unwrap_err();
    assert!(failure.contains("No log key valid"), "{failure}");
}
