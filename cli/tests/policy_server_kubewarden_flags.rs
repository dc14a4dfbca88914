//! `palisade policy-server` configured as Kubewarden's controller configures its policy-server: no arguments,
//! only the KUBEWARDEN_* variables of the Deployment it generates (a real process, HTTPS with a test CA, the
//! readiness probe on its own plain-HTTP port), mutual TLS, the namespace always accepted, Kubewarden's
//! timeout in seconds, and bad values of each, refused with exit 2 naming the flag and its variable.

mod running;

use std::path::Path;

use running::Running;
use test_support::{
    ClientIdentity, Palisade, RegistryServer, TestCa, TufFault, TufRepository, annotated_workdir,
    https,
};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap_or_else(|err| panic!("writing {name}: {err}"));
}

fn review(namespace: &str) -> String {
    let path = test_support::testdata_file("requests/pod-create.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{err}"));
    text.replace(
        "\"namespace\": \"default\"",
        &format!("\"namespace\": \"{namespace}\""),
    )
}

/// The answer's `response.allowed`.
fn allowed(body: &[u8]) -> bool {
    let answer: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(body)));
    answer["response"]["allowed"]
        .as_bool()
        .unwrap_or_else(|| panic!("no response.allowed: {answer}"))
}

/// `127.0.0.1:PORT` of a server whose line says it listens on `0.0.0.0:PORT` or `127.0.0.1:PORT`.
fn loopback(addr: &str) -> String {
    let port = addr.rsplit(':').next().unwrap_or_default();
    format!("127.0.0.1:{port}")
}

/// The client certificate `ca` issued, to present.
fn identity(ca: &TestCa) -> ClientIdentity<'_> {
    ClientIdentity {
        cert_pem: &ca.client_cert_pem,
        key_pem: &ca.client_key_pem,
    }
}

/// The server's certificate and key of `ca`: `cert.pem`, `key.pem` in `dir`.
fn write_server_tls(dir: &Path, ca: &TestCa) {
    write(dir, "cert.pem", &ca.cert_pem);
    write(dir, "key.pem", &ca.key_pem);
}

/// A work folder with the server's certificate and key of `ca` (`cert.pem`, `key.pem`) and `policies.yml`
/// serving the local fixtures `accept` and `reject` (unverified: PALISADE_INSECURE_SKIP_VERIFICATION).
fn local_policies(ca: &TestCa) -> tempfile::TempDir {
    let dir = test_support::tempdir();
    write_server_tls(dir.path(), ca);
    let accept = test_support::write_fixture(dir.path(), "wapc-accept");
    let reject = test_support::write_fixture(dir.path(), "wapc-reject");
    let policies = format!(
        "accept:\n  module: file://{}\nreject:\n  module: file://{}\n",
        accept.display(),
        reject.display()
    );
    write(dir.path(), "policies.yml", &policies);
    dir
}

