//! What operators of both servers, `palisade serve` and `palisade policy-server`, rely on alike: a `/metrics` that
//! the Prometheus project's own parser (Python `prometheus_client`) reads, with the families and types dashboards
//! query; logs at the level `PALISADE_LOG` names, as JSON lines with `PALISADE_LOG_FORMAT=json`; an address in use
//! named, exit 2. Real processes on loopback ports, stopped with SIGTERM.

mod running;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use running::Running;
use serde_json::{Value, json};

/// Which server, and the arguments that start it.
#[derive(Clone, Copy)]
enum Kind {
    Registry,
    PolicyServer,
}

impl Kind {
    /// Starts this server in `dir` with `env`, on any free port.
    fn start(self, dir: &Path, env: &[(&str, &str)]) -> Running {
        let args = self.args(dir, "127.0.0.1:0");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Running::start(dir, &args, env)
    }

    /// The command line that serves from `dir` on `addr`.
    fn args(self, dir: &Path, addr: &str) -> Vec<String> {
        match self {
            Kind::Registry => vec![
                "serve".into(),
                "--addr".into(),
                addr.into(),
                "--root".into(),
                dir.join("root").display().to_string(),
            ],
            Kind::PolicyServer => {
                let module = test_support::write_fixture(dir, "wapc-accept");
                let policies = dir.join("policies.yml");
                std::fs::write(
                    &policies,
                    format!("accept:\n  module: file://{}\n", module.display()),
                )
                .unwrap_or_else(|err| panic!("writing {}: {err}", policies.display()));
                vec![
                    "policy-server".into(),
                    "--policies".into(),
                    policies.display().to_string(),
                    "--insecure-skip-verification".into(),
                    "--addr".into(),
                    addr.into(),
                ]
            }
        }
    }

    /// A request that the server answers and counts in its metrics.
    fn exercise(self, server: &Running) {
        match self {
            Kind::Registry => {
                let (status, _, _) = server.request("GET", "/healthz", "");
                assert_eq!(status, "HTTP/1.1 200 OK");
            }
            Kind::PolicyServer => {
                let review = std::fs::read_to_string(test_support::testdata_file(
                    "requests/pod-create.json",
                ))
                .unwrap_or_else(|err| panic!("reading the admission review: {err}"));
                let (status, _, body) = server.request("POST", "/validate/accept", &review);
                assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
            }
        }
    }
}

/// The exposition parsed by Prometheus' Python parser: each family's type and samples.
fn parse_exposition(text: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse_metrics.py");
    let mut parser = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("python3 cannot run ({err}): scripts/test.sh installs it"));
    parser
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()))
        .transpose()
        .unwrap_or_else(|err| panic!("writing to the parser: {err}"));
    let output = parser
        .wait_with_output()
        .unwrap_or_else(|err| panic!("running the parser: {err}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Prometheus parser rejects the exposition (`pip install prometheus-client` if it is missing):\n{stderr}\n{text}"
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("the parser's JSON: {err}"))
}

/// The value of the sample `name` with exactly `labels` in `family`.
fn sample(families: &Value, family: &str, name: &str, labels: Value) -> Option<f64> {
    families[family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s[0] == name && s[1] == labels)
        .and_then(|s| s[2].as_f64())
}

