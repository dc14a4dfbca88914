//! What operators of both servers, `palisade serve` and `palisade policy-server`, rely on alike: a `/metrics` that
//! the Prometheus project's own parser (Python `prometheus_client`) reads, with the families and types dashboards
//! query, and logs at the level `PALISADE_LOG` names, as JSON lines with `PALISADE_LOG_FORMAT=json`. Real processes
//! on loopback ports, stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// One of the two servers, running in its own folder.
struct Running {
    child: Child,
    addr: String,
    logs: PathBuf,
}

/// Which server, and the arguments that start it in `dir` on any free port.
#[derive(Clone, Copy)]
enum Kind {
    Registry,
    PolicyServer,
}

impl Kind {
    fn args(self, dir: &Path) -> Vec<String> {
        match self {
            Kind::Registry => vec![
                "serve".into(),
                "--addr".into(),
                "127.0.0.1:0".into(),
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
                    "127.0.0.1:0".into(),
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

impl Running {
    /// Starts `kind` in `dir` with `env` and waits for the line that says where it listens.
    fn start(kind: Kind, dir: &Path, env: &[(&str, &str)]) -> Running {
        let logs = dir.join("stderr.log");
        let stderr = std::fs::File::create(&logs)
            .unwrap_or_else(|err| panic!("creating {}: {err}", logs.display()));
        let mut child = Command::new(BIN)
            .args(kind.args(dir))
            .envs(env.iter().copied())
            .env_remove("PALISADE_SOURCES")
            .env("PALISADE_STORE", dir.join("store"))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {BIN}: {err}"));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .unwrap_or_else(|err| panic!("reading the server's first line: {err}"));
        }
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ' ', '\n']).next())
            .unwrap_or_default()
            .to_string();
        assert!(!addr.is_empty(), "no listening line: {line:?}");
        Running { child, addr, logs }
    }

    /// Sends one HTTP/1.1 request; returns the status line, the content type and the body.
    fn request(&self, method: &str, path: &str, body: &str) -> (String, String, String) {
        let mut stream = TcpStream::connect(&self.addr)
            .unwrap_or_else(|err| panic!("connecting to {}: {err}", self.addr));
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|err| panic!("sending: {err}"));
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .unwrap_or_else(|err| panic!("reading the answer: {err}"));
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.lines().next().unwrap_or_default().to_string();
        let content_type = head
            .lines()
            .find_map(|line| line.strip_prefix("content-type: "))
            .unwrap_or_default()
            .to_string();
        (status, content_type, body.to_string())
    }

    /// Stops the server with SIGTERM, checks that it stopped cleanly and returns what it logged.
    fn stop(mut self) -> String {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|err| panic!("running kill: {err}"));
        assert!(signalled.success());
        let status = self
            .child
            .wait()
            .unwrap_or_else(|err| panic!("waiting for the server: {err}"));
        assert!(status.success(), "SIGTERM is a clean stop: {status}");
        std::fs::read_to_string(&self.logs)
            .unwrap_or_else(|err| panic!("reading {}: {err}", self.logs.display()))
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
            ],
        ),
    ];
    for (kind, families) in expected {
        let dir = test_support::tempdir();
        let server = Running::start(kind, dir.path(), &[]);
        kind.exercise(&server);
        let (status, content_type, text) = server.request("GET", "/metrics", "");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
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
            let server = Running::start(kind, dir.path(), &env);
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
