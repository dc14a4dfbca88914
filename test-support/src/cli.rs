//! Running the `palisade` binary in a work folder, isolated from the user's store, credentials,
//! sources and module cache (`dir/cache/palisade/modules`), with a fixed `SOURCE_DATE_EPOCH` so
//! that pushes are reproducible.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary, bound to a work folder.
pub struct Palisade {
    binary: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Palisade {
    /// Runs `binary` (pass `env!("CARGO_BIN_EXE_palisade")`) in `dir`; the sources file is
    /// `dir/sources.yaml` when a test writes one.
    pub fn new(binary: &str, dir: &Path) -> Palisade {
        Palisade {
            binary: PathBuf::from(binary),
            dir: dir.to_path_buf(),
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every run.
    pub fn with_env(mut self, key: &str, value: &str) -> Palisade {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs with `args`, feeding `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = Command::new(&self.binary);
        let sources = self.dir.join("sources.yaml");
        if sources.exists() {
            command.env("PALISADE_SOURCES", sources);
        } else {
            command.env_remove("PALISADE_SOURCES");
        }
        let mut child = command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .current_dir(&self.dir)
            .env("PALISADE_STORE", self.dir.join("store"))
            .env("DOCKER_CONFIG", self.dir.join("docker"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("running {}: {err}", self.binary.display()));
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .unwrap_or_else(|err| panic!("writing stdin: {err}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|err| panic!("waiting for palisade: {err}"))
    }

    /// Runs with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    /// Runs with `args`, asserts success, returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Pushes `file` to `reference` and returns the manifest digest pushed (`sha256:…`).
    pub fn push(&self, file: &str, reference: &str) -> String {
        let pushed = self.ok(&["push", file, reference]);
        match pushed.trim().rsplit_once('@') {
            Some((_, digest)) => digest.to_string(),
            None => panic!("push printed no digest: {pushed}"),
        }
    }

    /// Pushes two policies to the registry at `host` (`HOST:PORT`), two entries a hub search tells apart:
    /// `policies/pod-guard:v1` (`policy.wasm` of [`annotated_workdir`]) and `policies/deployment-defaults:v1` (the
    /// WASI fixture annotated with `metadata/wasi.yml`).
    pub fn push_two_policies(&self, host: &str) {
        self.ok(&[
            "annotate",
            "wasi-accept.wasm",
            "-m",
            "metadata/wasi.yml",
            "-o",
            "wasi.wasm",
        ]);
        self.push(
            "policy.wasm",
            &format!("registry://{host}/policies/pod-guard:v1"),
        );
        self.push(
            "wasi.wasm",
            &format!("registry://{host}/policies/deployment-defaults:v1"),
        );
    }

    /// Runs with `args`, asserts exit code 1, returns standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?} should fail with 1; stdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// A work folder with every fixture (see [`crate::populate_workdir`]) and `policy.wasm`, the waPC
/// fixture annotated with `metadata/wapc.yml`; and `binary` bound to it.
pub fn annotated_workdir(binary: &str) -> (tempfile::TempDir, Palisade) {
    let dir = crate::tempdir();
    crate::populate_workdir(dir.path());
    let cli = Palisade::new(binary, dir.path());
    cli.ok(&[
        "annotate",
        "wapc-accept.wasm",
        "-m",
        "metadata/wapc.yml",
        "-o",
        "policy.wasm",
    ]);
    (dir, cli)
}

/// The arguments of `palisade bench POLICY` on `request.json`, 20 evaluations after 2 of warm-up, then
/// `extra`: a benchmark short enough for a test.
pub fn short_bench<'a>(policy: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "bench",
        policy,
        "-r",
        "request.json",
        "--iterations",
        "20",
        "--warmup",
        "2",
    ];
    args.extend_from_slice(extra);
    args
}
