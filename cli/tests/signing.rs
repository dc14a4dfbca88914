//! key generate, sign and verify against a real registry-server on 127.0.0.1.

use test_support::{Palisade, RegistryServer, tempdir};

/// A work folder with an annotated policy pushed to `registry`, and two key pairs (a and b).
fn signed_setup(registry: &RegistryServer) -> (tempfile::TempDir, Palisade, String) {
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "correct horse");
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    cli.ok(&["push", "policy.wasm", &reference]);
    for prefix in ["a", "b"] {
        let out = cli.ok(&["key", "generate", "--output-prefix", prefix]);
        assert!(out.contains(&format!("{prefix}.key")), "{out}");
    }
    (dir, cli, reference)
}

#[test]
fn keys_are_written_in_cosigns_format() {
    let dir = tempdir();
    let cli =
        Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir.path()).with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate"]);
    let private = std::fs::read_to_string(dir.path().join("cosign.key")).unwrap();
    let public = std::fs::read_to_string(dir.path().join("cosign.pub")).unwrap();
    assert!(
        private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{private}"
    );
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("cosign.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = cli.fails(&["key", "generate"]);
    assert!(err.contains("cosign.key exists"), "{err}");
}

#[test]
fn sign_then_verify_with_keys_and_annotations() {
    let registry = RegistryServer::start();
    let (_dir, cli, reference) = signed_setup(&registry);

    let signed = cli.ok(&["sign", &reference, "--key", "a.key", "-a", "env=prod"]);
    assert!(signed.contains("signature in tag sha256-"), "{signed}");
    let verified = cli.ok(&["verify", &reference, "--key", "a.pub"]);
    assert!(
        verified.starts_with(&format!("verified {reference}@sha256:")),
        "{verified}"
    );
    cli.ok(&["verify", &reference, "--key", "a.pub", "-a", "env=prod"]);

    let err = cli.fails(&["verify", &reference, "--key", "a.pub", "-a", "env=dev"]);
    assert!(err.contains("not verified"), "{err}");
    let err = cli.fails(&["verify", &reference, "--key", "b.pub"]);
    assert!(err.contains("not verified"), "{err}");
    let in_actions = cli.with_env("GITHUB_ACTIONS", "true");
    let err = in_actions.fails(&["verify", &reference, "--key", "b.pub"]);
    assert!(
        err.starts_with(&format!(
            "::error title=palisade verify::{reference} is not verified\n"
        )),
        "{err}"
    );
    let cli = in_actions;

    // A second signer keeps the first signature: both keys now verify.
    cli.ok(&["sign", &reference, "--key", "b.key"]);
    cli.ok(&["verify", &reference, "--key", "a.pub", "--key", "b.pub"]);

    let report: serde_json::Value =
        serde_json::from_str(&cli.ok(&["verify", &reference, "--key", "a.pub", "-o", "json"]))
            .unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["signaturesFound"], 2);
}

#[test]
fn bundles_verify_through_a_verification_config() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_setup(&registry);
    let signed = cli.ok(&["sign", &reference, "--key", "a.key", "--bundle"]);
    assert!(signed.contains("bundle in referrer sha256:"), "{signed}");

    let public = std::fs::read_to_string(dir.path().join("a.pub")).unwrap();
    let indented: String = public.lines().map(|l| format!("        {l}\n")).collect();
    let config = format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}");
    std::fs::write(dir.path().join("verification.yml"), config).unwrap();
    let report: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "verify",
        &reference,
        "--verification-config",
        "verification.yml",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(
        report["signaturesFound"], 2,
        "the .sig layer and the bundle: {report}"
    );
}

#[test]
fn a_policy_replaced_after_signing_does_not_verify() {
    let registry = RegistryServer::start();
    let (_dir, cli, reference) = signed_setup(&registry);
    cli.ok(&["sign", &reference, "--key", "a.key"]);
    cli.ok(&[
        "annotate",
        "wapc-reject.wasm",
        "-m",
        "metadata/wapc.yml",
        "-o",
        "other.wasm",
    ]);
    cli.ok(&["push", "other.wasm", &reference]);
    let err = cli.fails(&["verify", &reference, "--key", "a.pub"]);
    assert!(err.contains("not verified"), "{err}");
}

#[test]
fn bad_keys_and_configs_are_named() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_setup(&registry);
    let wrong = Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir.path())
        .with_env("COSIGN_PASSWORD", "wrong");
    let err = wrong.fails(&["sign", &reference, "--key", "a.key"]);
    assert!(
        err.contains("a.key") && err.contains("wrong password"),
        "{err}"
    );
    let err = cli.fails(&["verify", &reference, "--key", "a.key"]);
    assert!(err.contains("public key"), "{err}");
    std::fs::write(dir.path().join("broken.yml"), "apiVersion: v2\nallOf: []\n").unwrap();
    let err = cli.fails(&["verify", &reference, "--verification-config", "broken.yml"]);
    assert!(
        err.contains("broken.yml") && err.contains("apiVersion"),
        "{err}"
    );
    let output = cli.run(&["verify", &reference]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn keyless_requirements_need_a_keyless_signature() {
    let registry = RegistryServer::start();
    let (_dir, cli, reference) = signed_setup(&registry);
    cli.ok(&["sign", &reference, "--key", "a.key"]);
    // Without --trust-root, the public-good root built in: a key signature is still no keyless signature.
    let err = cli.fails(&["verify", &reference, "--github-owner", "kubewarden"]);
    assert!(
        err.contains("githubAction") && err.contains("no certificate"),
        "{err}"
    );
    let broken = [
        "verify",
        &reference,
        "--github-owner",
        "kubewarden",
        "--trust-root",
        "a.pub",
    ];
    assert_eq!(
        cli.run(&broken).status.code(),
        Some(2),
        "a trust root that is not one is a usage error"
    );

    let root = test_support::testdata_file("signing/sigstore-public-good-trusted-root.json");
    let root = root.to_str().unwrap();
    let err = cli.fails(&[
        "verify",
        &reference,
        "--github-owner",
        "kubewarden",
        "--trust-root",
        root,
    ]);
    assert!(
        err.contains("githubAction") && err.contains("not verified"),
        "{err}"
    );
    let err = cli.fails(&[
        "verify",
        &reference,
        "--certificate-identity",
        "someone@example.com",
        "--certificate-oidc-issuer",
        "https://accounts.google.com",
        "--trust-root",
        root,
    ]);
    assert!(err.contains("not verified"), "{err}");
    // Keys and keyless requirements combine: all of them must be met.
    let err = cli.fails(&[
        "verify",
        &reference,
        "--key",
        "a.pub",
        "--github-owner",
        "kubewarden",
        "--trust-root",
        root,
    ]);
    assert!(err.contains("githubAction"), "{err}");
}
