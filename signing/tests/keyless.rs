//! Keyless (certificate-based) verification of a real cosign v3 bundle — a Kubewarden release signed in GitHub
//! Actions — against the Sigstore public-good trusted_root.json, offline, with Kubewarden's identity rules.

use std::path::PathBuf;

use artifact::oci::Digest;
use artifact::oci::manifest::Descriptor;
use signing::config::VerificationConfig;
use signing::media_types::SIGSTORE_BUNDLE_V03;
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
        (br#"{"tlogs": "x"}"#, "not a Sigstore trusted_root.json"),
        (b"{", "not a Sigstore trusted_root.json"),
        (b"hello", "PEM"),
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
        TrustRoot::from_pem_bundle(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
}

fn keyless_layer() -> signing::trust::KeylessLayer {
    signing::trust::KeylessLayer {
        payload: fixture("cosign-keyless-2021.payload.json"),
        signature: String::from_utf8(fixture("cosign-keyless-2021.sig")).unwrap(),
        certificate: String::from_utf8(fixture("cosign-keyless-2021.crt")).unwrap(),
        chain: None,
        rekor_bundle: Some(
            String::from_utf8(fixture("cosign-keyless-2021.rekor-bundle.json")).unwrap(),
        ),
    }
}

#[test]
fn a_cosign_keyless_sig_layer_verifies_against_the_trust_root() {
    let root = public_good();
    let certificate = root
        .verify_keyless_simple_signing(&keyless_layer())
        .unwrap();
    assert_eq!(
        signing::trust::certificate_subjects(&certificate),
        vec!["flavio@castelli.me"]
    );
    // A 2021 certificate has no OIDC issuer extension yet: Kubewarden's identity rules need one.
    assert_eq!(signing::trust::certificate_issuer(&certificate), None);

    // Through the verifier: the layer is found and checked, then refused for the identity, saying why.
    let signature = signing::simple_signing::Signature {
        payload: keyless_layer().payload,
        signature: keyless_layer().signature,
        certificate: Some(keyless_layer().certificate),
        chain: None,
        bundle: keyless_layer().rekor_bundle,
        rfc3161_timestamp: None,
    };
    let mut evidence = Evidence::new();
    evidence.add_simple_signing_layer(&signature.descriptor(), &signature.payload);
    let config = VerificationConfig::from_yaml(
        "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: https://github.com/login/oauth\n    subject:\n      equal: flavio@castelli.me\n",
    )
    .unwrap();
    let digest: Digest = "sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e"
        .parse()
        .unwrap();
    let report = evaluate_with_trust_root("r", &digest, &evidence, &config, Some(&root)).unwrap();
    let failure = report.failure.unwrap();
    assert!(
        failure.contains("the certificate is not the required identity"),
        "{failure}"
    );
}

#[test]
fn keyless_sig_layers_are_refused_when_anything_is_off() {
    let root = public_good();
    let mut altered = keyless_layer();
    altered.payload = altered
        .payload
        .iter()
        .copied()
        .map(|b| if b == b'5' { b'6' } else { b })
        .collect();
    let err = root.verify_keyless_simple_signing(&altered).unwrap_err();
    assert!(err.contains("another payload"), "{err}");

    let mut other_signature = keyless_layer();
    other_signature.signature = String::from_utf8(fixture("cosign-busybox.sig")).unwrap();
    let err = root
        .verify_keyless_simple_signing(&other_signature)
        .unwrap_err();
    assert!(err.contains("another signature"), "{err}");

    let mut no_bundle = keyless_layer();
    no_bundle.rekor_bundle = None;
    let err = root.verify_keyless_simple_signing(&no_bundle).unwrap_err();
    assert!(err.contains("signing time cannot be established"), "{err}");

    let mut forged_time = keyless_layer();
    forged_time.rekor_bundle = Some(
        forged_time
            .rekor_bundle
            .unwrap()
            .replace("1634714717", "1634714718"),
    );
    let err = root
        .verify_keyless_simple_signing(&forged_time)
        .unwrap_err();
    assert!(
        err.contains("signed entry timestamp does not verify"),
        "{err}"
    );

    // Only the current CA in the root: the 2021 certificate does not chain.
    let mut json: serde_json::Value =
        serde_json::from_slice(&fixture("sigstore-public-good-trusted-root.json")).unwrap();
    json["certificateAuthorities"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let new_root = TrustRoot::from_trusted_root_json(&serde_json::to_vec(&json).unwrap()).unwrap();
    let err = new_root
        .verify_keyless_simple_signing(&keyless_layer())
        .unwrap_err();
    assert!(err.contains("does not chain to the trust root"), "{err}");
}
