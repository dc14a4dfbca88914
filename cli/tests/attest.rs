//! `palisade attest`, `verify-attestation`, `sbom fetch --verify` and `inspect --show-signatures` against a real
//! registry-server on 127.0.0.1.

use serde_json::{Value, json};
use test_support::{Palisade, RegistryServer, get_blob, get_manifest, put_blob, put_manifest};

/// A work folder with the annotated policy pushed to `registry`, two key pairs (a and b) and its SPDX and
/// CycloneDX SBOMs (`policy.spdx.json`, `policy.cdx.json`).
fn setup(registry: &RegistryServer) -> (tempfile::TempDir, Palisade, String) {
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "correct horse");
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    cli.ok(&["push", "policy.wasm", &reference]);
    for prefix in ["a", "b"] {
        cli.ok(&["key", "generate", "--output-prefix", prefix]);
    }
    let source = test_support::testdata_file("sbom/rust");
    let source = source.to_string_lossy();
    cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &source,
        "-o",
        "policy.spdx.json",
    ]);
    cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &source,
        "--format",
        "cyclonedx-json",
        "-o",
        "policy.cdx.json",
    ]);
    (dir, cli, reference)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[test]
fn attest_then_verify_both_layouts() {
    let registry = RegistryServer::start();
    let (_dir, cli, reference) = setup(&registry);

    let attested = cli.ok(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
        "--bundle",
    ]);
    assert!(
        attested.starts_with(&format!("attested {reference}@sha256:")),
        "{attested}"
    );
    assert!(
        attested.contains("(https://spdx.dev/Document)"),
        "{attested}"
    );
    assert!(attested.contains(".att"), "{attested}");
    assert!(
        attested.contains("bundle in referrer sha256:"),
        "{attested}"
    );

    let verified = cli.ok(&["verify-attestation", &reference, "--key", "a.pub"]);
    assert!(
        verified.contains(": 2 of 2 attestations verified"),
        "{verified}"
    );
    assert!(verified.contains("  verified  https://spdx.dev/Document  .att layer sha256:"));
    assert!(verified.contains("  verified  https://spdx.dev/Document  bundle referrer sha256:"));
    cli.ok(&[
        "verify-attestation",
        &reference,
        "--key",
        "a.pub",
        "--type",
        "https://spdx.dev/Document",
    ]);
    let err = cli.fails(&[
        "verify-attestation",
        &reference,
        "--key",
        "a.pub",
        "--type",
        "cyclonedx",
    ]);
    assert!(
        err.contains("no attestation of type https://cyclonedx.org/bom"),
        "{err}"
    );

    // A second attestation (another key, another type) is appended: the first is kept.
    cli.ok(&[
        "attest",
        &reference,
        "--key",
        "b.key",
        "--predicate",
        "policy.cdx.json",
        "--type",
        "cyclonedx",
    ]);
    let report = json(&cli.ok(&[
        "verify-attestation",
        &reference,
        "--key",
        "a.pub",
        "--key",
        "b.pub",
        "-o",
        "json",
    ]));
    assert_eq!(report["verified"], true);
    let attestations = report["attestations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attestations.len(), 3, "{report}");
    let layouts: Vec<(&str, &str)> = attestations
        .iter()
        .map(|a| {
            (
                a["source"]["layout"].as_str().unwrap_or_default(),
                a["predicateType"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        layouts,
        [
            ("attestationTag", "https://spdx.dev/Document"),
            ("attestationTag", "https://cyclonedx.org/bom"),
            ("referrer", "https://spdx.dev/Document"),
        ]
    );
    assert!(attestations.iter().all(|a| a["verified"] == true));
    assert!(
        attestations[0]["signedBy"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sha256:")
    );

    // Each key verifies its own attestation only.
    let with_b_only = json(&cli.ok(&[
        "verify-attestation",
        &reference,
        "--key",
        "b.pub",
        "-o",
        "json",
    ]));
    let verified_by_b: Vec<&Value> = with_b_only["attestations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["verified"] == true)
        .collect();
    assert_eq!(verified_by_b.len(), 1);
    assert_eq!(
        verified_by_b[0]["predicateType"],
        "https://cyclonedx.org/bom"
    );
}

#[test]
fn a_tampered_envelope_no_longer_verifies() {
    let registry = RegistryServer::start();
    let (_dir, cli, reference) = setup(&registry);
    let attested = json(&cli.ok(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
        "-o",
        "json",
    ]));
    cli.ok(&["verify-attestation", &reference, "--key", "a.pub"]);

    let host = registry.host();
    let tag = attested["attestationTag"].as_str().unwrap_or_default();
    let manifest: Value =
        serde_json::from_slice(&get_manifest(&host, "policies/pod-guard", tag)).unwrap_or_default();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap_or_default();
    let envelope = get_blob(&host, "policies/pod-guard", layer);
    // One byte of the base64 payload changed (a predicate that says something else).
    let mut altered = envelope.clone();
    let at = envelope
        .windows(11)
        .position(|w| w == b"\"payload\":\"")
        .map(|i| i + 40)
        .unwrap_or_else(|| panic!("no payload in {}", String::from_utf8_lossy(&envelope)));
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    let digest = put_blob(&host, "policies/pod-guard", &altered);
    let mut tampered = manifest.clone();
    tampered["layers"][0]["digest"] = json!(digest);
    tampered["layers"][0]["size"] = json!(altered.len());
    put_manifest(&host, "policies/pod-guard", Some(tag), &tampered);

    let output = cli.run(&["verify-attestation", &reference, "--key", "a.pub"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("0 of 1 attestations verified"), "{stdout}");
    assert!(stdout.contains("  failed  "), "{stdout}");
}

#[test]
fn bad_input_is_refused_clearly() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = setup(&registry);
    std::fs::write(dir.path().join("notes.txt"), "not JSON at all").unwrap_or_default();

    let err = cli.fails(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "notes.txt",
        "--type",
        "spdx",
    ]);
    assert!(err.contains("notes.txt"), "{err}");
    assert!(err.contains("the predicate is not JSON"), "{err}");

    let output = cli.run(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "sbom",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown predicate type \"sbom\""),
        "{stderr}"
    );

    let missing = format!("registry://{}/policies/absent:v9", registry.host());
    let err = cli.fails(&[
        "attest",
        &missing,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
    ]);
    assert!(err.contains("policies/absent"), "{err}");

    cli.ok(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
    ]);
    let err = cli.fails(&["verify-attestation", &reference, "--key", "b.pub"]);
    assert!(
        err.contains("no attestation of registry://") && err.contains("verifies"),
        "{err}"
    );
    let err = cli.fails(&["verify-attestation", &missing, "--key", "a.pub"]);
    assert!(err.contains("policies/absent"), "{err}");
}

#[test]
fn fetch_verify_returns_only_an_attested_sbom() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = setup(&registry);
    cli.ok(&["sbom", "attach", &reference, "policy.spdx.json"]);

    // Attached but not attested: refused.
    let err = cli.fails(&["sbom", "fetch", &reference, "--verify", "--key", "a.pub"]);
    assert!(err.contains("it has no attestation"), "{err}");

    cli.ok(&[
        "attest",
        &reference,
        "--key",
        "a.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
    ]);
    // The attached document, vouched for by the attestation: the same bytes.
    let out = cli.ok(&[
        "sbom",
        "fetch",
        &reference,
        "--verify",
        "--key",
        "a.pub",
        "-o",
        "fetched.spdx.json",
    ]);
    assert!(
        out.contains("vouched for by the .att layer sha256:"),
        "{out}"
    );
    assert!(out.contains("signed by sha256:"), "{out}");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap_or_default();
    assert_eq!(read("fetched.spdx.json"), read("policy.spdx.json"));

    let err = cli.fails(&["sbom", "fetch", &reference, "--verify", "--key", "b.pub"]);
    assert!(
        err.contains("is vouched for by a verified attestation"),
        "{err}"
    );

    // CycloneDX only attested (not attached): the predicate itself.
    cli.ok(&[
        "attest",
        &reference,
        "--key",
        "b.key",
        "--predicate",
        "policy.cdx.json",
        "--type",
        "cyclonedx",
    ]);
    let out = cli.ok(&[
        "sbom",
        "fetch",
        &reference,
        "--verify",
        "--key",
        "b.pub",
        "--format",
        "cyclonedx-json",
        "-o",
        "fetched.cdx.json",
    ]);
    assert!(out.contains("the predicate of the .att layer"), "{out}");
    let fetched: Value = serde_json::from_slice(&read("fetched.cdx.json")).unwrap_or_default();
    let original: Value = serde_json::from_slice(&read("policy.cdx.json")).unwrap_or_default();
    assert_eq!(fetched, original);
    assert_eq!(fetched["specVersion"], "1.6");
}

