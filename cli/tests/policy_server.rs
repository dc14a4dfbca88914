//! `palisade policy-server` as users run it: refused with an unsigned policy, started with the policy signed
//! (a real server on 127.0.0.1:0, one request over HTTP, then stopped).

mod running;

use running::Running;
use test_support::{Palisade, RegistryServer};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// A work folder with `policy.wasm` (accepts) pushed and signed with `a.key` as `policies/accept:v1`, and
/// `reject.wasm` pushed unsigned as `policies/reject:v1`; returns the folder, the runner and both references.
fn setup(registry: &RegistryServer) -> (tempfile::TempDir, Palisade, String, String) {
    let (dir, cli, accept) = running::signed_workdir(BIN, registry);
    let reject = format!("registry://{}/policies/reject:v1", registry.host());
    cli.push("reject.wasm", &reject);
    (dir, cli, accept, reject)
}

#[test]
fn refuses_unsigned_policies_and_serves_signed_ones() {
    let registry = RegistryServer::start();
    let (dir, cli, accept, reject) = setup(&registry);
    let both = format!("accept:\n  module: {accept}\nreject:\n  module: {reject}\n");
    std::fs::write(dir.path().join("policies.yml"), both).unwrap_or_else(|err| panic!("{err}"));

    // Fail closed: without verification flags it does not start at all.
    let output = cli.run(&["policy-server", "--policies", "policies.yml"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("must be verified before it runs: pass --key"),
        "{err}"
    );
    // One unsigned policy: refuses to start (exit 1), naming it. The verification config is read under
    // Kubewarden's flag name.
    let public =
        std::fs::read_to_string(dir.path().join("a.pub")).unwrap_or_else(|err| panic!("{err}"));
    let indented: String = public.lines().map(|l| format!("      {l}\n")).collect();
    let config = format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}");
    std::fs::write(dir.path().join("verification.yml"), config)
        .unwrap_or_else(|err| panic!("{err}"));
    let err = cli.fails(&[
        "policy-server",
        "--policies",
        "policies.yml",
        "--verification-path",
        "verification.yml",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert!(
        err.contains("policy reject: refusing to run") && err.contains("not verified"),
        "{err}"
    );
    assert!(!err.contains("policy accept:"), "{err}");

    // Only the signed policy: it starts and serves.
    let signed = format!("accept:\n  module: {accept}\n");
    std::fs::write(dir.path().join("policies.yml"), signed).unwrap_or_else(|err| panic!("{err}"));
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--policies",
            "policies.yml",
            "--key",
            "a.pub",
            "--addr",
            "127.0.0.1:0",
            "--cache-dir",
            "compiled",
        ],
        &[],
    );
    let review = std::fs::read_to_string(dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    let (status, _, body) = server.request("POST", "/validate/accept", &review);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let answer: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"));
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(
        answer["response"]["uid"],
        "705ab4f5-6393-11e8-b7cc-42010a800002"
    );
    let (status, _, body) = server.request("POST", "/validate/nope", &review);
    assert_eq!(status, "HTTP/1.1 404 Not Found", "{body}");
    let (status, _, body) = server.request("GET", "/metrics", "");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains(
            "palisade_policy_evaluations_total{policy=\"accept\",outcome=\"accepted\"} 1"
        ),
        "{body}"
    );
    server.stop();
    assert!(
        dir.path()
            .join("compiled")
            .read_dir()
            .map_or(0, Iterator::count)
            == 1,
        "the compiled module is cached"
    );
}

#[test]
fn bad_policies_files_are_usage_errors() {
    let dir = test_support::tempdir();
    let cli = Palisade::new(BIN, dir.path());
    std::fs::write(
        dir.path().join("typo.yml"),
        "p:\n  module: x.wasm\n  allowToMutate: true\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let output = cli.run(&[
        "policy-server",
        "--policies",
        "typo.yml",
        "--insecure-skip-verification",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("typo.yml") && err.contains("unknown field `allowToMutate`"),
        "{err}"
    );
    let output = cli.run(&["policy-server", "--policies", "missing.yml"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn serves_https_with_a_certificate_and_key() {
    let dir = test_support::tempdir();
    let ca = test_support::TestCa::new();
    std::fs::write(dir.path().join("cert.pem"), &ca.cert_pem).unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(dir.path().join("key.pem"), &ca.key_pem).unwrap_or_else(|err| panic!("{err}"));
    let module = test_support::write_fixture(dir.path(), "wapc-accept");
    let policies = format!("accept:\n  module: file://{}\n", module.display());
    std::fs::write(dir.path().join("policies.yml"), policies).unwrap_or_else(|err| panic!("{err}"));
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--policies",
            "policies.yml",
            "--insecure-skip-verification",
            "--addr",
            "127.0.0.1:0",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "key.pem",
        ],
        &[],
    );
    // Plain HTTP gets no HTTP answer: the listener only speaks TLS.
    let (status, _, _) = server.request("GET", "/readiness", "");
    assert!(!status.starts_with("HTTP/1.1"), "{status}");

    let output = test_support::Palisade::new(BIN, dir.path()).run(&[
        "policy-server",
        "--policies",
        "policies.yml",
        "--insecure-skip-verification",
        "--tls-cert",
        "cert.pem",
        "--tls-key",
        "missing.pem",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("missing.pem"), "{err}");
}
