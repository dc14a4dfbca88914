//! `palisade run` on Rego policies (the `opa` and `gatekeeper` execution modes): the real
//! modules of ../shared/policies and the WAT fixtures that misbehave.

use serde_json::Value;
use test_support::{Palisade, short_bench, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

const SHARED: [&str; 3] = [
    "gatekeeper_always_happy_policy.wasm",
    "gatekeeper_always_unhappy_policy.wasm",
    "no-default-namespace-rego.wasm",
];

/// A work folder with the Rego fixtures and the two requests (`request.json` in namespace
/// `default`, `request-apps.json` in `apps`).
fn workdir() -> (tempfile::TempDir, Palisade) {
    let dir = test_support::tempdir();
    for name in ["opa-builtins", "opa-abort", "wapc-accept"] {
        write_fixture(dir.path(), name);
    }
    for (from, to) in [
        ("pod-create.json", "request.json"),
        ("pod-create-apps.json", "request-apps.json"),
    ] {
        let request = testdata_file(&format!("requests/{from}"));
        std::fs::copy(&request, dir.path().join(to))
            .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    }
    let cli = Palisade::new(BIN, dir.path());
    (dir, cli)
}

/// [`workdir`] with the shared Rego policies too; `None` when ../shared/policies is absent
/// (`test` is skipped).
fn workdir_with_shared(test: &str) -> Option<(tempfile::TempDir, Palisade)> {
    let (dir, cli) = workdir();
    for name in SHARED {
        let path = test_support::shared_policy(test, name)?;
        std::fs::copy(&path, dir.path().join(name))
            .unwrap_or_else(|err| panic!("copying {}: {err}", path.display()));
    }
    Some((dir, cli))
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

#[test]
fn gatekeeper_policies_run_by_their_metadata_or_the_flag() {
    let Some((_dir, cli)) =
        workdir_with_shared("gatekeeper_policies_run_by_their_metadata_or_the_flag")
    else {
        return;
    };
    // Annotated by kwctl with `executionMode: gatekeeper`.
    // By default, kwctl 1.35.0's output, byte for byte.
    let out = cli.ok(&[
        "run",
        "gatekeeper_always_unhappy_policy.wasm",
        "-r",
        "request.json",
    ]);
    assert_eq!(
        out,
        "{\"uid\":\"705ab4f5-6393-11e8-b7cc-42010a800002\",\"allowed\":false,\"status\":{\"message\":\"failing as expected\"},\"auditAnnotations\":null,\"warnings\":null}\n"
    );
    let out = cli.ok(&[
        "run",
        "gatekeeper_always_unhappy_policy.wasm",
        "-r",
        "request.json",
        "-o",
        "text",
    ]);
    assert_eq!(
        out,
        "rejected: gatekeeper_always_unhappy_policy.wasm (uid 705ab4f5-6393-11e8-b7cc-42010a800002)\n  message  failing as expected\n"
    );
    // Not annotated: the mode comes from the flag.
    let review = json(&cli.ok(&[
        "run",
        "gatekeeper_always_happy_policy.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "gatekeeper",
        "-o",
        "json",
    ]));
    assert_eq!(review["response"]["allowed"], true);
    assert_eq!(
        review["response"]["uid"],
        "705ab4f5-6393-11e8-b7cc-42010a800002"
    );
}

#[test]
fn an_opa_policy_rejects_the_default_namespace_and_accepts_another() {
    let Some((_dir, cli)) =
        workdir_with_shared("an_opa_policy_rejects_the_default_namespace_and_accepts_another")
    else {
        return;
    };
    let args = |request| {
        [
            "run",
            "no-default-namespace-rego.wasm",
            "-r",
            request,
            "--execution-mode",
            "opa",
            "-o",
            "json",
        ]
    };
    let rejected = json(&cli.ok(&args("request.json")));
    assert_eq!(rejected["response"]["allowed"], false);
    assert_eq!(
        rejected["response"]["status"]["message"],
        "you cannot use the default namespace"
    );
    let accepted = json(&cli.ok(&args("request-apps.json")));
    assert_eq!(accepted["response"]["allowed"], true);
    assert_eq!(
        accepted["response"]["uid"],
        "c9f2c2d0-7a4e-4c55-9a0e-2f1a8d3c6b11"
    );
}

#[test]
fn opa_settings_are_the_policys_data() {
    let (_dir, cli) = workdir();
    // opa-builtins answers sprintf("%d bytes", [units.parse(data)]).
    let out = cli.ok(&[
        "run",
        "opa-builtins.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "opa",
        "--settings-json",
        r#""2Ki""#,
    ]);
    assert!(
        out.contains(r#""status":{"message":"2048 bytes"}"#),
        "{out}"
    );
}

#[test]
fn a_misbehaving_rego_policy_is_a_500_rejection() {
    let (_dir, cli) = workdir();
    let review = json(&cli.ok(&[
        "run",
        "opa-abort.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "gatekeeper",
        "-o",
        "json",
    ]));
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 500);
    let message = review["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("opa_abort): internal error: out of cheese"),
        "{message}"
    );
    let out = cli.ok(&[
        "run",
        "opa-builtins.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "opa",
        "--settings-json",
        r#""lots""#,
    ]);
    assert!(out.contains("Rego builtin `units.parse` failed"), "{out}");
}

#[test]
fn a_module_that_is_not_a_rego_policy_fails_to_load() {
    let (_dir, cli) = workdir();
    let err = cli.fails(&[
        "run",
        "wapc-accept.wasm",
        "-r",
        "request.json",
        "--execution-mode",
        "opa",
    ]);
    assert!(
        err.contains(
            "loading wapc-accept.wasm (opa): the policy module does not export `opa_malloc`"
        ),
        "{err}"
    );
}

#[test]
fn a_rego_module_without_metadata_needs_the_mode() {
    let Some((_dir, cli)) = workdir_with_shared("a_rego_module_without_metadata_needs_the_mode")
    else {
        return;
    };
    let output = cli.run(&[
        "run",
        "no-default-namespace-rego.wasm",
        "-r",
        "request.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(
            "the module has no metadata and it exports `opa_*` functions (a Rego policy): pass --execution-mode opa or gatekeeper"
        ),
        "{err}"
    );
}

#[test]
fn bench_keeps_one_rego_instance_with_reuse_instance() {
    let Some((_dir, cli)) =
        workdir_with_shared("bench_keeps_one_rego_instance_with_reuse_instance")
    else {
        return;
    };
    let opa = ["--execution-mode", "opa", "--reuse-instance"];
    let report = json(&cli.ok(&short_bench(
        "no-default-namespace-rego.wasm",
        &[&opa[..], &["-o", "json"]].concat(),
    )));
    assert_eq!(report["reusedInstance"], true);
    assert_eq!(
        (report["iterations"].as_u64(), report["rejected"].as_u64()),
        (Some(20), Some(20))
    );
    let text = cli.ok(&short_bench("no-default-namespace-rego.wasm", &opa));
    assert!(
        text.starts_with(
            "no-default-namespace-rego.wasm: 20 evaluations after 2 warm-up, one instance reused\n"
        ),
        "{text}"
    );
    let fresh = json(&cli.ok(&short_bench(
        "no-default-namespace-rego.wasm",
        &["--execution-mode", "opa", "-o", "json"],
    )));
    assert_eq!(fresh["reusedInstance"], false);
}

#[test]
fn bench_keeps_one_wapc_instance_with_reuse_instance() {
    let (_dir, cli) = workdir();
    let reused = ["--reuse-instance", "-o", "json"];
    let report = json(&cli.ok(&short_bench("wapc-accept.wasm", &reused)));
    assert_eq!(report["reusedInstance"], true);
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(20), Some(0))
    );
    let text = cli.ok(&short_bench("wapc-accept.wasm", &["--reuse-instance"]));
    assert!(
        text.starts_with("wapc-accept.wasm: 20 evaluations after 2 warm-up, one instance reused\n"),
        "{text}"
    );
}
