//! A palisade server (`serve`, `policy-server`) running as a real process on a loopback port, for the tests that
//! talk HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server, killed when dropped.
pub struct Running {
    child: Child,
    /// `HOST:PORT`, from the line that says where it listens.
    pub addr: String,
    logs: PathBuf,
}

impl Running {
    /// Starts `palisade ARGS` in `dir` with `env` (its store and docker config in `dir`, its standard error in
    /// `dir/stderr.log`) and waits for the line that says where it listens.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        let logs = dir.join("stderr.log");
        let stderr = std::fs::File::create(&logs)
            .unwrap_or_else(|err| panic!("creating {}: {err}", logs.display()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(args)
            .current_dir(dir)
            .env("PALISADE_STORE", dir.join("store"))
            .env("DOCKER_CONFIG", dir.join("docker"))
            .env_remove("PALISADE_SOURCES")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("starting palisade {args:?}: {err}"));
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

    /// Sends one HTTP/1.1 request; returns the status line, the rest of the head (header lines) and the body. A
    /// server that hangs up (a TLS listener hearing plain HTTP) leaves them empty.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (String, String, String) {
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
        let _ = stream.read_to_string(&mut response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
        (status.to_string(), headers.to_string(), body.to_string())
    }

    /// Sends the server the signal `name` (`HUP`, …).
    #[allow(dead_code, reason = "only the tests that signal the server use it")]
    pub fn signal(&self, name: &str) {
        let signalled = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|err| panic!("running kill: {err}"));
        assert!(signalled.success(), "kill -{name}");
    }

    /// Stops the server with SIGTERM, checks that it stopped cleanly and returns what it wrote on standard error.
    pub fn stop(mut self) -> String {
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

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A work folder (`test_support::annotated_workdir`) for `bin` with `policy.wasm` (accepts) pushed to `registry`
/// as `policies/accept:v1` and signed with `a.key` (password `pw`, in the runner's environment), `reject.wasm`
/// annotated beside it, and the pod request as `request.json`; returns the folder, the runner and the reference.
#[allow(dead_code, reason = "not every test file runs registry policies")]
pub fn signed_workdir(
    bin: &str,
    registry: &test_support::RegistryServer,
) -> (tempfile::TempDir, test_support::Palisade, String) {
    let (dir, cli) = test_support::annotated_workdir(bin);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let accept = format!("registry://{}/policies/accept:v1", registry.host());
    cli.ok(&[
        "annotate",
        "wapc-reject.wasm",
        "-m",
        "metadata/wapc.yml",
        "-o",
        "reject.wasm",
    ]);
    cli.push("policy.wasm", &accept);
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    cli.ok(&["sign", &accept, "--key", "a.key"]);
    let request = test_support::testdata_file("requests/pod-create.json");
    std::fs::copy(&request, dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    (dir, cli, accept)
}