#[test]
fn both_servers_expose_metrics_that_prometheus_parses() {
    let expected = [
        (
            Kind::Registry,
            vec![
                ("palisade_registry_http_requests", "counter"),
                (
                    "palisade_registry_http_request_duration_seconds",
                    "histogram",
                ),
                ("palisade_registry_http_requests_in_flight", "gauge"),
            ],
        ),
        (
            Kind::PolicyServer,
            vec![
                ("palisade_policy_evaluations", "counter"),
                ("palisade_policy_evaluation_duration_seconds", "histogram"),
                ("palisade_policy_queued_requests", "gauge"),
                ("palisade_policy_circuit_breaker_state", "gauge"),
                ("palisade_policy_server_generation", "gauge"),
                ("palisade_policy_server_reloads", "counter"),
                ("palisade_policy_server_last_reload_success", "gauge"),
                ("palisade_policy_server_reload_policies", "counter"),
            ],
        ),
    ];
    for (kind, families) in expected {
        let dir = test_support::tempdir();
        let server = kind.start(dir.path(), &[]);
        kind.exercise(&server);
        let (status, headers, text) = server.request("GET", "/metrics", "");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            headers
                .lines()
                .any(|line| line == "content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{headers}"
        );
        let parsed = parse_exposition(&text);
        let found: Vec<(&str, &str)> = parsed
            .as_object()
            .map(|all| {
                all.iter()
                    .map(|(name, family)| (name.as_str(), family["type"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        let mut families = families;
        families.sort();
        assert_eq!(found, families, "{text}");
        match kind {
            Kind::Registry => {
                let healthz = json!({"method": "GET", "code": "200"});
                let counted = sample(
                    &parsed,
                    "palisade_registry_http_requests",
                    "palisade_registry_http_requests_total",
                    healthz,
                );
                assert_eq!(counted, Some(1.0), "{text}");
                let in_flight = sample(
                    &parsed,
                    "palisade_registry_http_requests_in_flight",
                    "palisade_registry_http_requests_in_flight",
                    json!({}),
                );
                assert_eq!(in_flight, Some(1.0), "the scrape itself: {text}");
            }
            Kind::PolicyServer => {
                let evaluations = |outcome: &str| {
                    sample(
                        &parsed,
                        "palisade_policy_evaluations",
                        "palisade_policy_evaluations_total",
                        json!({"policy": "accept", "outcome": outcome}),
                    )
                };
                assert_eq!(evaluations("accepted"), Some(1.0), "{text}");
                assert_eq!(evaluations("rejected"), Some(0.0), "{text}");
                assert_eq!(evaluations("error"), Some(0.0), "{text}");
                let count = sample(
                    &parsed,
                    "palisade_policy_evaluation_duration_seconds",
                    "palisade_policy_evaluation_duration_seconds_count",
                    json!({"policy": "accept"}),
                );
                assert_eq!(count, Some(1.0), "{text}");
            }
        }
        server.stop();
    }
}

#[test]
fn palisade_log_sets_the_level_of_both_servers() {
    for kind in [Kind::Registry, Kind::PolicyServer] {
        let dir = test_support::tempdir();
        let levels = |log: &str| {
            let env = [("PALISADE_LOG", log), ("PALISADE_LOG_FORMAT", "json")];
            let server = kind.start(dir.path(), &env);
            kind.exercise(&server);
            let logs = server.stop();
            // The command's own `warning:` lines (here: no signature verification) are not log events.
            logs.lines()
                .filter(|line| !line.starts_with("warning: "))
                .map(|line| {
                    let event: Value = serde_json::from_str(line)
                        .unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}"));
                    event["level"].as_str().unwrap_or_default().to_string()
                })
                .collect::<Vec<_>>()
        };
        let info = levels("info");
        assert!(
            info.iter().any(|level| level == "INFO"),
            "PALISADE_LOG=info logs what the server does: {info:?}"
        );
        let warn = levels("warn");
        assert!(
            warn.iter().all(|level| level == "WARN" || level == "ERROR"),
            "PALISADE_LOG=warn keeps only warnings and errors: {warn:?}"
        );
    }
}

#[test]
fn an_address_in_use_is_named_by_both_servers() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|err| panic!("binding a loopback port: {err}"));
    let addr = taken
        .local_addr()
        .unwrap_or_else(|err| panic!("the bound port: {err}"))
        .to_string();
    for kind in [Kind::Registry, Kind::PolicyServer] {
        let dir = test_support::tempdir();
        let output = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(kind.args(dir.path(), &addr))
            .env("PALISADE_STORE", dir.path().join("store"))
            .output()
            .unwrap_or_else(|err| panic!("running palisade: {err}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "error: cannot serve on {addr}: Address already in use"
            )) && stderr.contains("choose another address or free this one"),
            "{stderr}"
        );
    }
}
