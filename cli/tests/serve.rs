//! `palisade serve` and `palisade registry gc` as a user runs them: a real process on a loopback port, stopped with
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn palisade() -> Command {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
}

/// Sends one request and returns the status code.
fn request(addr: &str, request_line: &str, body: &[u8]) -> u16 {
    test_support::http(addr, request_line, &[], body).status
}

#[test]
fn serve_push_stop_and_collect_garbage() {
    let root = tempfile::tempdir().unwrap();
    let mut server = palisade()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--anonymous",
            "pull,push,delete",
            "--root",
        ])
        .arg(root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let addr = first_line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/v2/\n"))
        .unwrap_or_else(|| panic!("unexpected first line: {first_line}"))
        .to_string();
    assert!(first_line.starts_with(&format!(
        "serving {} at http://127.0.0.1:",
        root.path().display()
    )));

    assert_eq!(request(&addr, "GET /v2/", b""), 200);
    let digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let pushed = request(
        &addr,
        &format!("POST /v2/demo/blobs/uploads/?digest={digest}"),
        b"hello",
    );
    assert_eq!(pushed, 201);

    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(server.wait().unwrap().success(), "SIGTERM is a clean stop");

    let kept = palisade()
        .args(["registry", "gc", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&kept.stdout),
        "removed 0 manifests, 0 blob links, 0 blobs (0 bytes)\n"
    );
    let config = root.path().join("registry.yml");
    std::fs::write(&config, format!("root: {}\n", root.path().display())).unwrap();
    let collected = palisade()
        .args(["registry", "gc", "--grace", "0s", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&collected.stdout),
        "removed 0 manifests, 1 blob links, 1 blobs (5 bytes)\n",
        "an untagged blob goes once the grace period is over"
    );
}

#[test]
fn configuration_errors_exit_with_2() {
    let missing = palisade()
        .args(["serve", "--config", "/nonexistent/registry.yml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("/nonexistent/registry.yml"), "{stderr}");
    let bad_action = palisade()
        .args(["serve", "--anonymous", "pull,write"])
        .output()
        .unwrap();
    assert_eq!(bad_action.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_action.stderr).contains("unknown action \"write\""));
}
