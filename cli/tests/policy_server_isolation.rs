//! `palisade policy-server`'s isolation between policies, as a real server process on 127.0.0.1:0: a full
//! queue answered HTTP 503 with Retry-After, a circuit breaker that opens, fails fast, closes, and says so in
//! its logs and `/metrics`; bad limits are usage errors.

mod running;

use running::Running;
use test_support::{Palisade, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// `policies.yml` in `dir` with `healthy` (accepts), `loop` (loops) and `flaky` (loops on large requests).
fn policies(dir: &std::path::Path) {
    let mut text = String::new();
    for (id, fixture) in [
        ("healthy", "wapc-accept"),
        ("loop", "wapc-validate-loop"),
        ("flaky", "wapc-validate-slow-when-large"),
    ] {
        let module = write_fixture(dir, fixture);
        text.push_str(&format!("{id}:\n  module: file://{}\n", module.display()));
    }
    std::fs::write(dir.join("policies.yml"), text).unwrap_or_else(|err| panic!("{err}"));
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

#[test]
fn a_full_queue_is_503_and_the_breaker_opens_and_closes() {
    let dir = test_support::tempdir();
    policies(dir.path());
    let server = Running::start(
        dir.path(),
        &[
            "policy-server",
            "--policies",
            "policies.yml",
            "--insecure-skip-verification",
            "--addr",
            "127.0.0.1:0",
            "--timeout",
            "200ms",
            "--workers",
            "2",
            "--policy-workers",
            "1",
            "--policy-queue",
            "1",
            "--breaker-timeouts",
            "1",
            "--breaker-cool-down",
            "300ms",
        ],
        &[("PALISADE_LOG", "info")],
    );
    let small = std::fs::read_to_string(testdata_file("requests/pod-create.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    let large = serde_json::json!({"request": {"uid": "large", "object": {"data": {"blob": "x".repeat(8192)}}}})
        .to_string();

    // Four at once on the looping policy: two run (it is not known to be slow yet, so it may use both workers),
    // one waits, one is refused with 503 and Retry-After.
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asks: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| server.request("POST", "/validate/loop", &small)))
            .collect();
        asks.into_iter()
            .map(|ask| ask.join().unwrap_or_else(|_| panic!("a client panicked")))
            .collect()
    });
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| status == "HTTP/1.1 503 Service Unavailable")
        .collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    for (_, headers, body) in refused {
        assert!(
            headers.to_lowercase().contains("retry-after: 1"),
            "{headers}"
        );
        assert!(
            json(body)["error"]
                .as_str()
                .is_some_and(|e| e.contains("policy loop is overloaded"))
        );
    }
    let (status, _, body) = server.request("POST", "/validate/healthy", &small);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(json(&body)["response"]["allowed"], true);

    // One timeout opens the flaky policy's breaker: a request it would accept fails fast.
    let (_, _, body) = server.request("POST", "/validate/flaky", &large);
    assert_eq!(json(&body)["response"]["status"]["code"], 500, "{body}");
    let (_, _, body) = server.request("POST", "/validate/flaky", &small);
    let answer = json(&body);
    assert_eq!(answer["response"]["allowed"], false);
    assert_eq!(answer["response"]["status"]["code"], 503, "{body}");
    let (_, _, metrics) = server.request("GET", "/metrics", "");
    assert!(
        metrics
            .contains("palisade_policy_circuit_breaker_state{policy=\"flaky\",state=\"open\"} 1"),
        "{metrics}"
    );
    // After the cool-down, a trial that behaves closes it.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let (_, _, body) = server.request("POST", "/validate/flaky", &small);
    assert_eq!(json(&body)["response"]["allowed"], true, "{body}");
    let (_, _, metrics) = server.request("GET", "/metrics", "");
    assert!(
        metrics
            .contains("palisade_policy_circuit_breaker_state{policy=\"flaky\",state=\"closed\"} 1"),
        "{metrics}"
    );
    let logs = server.stop();
    let transitions: Vec<_> = logs
        .lines()
        .filter(|line| line.contains("circuit breaker") && line.contains("flaky"))
        .collect();
    assert_eq!(transitions.len(), 3, "{logs}");
    for (line, state) in transitions.iter().zip(["open", "half-open", "closed"]) {
        assert!(line.contains(&format!("state=\"{state}\"")), "{line}");
    }
}

#[test]
fn bad_limits_are_usage_errors() {
    let dir = test_support::tempdir();
    policies(dir.path());
    let cli = Palisade::new(BIN, dir.path());
    for (flag, value) in [
        ("--policy-queue", "0"),
        ("--policy-workers", "0"),
        ("--policy-queue-timeout", "soon"),
        ("--breaker-timeouts", "many"),
        ("--breaker-cool-down", "soon"),
    ] {
        let output = cli.run(&[
            "policy-server",
            "--policies",
            "policies.yml",
            "--insecure-skip-verification",
            flag,
            value,
        ]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}