#[test]
fn inspect_lists_every_signature_and_says_which_verify() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = setup(&registry);
    cli.ok(&[
        "sign", &reference, "--key", "a.key", "-a", "env=prod", "--bundle",
    ]);
    cli.ok(&[
        "attest",
        &reference,
        "--key",
        "b.key",
        "--predicate",
        "policy.spdx.json",
        "--type",
        "spdx",
        "--bundle",
    ]);

    let text = cli.ok(&["inspect", &reference, "--show-signatures"]);
    let listed = &text[text.find("Signatures of sha256:").unwrap_or(0)..];
    for kind in [
        "  - .sig layer sha256:",
        "  - bundle referrer sha256:",
        "  - attestation (.att layer) sha256:",
        "  - attestation (bundle referrer) sha256:",
    ] {
        assert!(listed.contains(kind), "{kind} missing:\n{listed}");
    }
    assert_eq!(
        listed.matches("not verified (pass --key to check)").count(),
        4,
        "{listed}"
    );
    assert!(listed.contains("annotations:       env=prod"), "{listed}");
    assert!(
        listed.contains("signer:            key with hint "),
        "{listed}"
    );

    let report = json(&cli.ok(&[
        "inspect",
        &reference,
        "--show-signatures",
        "--key",
        "a.pub",
        "-o",
        "json",
    ]));
    let entries = report["signatures"]["signatures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default(),
                e["verification"]["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("signature", "verified"),
            ("bundle", "verified"),
            ("attestationTag", "failed"),
            ("attestationBundle", "failed"),
        ]
    );
    let digest = report["signatures"]["manifestDigest"].clone();
    assert!(entries.iter().all(|e| e["subject"][0] == digest));

    // A verification config: each signature names the requirements it meets.
    let public = std::fs::read_to_string(dir.path().join("a.pub")).unwrap_or_default();
    let indented: String = public.lines().map(|l| format!("        {l}\n")).collect();
    let config = format!(
        "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}    annotations:\n      env: prod\n"
    );
    std::fs::write(dir.path().join("verification.yml"), config).unwrap_or_default();
    let report = json(&cli.ok(&[
        "inspect",
        &reference,
        "--show-signatures",
        "--verification-config",
        "verification.yml",
        "-o",
        "json",
    ]));
    let met: Vec<usize> = report["signatures"]["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["satisfies"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(met, [1, 1, 0, 0], "{report}");
    let text = cli.ok(&[
        "inspect",
        &reference,
        "--show-signatures",
        "--verification-config",
        "verification.yml",
    ]);
    assert!(text.contains("meets:             pubKey sha256:"), "{text}");
    assert!(text.contains("meets:             no requirement of the config"));

    let output = cli.run(&["inspect", "policy.wasm", "--show-signatures"]);
    assert_eq!(output.status.code(), Some(2));
}
