//! `run` and `bench` with `--record-host-capabilities-interactions` and
//! `--replay-host-capabilities-interactions`: a context-aware policy recorded with its cluster
//! resources answers the same when replayed without them, and kwctl's session files replay too.

use std::path::{Path, PathBuf};

use serde_json::Value;
use test_support::{annotated_workdir, short_bench, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// A work folder with `namespaces.wasm` (the wapc-context fixture, annotated with metadata that
/// lists `v1/Namespace` in contextAwareResources), the request and the cluster's resources.
fn workdir() -> (tempfile::TempDir, test_support::Palisade) {
    let (dir, cli) = annotated_workdir(BIN);
    write_fixture(dir.path(), "wapc-context");
    cli.ok(&[
        "annotate",
        "wapc-context.wasm",
        "-m",
        "metadata/wapc.yml",
        "-o",
        "namespaces.wasm",
    ]);
    for (from, to) in [
        ("requests/pod-create.json", "request.json"),
        ("requests/context-resources.yml", "context-resources.yml"),
    ] {
        copy(&testdata_file(from), &dir.path().join(to));
    }
    (dir, cli)
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|err| panic!("copying {}: {err}", from.display()));
}

fn session(name: &str) -> PathBuf {
    testdata_file(&format!("sessions/{name}"))
}

/// The AdmissionReview response of `palisade run … -o json`.
fn response(stdout: &str) -> Value {
    let review: Value =
        serde_json::from_str(stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"));
    review["response"].clone()
}

#[test]
fn a_recorded_session_replays_without_the_cluster() {
    let (dir, cli) = workdir();
    let run = ["run", "namespaces.wasm", "-r", "request.json", "-o", "json"];
    let recorded = cli.ok(&[
        &run[..],
        &[
            "--context-resources",
            "context-resources.yml",
            "--record-host-capabilities-interactions",
            "session.yml",
        ],
    ]
    .concat());
    assert_eq!(response(&recorded)["allowed"], true, "{recorded}");
    let text = std::fs::read_to_string(dir.path().join("session.yml"))
        .unwrap_or_else(|err| panic!("reading the session: {err}"));
    assert!(
        text.starts_with("- type: Exchange\n  request: |\n    !KubernetesListResourceAll\n    api_version: v1\n    kind: Namespace\n"),
        "{text}"
    );
    assert!(
        text.contains("type: Success") && text.contains("payments"),
        "{text}"
    );

    // Without the resources the policy may not list namespaces: rejected…
    let alone = cli.ok(&run);
    assert_eq!(response(&alone)["allowed"], false, "{alone}");
    // …but with the session it gets the recorded answer.
    let replayed = cli.ok(&[
        &run[..],
        &["--replay-host-capabilities-interactions", "session.yml"],
    ]
    .concat());
    assert_eq!(response(&replayed), response(&recorded));
}

#[test]
fn kwctl_sessions_replay_their_answers_and_errors() {
    let (_dir, cli) = workdir();
    let replay = |name: &str| {
        let path = session(name);
        response(&cli.ok(&[
            "run",
            "namespaces.wasm",
            "-r",
            "request.json",
            "-o",
            "json",
            "--replay-host-capabilities-interactions",
            path.to_str().unwrap_or_default(),
        ]))
    };
    assert_eq!(replay("namespaces-listed.yml")["allowed"], true);
    let unreachable = replay("namespaces-unreachable.yml");
    assert_eq!(unreachable["allowed"], false);
    assert_eq!(
        unreachable["status"]["code"], 403,
        "the policy's own rejection"
    );
    // The session recorded another call: the policy's call is refused, so it rejects.
    assert_eq!(replay("namespace-fetched.yml")["allowed"], false);
}

#[test]
fn bench_replays_the_session_at_every_evaluation() {
    let (_dir, cli) = workdir();
    let path = session("namespaces-listed.yml");
    let out = cli.ok(&short_bench(
        "namespaces.wasm",
        &[
            "-o",
            "json",
            "--replay-host-capabilities-interactions",
            path.to_str().unwrap_or_default(),
        ],
    ));
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"));
    assert_eq!(report["iterations"], 20, "{out}");
}

#[test]
fn bad_session_flags_and_files_are_refused() {
    let (dir, cli) = workdir();
    std::fs::write(dir.path().join("bad.yml"), "{not: a list}")
        .unwrap_or_else(|err| panic!("writing bad.yml: {err}"));
    let record = "--record-host-capabilities-interactions";
    let replay = "--replay-host-capabilities-interactions";
    let cases: [(&[&str], &str); 5] = [
        (&[record, "a.yml", replay, "b.yml"], "cannot be used with"),
        (&[replay, "missing.yml"], "missing.yml"),
        (
            &[replay, "bad.yml"],
            "bad.yml: not a host-capabilities session",
        ),
        (
            &[record, "no/such/folder/s.yml"],
            "creating the session file no/such/folder/s.yml",
        ),
        (
            &[
                replay,
                "bad.yml",
                "--context-resources",
                "context-resources.yml",
            ],
            "cannot be used with",
        ),
    ];
    for (flags, expected) in cases {
        let output =
            cli.run(&[&["run", "namespaces.wasm", "-r", "request.json"][..], flags].concat());
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(expected), "{flags:?}: {err}");
    }
}
