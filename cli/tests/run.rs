//! `palisade run`: evaluating policies on an AdmissionReview.

use std::path::Path;

use serde_json::Value;
use test_support::{annotated_workdir, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// A work folder with the annotated waPC policy, the extra fixtures and the request.
fn workdir() -> (tempfile::TempDir, test_support::Palisade) {
    let (dir, cli) = annotated_workdir(BIN);
    for name in [
        "wapc-reject",
        "wapc-loop",
        "wapc-validate-loop",
        "wapc-settings",
        "wapc-mutate",
        "wasi-reject",
    ] {
        write_fixture(dir.path(), name);
    }
    let request = testdata_file("requests/pod-create.json");
    std::fs::copy(&request, dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    (dir, cli)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

#[test]
fn an_accepting_policy_prints_accepted() {
    let (_dir, cli) = workdir();
    let out = cli.ok(&[
        "run",
        "policy.wasm",
        "--request",
        "request.json",
        "-o",
        "text",
    ]);
    assert!(out.starts_with("accepted: policy.wasm"), "{out}");
    let out = cli.ok(&[
        "run",
        "policy.wasm",
        "-r",
        "request.json",
        "--output",
        "json",
    ]);
    let review = json(&out);
    assert_eq!(review["kind"], "AdmissionReview");
    assert_eq!(
        review["response"]["uid"],
        "705ab4f5-6393-11e8-b7cc-42010a800002"
    );
    assert_eq!(review["response"]["allowed"], true);
}

#[test]
fn a_rejection_is_a_result_not_a_failure() {
    let (_dir, cli) = workdir();
    let out = cli.ok(&[
        "run",
        "wapc-reject.wasm",
        "-r",
        "request.json",
        "-o",
        "text",
    ]);
    assert!(out.starts_with("rejected"), "{out}");
    assert!(
        out.contains("403") && out.contains("rejected by the fixture policy"),
        "{out}"
    );
    let review = json(&cli.ok(&[
        "run",
        "wapc-reject.wasm",
        "-r",
        "request.json",
        "-o",
        "json",
    ]));
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 403);
}

#[test]
fn a_policy_that_never_answers_is_a_500_rejection() {
    let (_dir, cli) = workdir();
    let out = cli.ok(&[
        "run",
        "wapc-validate-loop.wasm",
        "-r",
        "request.json",
        "--timeout",
        "100ms",
        "-o",
        "json",
    ]);
    let review = json(&out);
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 500);
    let message = review["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("timed out"), "{message}");
}

#[test]
fn settings_are_validated_first() {
    let (dir, cli) = workdir();
    std::fs::write(dir.path().join("settings.yml"), "replicas: 3\n")
        .unwrap_or_else(|err| panic!("writing settings: {err}"));
    std::fs::write(dir.path().join("empty.json"), "{}")
        .unwrap_or_else(|err| panic!("writing settings: {err}"));
    let err = cli.fails(&[
        "run",
        "wapc-settings.wasm",
        "-r",
        "request.json",
        "-s",
        "settings.yml",
    ]);
    assert!(
        err.contains("Provided settings are not valid: this policy takes no settings"),
        "{err}"
    );
    // A policy that fails while checking its settings fails the command too, as kwctl does.
    let err = cli.fails(&[
        "run",
        "wapc-loop.wasm",
        "-r",
        "request.json",
        "--timeout",
        "100ms",
    ]);
    assert!(
        err.contains("Provided settings are not valid: policy evaluation timed out after 100ms"),
        "{err}"
    );
    let out = cli.ok(&[
        "run",
        "wapc-settings.wasm",
        "-r",
        "request.json",
        "-s",
        "empty.json",
    ]);
    assert!(out.contains(r#""allowed":true"#), "{out}");
}

#[test]
fn a_mutation_is_a_patch_only_for_a_mutating_policy() {
    let (dir, cli) = workdir();
    // wapc.yml, but mutating.
    let metadata = dir.path().join("metadata");
    let wapc = std::fs::read_to_string(metadata.join("wapc.yml"))
        .unwrap_or_else(|err| panic!("reading wapc.yml: {err}"));
    assert!(wapc.contains("mutating: false"));
    std::fs::write(
        metadata.join("mutating.yml"),
        wapc.replace("mutating: false", "mutating: true"),
    )
    .unwrap_or_else(|err| panic!("writing mutating.yml: {err}"));
    cli.ok(&[
        "annotate",
        "wapc-mutate.wasm",
        "-m",
        "metadata/mutating.yml",
        "-o",
        "mutating.wasm",
    ]);
    cli.ok(&[
        "annotate",
        "wapc-mutate.wasm",
        "-m",
        "metadata/wapc.yml",
        "-o",
        "validating.wasm",
    ]);
    let review = json(&cli.ok(&["run", "mutating.wasm", "-r", "request.json", "-o", "json"]));
    assert_eq!(review["response"]["allowed"], true);
    assert_eq!(review["response"]["patchType"], "JSONPatch");
    assert!(review["response"]["patch"].is_string());
    let review = json(&cli.ok(&["run", "validating.wasm", "-r", "request.json", "-o", "json"]));
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 500);
    let out = cli.ok(&["run", "validating.wasm", "-r", "request.json", "-o", "text"]);
    assert!(out.contains("not allowed to mutate"), "{out}");
    // Without metadata nothing forbids it: the patch, printed as kwctl 1.35.0 prints it.
    let out = cli.ok(&["run", "wapc-mutate.wasm", "-r", "request.json"]);
    assert_eq!(
        out,
        concat!(
            r#"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"patchType":"JSONPatch","#,
            r#""patch":"W3sib3AiOiJhZGQiLCJwYXRoIjoiL21ldGFkYXRhL2xhYmVscyIsInZhbHVlIjp7Im11dGF0ZWQiOiJ5ZXMifX1d","#,
            r#""auditAnnotations":null,"warnings":null}"#,
            "\n"
        )
    );
}

#[test]
fn a_wasi_policy_runs_in_wasi_mode() {
    let (_dir, cli) = workdir();
    cli.ok(&[
        "annotate",
        "wasi-reject.wasm",
        "-m",
        "metadata/wasi.yml",
        "-o",
        "wasi.wasm",
    ]);
    let review = json(&cli.ok(&["run", "wasi.wasm", "-r", "request.json", "-o", "json"]));
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 418);
}

#[test]
fn a_rego_module_without_the_abi_exports_fails_to_load() {
    let (_dir, cli) = workdir();
    cli.ok(&[
        "annotate",
        "opa-deny.wasm",
        "-m",
        "metadata/gatekeeper.yml",
        "-o",
        "rego.wasm",
    ]);
    let err = cli.fails(&["run", "rego.wasm", "-r", "request.json"]);
    assert!(
        err.contains("the policy module does not export `opa_json_parse`"),
        "{err}"
    );
}

#[test]
fn bad_input_is_a_usage_error() {
    let (dir, cli) = workdir();
    std::fs::write(dir.path().join("bad.json"), r#"{"kind":"AdmissionReview"}"#)
        .unwrap_or_else(|err| panic!("writing bad.json: {err}"));
    for args in [
        ["run", "policy.wasm", "-r", "bad.json"],
        ["run", "policy.wasm", "-r", "missing.json"],
        ["run", "missing.wasm", "-r", "request.json"],
    ] {
        let output = cli.run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    assert!(Path::new(&dir.path().join("policy.wasm")).exists());
}

#[test]
fn the_request_can_come_from_stdin() {
    let (dir, cli) = workdir();
    let request = std::fs::read_to_string(dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("reading request.json: {err}"));
    let output = cli.run_with_stdin(
        &["run", "wapc-reject.wasm", "-r", "-", "-o", "json"],
        &request,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let review = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(review["response"]["status"]["code"], 403);
}

#[test]
fn the_mode_and_settings_can_be_given_on_the_command_line() {
    let (_dir, cli) = workdir();
    // An unannotated WASI module runs as waPC by default, and fails to load; named, it runs.
    let err = cli.fails(&["run", "wasi-reject.wasm", "-r", "request.json"]);
    assert!(err.contains("__guest_call"), "{err}");
    let review = json(&cli.ok(&[
        "run",
        "wasi-reject.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "wasi",
        "-o",
        "json",
    ]));
    assert_eq!(review["response"]["status"]["code"], 418);
    let err = cli.fails(&[
        "run",
        "wapc-settings.wasm",
        "-r",
        "request.json",
        "--settings-json",
        r#"{"replicas": 3}"#,
    ]);
    assert!(err.contains("this policy takes no settings"), "{err}");
    let err = cli.fails(&[
        "run",
        "policy.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "opa",
    ]);
    assert!(
        err.contains("the policy module does not export `opa_malloc`"),
        "{err}"
    );
}

/// The `.cwasm` entries of a module cache folder.
fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|entry| {
            entry
                .unwrap_or_else(|err| panic!("listing {}: {err}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .collect()
}

#[test]
fn compiled_modules_are_cached_by_default() {
    let (dir, cli) = workdir();
    // test_support points XDG_CACHE_HOME at dir/cache.
    let default = dir.path().join("cache/palisade/modules");
    cli.ok(&["run", "policy.wasm", "-r", "request.json"]);
    let entries = cache_entries(&default);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let written = std::fs::metadata(&entries[0])
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|err| panic!("{}: {err}", entries[0].display()));
    // The second run loads the entry: nothing is compiled or written again.
    cli.ok(&["run", "policy.wasm", "-r", "request.json"]);
    cli.ok(&[
        "bench",
        "policy.wasm",
        "-r",
        "request.json",
        "--iterations",
        "5",
    ]);
    assert_eq!(cache_entries(&default), entries);
    let reread = std::fs::metadata(&entries[0])
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|err| panic!("{}: {err}", entries[0].display()));
    assert_eq!(written, reread, "the entry was written again: a cache miss");

    // Another module, another entry; --disable-cache writes nothing; --cache-dir goes elsewhere.
    cli.ok(&["run", "wapc-reject.wasm", "-r", "request.json"]);
    assert_eq!(cache_entries(&default).len(), 2);
    for args in [
        [
            "run",
            "wapc-mutate.wasm",
            "-r",
            "request.json",
            "--disable-cache",
        ],
        [
            "bench",
            "wapc-mutate.wasm",
            "-r",
            "request.json",
            "--disable-wasmtime-cache",
        ],
    ] {
        cli.ok(&args);
    }
    assert_eq!(cache_entries(&default).len(), 2);
    cli.ok(&[
        "run",
        "wapc-mutate.wasm",
        "-r",
        "request.json",
        "--cache-dir",
        "mine",
    ]);
    assert_eq!(cache_entries(&dir.path().join("mine")).len(), 1);
    assert_eq!(cache_entries(&default).len(), 2);
}

#[test]
fn nothing_is_cached_with_disable_cache() {
    let (dir, cli) = workdir();
    cli.ok(&[
        "run",
        "policy.wasm",
        "-r",
        "request.json",
        "--disable-cache",
    ]);
    assert!(!dir.path().join("cache").exists());
}

#[test]
fn what_a_policy_logs_goes_to_stderr_and_palisade_own_logs_only_with_verbose() {
    let (dir, cli) = workdir();
    write_fixture(dir.path(), "wapc-wasi");
    let out = cli.run(&["run", "wapc-wasi.wasm", "-r", "request.json"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("palisade::policy"), "{stderr}");
    assert!(stderr.contains("hello from stdout"), "{stderr}");
    assert!(stderr.contains("hello from stderr, no newline"), "{stderr}");
    assert!(!stderr.contains("evaluator::gate"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("hello from"),
        "policy logs leaked into the answer: {stdout}"
    );

    let verbose = cli.run(&["-v", "run", "wapc-wasi.wasm", "-r", "request.json"]);
    assert!(verbose.status.success(), "{verbose:?}");
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(stderr.contains("evaluator::gate"), "{stderr}");
    assert!(stderr.contains("hello from stdout"), "{stderr}");
}