#[test]
fn serves_as_the_controllers_deployment_configures_it() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir(BIN);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let module = format!("registry://{}/policies/accept:v1", registry.host());
    cli.push("policy.wasm", &module);
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    cli.ok(&["sign", &module, "--key", "a.key"]);
    let public =
        std::fs::read_to_string(dir.path().join("a.pub")).unwrap_or_else(|err| panic!("{err}"));
    let indented: String = public.lines().map(|l| format!("      {l}\n")).collect();
    let verification = format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}");
    write(dir.path(), "verification.yml", &verification);
    std::fs::create_dir_all(dir.path().join("config")).unwrap_or_else(|err| panic!("{err}"));
    write(
        dir.path(),
        "config/policies.yml",
        &format!("accept:\n  module: {module}\n"),
    );
    let ca = TestCa::new();
    write_server_tls(dir.path(), &ca);
    std::fs::create_dir_all(dir.path().join("docker")).unwrap_or_else(|err| panic!("{err}"));

    // The variables the controller sets (paths relative to the work folder instead of the pod's mounts).
    let port = test_support::free_port().to_string();
    let readiness_port = test_support::free_port().to_string();
    let server = Running::start(
        dir.path(),
        &["policy-server"],
        &[
            ("KUBEWARDEN_CERT_FILE", "cert.pem"),
            ("KUBEWARDEN_KEY_FILE", "key.pem"),
            ("KUBEWARDEN_PORT", &port),
            ("KUBEWARDEN_READINESS_PROBE_PORT", &readiness_port),
            ("KUBEWARDEN_POLICIES_DOWNLOAD_DIR", "downloads"),
            ("KUBEWARDEN_POLICIES", "config/policies.yml"),
            ("KUBEWARDEN_SIGSTORE_CACHE_DIR", "sigstore"),
            ("KUBEWARDEN_VERIFICATION_CONFIG_PATH", "verification.yml"),
            ("KUBEWARDEN_DOCKER_CONFIG_JSON_PATH", "docker"),
            ("KUBEWARDEN_ENABLE_METRICS", "true"),
            // What the controller sets when it runs with --enable-tracing.
            ("KUBEWARDEN_LOG_FMT", "otlp"),
        ],
    );
    // With TLS, every interface by default, as a webhook in a pod must be reachable.
    assert_eq!(server.addr, format!("0.0.0.0:{port}"));
    let webhook = loopback(&server.addr);
    let reply = https(
        &webhook,
        "POST /validate/accept",
        review("default").as_bytes(),
        &ca.ca_pem,
        None,
    )
    .unwrap_or_else(|err| panic!("HTTPS to the webhook: {err}"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(allowed(&reply.body));
    let reply = https(&webhook, "GET /readiness", b"", &ca.ca_pem, None)
        .unwrap_or_else(|err| panic!("HTTPS readiness: {err}"));
    assert_eq!(reply.status, 200);
    // The kubelet's probe: plain HTTP on the readiness port.
    let probe = test_support::http(
        &format!("127.0.0.1:{readiness_port}"),
        "GET /readiness",
        &[],
        b"",
    );
    assert_eq!(probe.status, 200, "{}", probe.text());
    // Only /readiness there: the webhook is not served in plain HTTP.
    let probe = test_support::http(
        &format!("127.0.0.1:{readiness_port}"),
        "POST /validate/accept",
        &[],
        review("default").as_bytes(),
    );
    assert_eq!(probe.status, 404);
    let logs = server.stop();
    // otlp: served all the same, logging JSON lines, with a warning that no traces are exported.
    assert!(
        logs.lines().any(|line| line.starts_with('{')
            && line.contains("WARN")
            && line.contains("exports no OpenTelemetry")),
        "{logs}"
    );
    assert!(
        dir.path().join("downloads").is_dir(),
        "KUBEWARDEN_POLICIES_DOWNLOAD_DIR is the store"
    );
}

#[test]
fn mutual_tls_serves_only_clients_a_trusted_authority_certified() {
    let ca = TestCa::new();
    let other = TestCa::new();
    let untrusted = TestCa::new();
    let dir = local_policies(&ca);
    write(dir.path(), "ca.pem", &ca.ca_pem);
    write(dir.path(), "other-ca.pem", &other.ca_pem);
    let readiness_port = test_support::free_port().to_string();
    let server = Running::start(
        dir.path(),
        &["policy-server"],
        &[
            ("KUBEWARDEN_BIND_ADDRESS", "127.0.0.1"),
            ("KUBEWARDEN_PORT", "0"),
            ("KUBEWARDEN_READINESS_PROBE_PORT", &readiness_port),
            ("KUBEWARDEN_CERT_FILE", "cert.pem"),
            ("KUBEWARDEN_KEY_FILE", "key.pem"),
            ("KUBEWARDEN_CLIENT_CA_FILE", "ca.pem,other-ca.pem"),
            ("PALISADE_INSECURE_SKIP_VERIFICATION", "true"),
            ("KUBEWARDEN_LOG_FMT", "json"),
            ("KUBEWARDEN_LOG_LEVEL", "debug"),
        ],
    );
    let ask = |client| {
        https(
            &server.addr,
            "POST /validate/accept",
            review("default").as_bytes(),
            &ca.ca_pem,
            client,
        )
    };
    let refused = ask(None);
    assert!(
        refused.is_err(),
        "served without a client certificate: {refused:?}"
    );
    let refused = ask(Some(identity(&untrusted)));
    assert!(refused.is_err(), "served an untrusted client: {refused:?}");
    for trusted in [&ca, &other] {
        let reply = ask(Some(identity(trusted))).unwrap_or_else(|err| panic!("refused: {err}"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(allowed(&reply.body));
    }
    // The kubelet has no client certificate: the probe port stays plain HTTP.
    let probe = test_support::http(
        &format!("127.0.0.1:{readiness_port}"),
        "GET /readiness",
        &[],
        b"",
    );
    assert_eq!(probe.status, 200);
    let logs = server.stop();
    // KUBEWARDEN_LOG_FMT=json: every line is a JSON object; KUBEWARDEN_LOG_LEVEL=debug shows debug events.
    let events: Vec<serde_json::Value> = logs
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    assert!(
        events.iter().any(|event| event["level"] == "DEBUG"),
        "{logs}"
    );
    assert!(
        logs.lines()
            .all(|line| line.starts_with('{') || line.starts_with("warning:")),
        "{logs}"
    );
}

#[test]
fn a_trust_root_fetched_through_tuf_keeps_its_metadata_in_the_sigstore_cache_dir() {
    let registry = RegistryServer::start();
    let (dir, _, module) = running::signed_workdir(BIN, &registry);
    write(
        dir.path(),
        "policies.yml",
        &format!("accept:\n  module: {module}\n"),
    );
    let root = test_support::testdata_file("signing/sigstore-public-good-trusted-root.json");
    let root = std::fs::read(&root).unwrap_or_else(|err| panic!("{err}"));
    let repository = TufRepository::serve("trusted_root.json", &root, TufFault::None);
    std::fs::write(dir.path().join("root.json"), &repository.root_json)
        .unwrap_or_else(|err| panic!("{err}"));
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--addr",
            "127.0.0.1:0",
            "--key",
            "a.pub",
            "--tuf-url",
            &repository.url,
            "--tuf-root",
            "root.json",
        ],
        &[("KUBEWARDEN_SIGSTORE_CACHE_DIR", "sigstore-data")],
    );
    let (status, _, body) = server.request("POST", "/validate/accept", &review("default"));
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    server.stop();
    let kept = std::fs::read_dir(dir.path().join("sigstore-data"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert!(kept > 0, "the TUF metadata is kept in --sigstore-cache-dir");
}

#[test]
fn the_namespace_always_accepted_is_not_evaluated() {
    let ca = TestCa::new();
    let dir = local_policies(&ca);
    let server = Running::start(
        dir.path(),
        &["policy-server", "--addr", "127.0.0.1:0"],
        &[
            ("PALISADE_INSECURE_SKIP_VERIFICATION", "true"),
            (
                "KUBEWARDEN_ALWAYS_ACCEPT_ADMISSION_REVIEWS_ON_NAMESPACE",
                "kubewarden",
            ),
        ],
    );
    let (status, _, body) = server.request("POST", "/validate/reject", &review("kubewarden"));
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(allowed(body.as_bytes()), "{body}");
    let (_, _, body) = server.request("POST", "/validate/reject", &review("default"));
    assert!(!allowed(body.as_bytes()), "{body}");
    // validate_raw requests are evaluated, whatever namespace they name.
    let raw = r#"{"request": {"uid": "1", "namespace": "kubewarden"}}"#;
    let (_, _, body) = server.request("POST", "/validate_raw/reject", raw);
    assert!(!allowed(body.as_bytes()), "{body}");
    // An unknown policy is still unknown.
    let (status, _, _) = server.request("POST", "/validate/nope", &review("kubewarden"));
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    server.stop();
}

#[test]
fn the_policy_timeout_is_a_number_of_seconds() {
    let dir = test_support::tempdir();
    let looping = test_support::write_fixture(dir.path(), "wapc-validate-loop");
    write(
        dir.path(),
        "policies.yml",
        &format!("loop:\n  module: file://{}\n", looping.display()),
    );
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--addr",
            "127.0.0.1",
            "--port",
            "0",
            "--policy-timeout",
            "1",
            "--insecure-skip-verification",
        ],
        &[],
    );
    let (_, _, body) = server.request("POST", "/validate/loop", &review("default"));
    assert!(!allowed(body.as_bytes()), "{body}");
    assert!(body.contains("timed out after 1s"), "{body}");
    server.stop();
}

#[test]
fn bad_values_are_usage_errors_naming_the_flag_and_its_variable() {
    let ca = TestCa::new();
    let dir = local_policies(&ca);
    // Each run unverified (the variable palisade reads for that) with one more variable.
    let with = |name: &str, value: &str| {
        Palisade::new(BIN, dir.path())
            .with_env("PALISADE_INSECURE_SKIP_VERIFICATION", "true")
            .with_env(name, value)
    };
    let refused = |cli: &Palisade, args: &[&str], says: &[&str]| {
        let output = cli.run(args);
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        for part in says {
            assert!(err.contains(part), "{args:?}: {part:?} not in {err}");
        }
    };
    refused(
        &with("KUBEWARDEN_PORT", "https"),
        &["policy-server"],
        &["--port", "KUBEWARDEN_PORT", "not a port number"],
    );
    refused(
        &with("KUBEWARDEN_READINESS_PROBE_PORT", "70000"),
        &["policy-server"],
        &["--readiness-probe-port", "KUBEWARDEN_READINESS_PROBE_PORT"],
    );
    refused(
        &with("KUBEWARDEN_PORT", "8443"),
        &["policy-server", "--addr", "127.0.0.1:3000"],
        &["--addr 127.0.0.1:3000", "--port (KUBEWARDEN_PORT)"],
    );
    refused(
        &with("KUBEWARDEN_CERT_FILE", "cert.pem")
            .with_env("KUBEWARDEN_KEY_FILE", "key.pem")
            .with_env("KUBEWARDEN_CLIENT_CA_FILE", "missing-ca.pem"),
        &["policy-server", "--addr", "127.0.0.1:0"],
        &[
            "--client-ca-file (KUBEWARDEN_CLIENT_CA_FILE)",
            "missing-ca.pem",
        ],
    );
    refused(
        &with("KUBEWARDEN_LOG_FMT", "xml"),
        &["policy-server"],
        &["--log-fmt", "KUBEWARDEN_LOG_FMT", "use `text` or `json`"],
    );
    refused(
        &with("KUBEWARDEN_LOG_LEVEL", "loud"),
        &["policy-server"],
        &["--log-level", "loud"],
    );
    refused(
        &with("KUBEWARDEN_POLICY_TIMEOUT", "soon"),
        &["policy-server"],
        &["--timeout", "a number of seconds"],
    );
    refused(
        &with("KUBEWARDEN_ENABLE_PPROF", "true"),
        &["policy-server"],
        &[
            "--enable-pprof",
            "KUBEWARDEN_ENABLE_PPROF",
            "palisade bench",
        ],
    );
    refused(
        &with("KUBEWARDEN_DAEMON", "true"),
        &["policy-server"],
        &["--daemon", "nohup"],
    );
    // Secure by default: what the controller's Deployment lacks is named.
    let unverified = Palisade::new(BIN, dir.path());
    refused(
        &unverified,
        &["policy-server"],
        &[
            "every policy of policies.yml must be verified",
            "spec.verificationConfig",
            "KUBEWARDEN_VERIFICATION_CONFIG_PATH",
            "PALISADE_INSECURE_SKIP_VERIFICATION=true",
        ],
    );
}
