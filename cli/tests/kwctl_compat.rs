//! kwctl 1.35's command lines, as Kubewarden's documentation and kwctl's own tests and README write them, run
//! against palisade with `kwctl` replaced by `palisade`: each must parse and do what kwctl does. Policies from
//! a registry come from a local one; the differences palisade keeps on purpose are asserted too (a policy from
//! a registry runs only once verified).

use std::process::Output;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde_json::Value;
use test_support::{Palisade, RegistryServer, annotated_workdir, testdata_file, write_fixture};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// Splits a documented command line like a shell would for these lines (words, and single-quoted JSON);
/// `HOST` stands for the local registry.
fn words(line: &str, host: &str) -> Vec<String> {
    let line = line.replace("HOST", host);
    let mut words = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (word, after) = match rest.strip_prefix('\'') {
            Some(quoted) => quoted
                .split_once('\'')
                .unwrap_or_else(|| panic!("unbalanced quote in {line}")),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word.to_string());
        rest = after.trim_start();
    }
    assert_eq!(words.first().map(String::as_str), Some("kwctl"), "{line}");
    words.remove(0);
    words
}

/// Runs a kwctl command line with palisade.
fn kwctl(cli: &Palisade, line: &str, host: &str) -> Output {
    let words = words(line, host);
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    cli.run(&args)
}

/// Runs `line`, asserts exit code `code`, returns (stdout, stderr).
fn expect(cli: &Palisade, line: &str, host: &str, code: i32) -> (String, String) {
    let output = kwctl(cli, line, host);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{line}\nstdout: {stdout}\nstderr: {stderr}"
    );
    (stdout, stderr)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// The work folder: the annotated waPC policy, fixtures, the requests of `testdata/requests` and a raw
/// mutating policy (`policyType: raw` in its metadata).
fn workdir() -> (tempfile::TempDir, Palisade) {
    let (dir, cli) = annotated_workdir(BIN);
    for name in ["wapc-settings", "wapc-mutate", "wapc-validate-loop"] {
        write_fixture(dir.path(), name);
    }
    for name in ["pod-create.json", "pod-create-request.json", "raw.json"] {
        let from = testdata_file(&format!("requests/{name}"));
        std::fs::copy(&from, dir.path().join(name))
            .unwrap_or_else(|err| panic!("copying {}: {err}", from.display()));
    }
    std::fs::write(
        dir.path().join("metadata/raw.yml"),
        "rules: []\nmutating: true\npolicyType: raw\nexecutionMode: kubewarden-wapc\n",
    )
    .unwrap_or_else(|err| panic!("writing raw.yml: {err}"));
    cli.ok(&[
        "annotate",
        "wapc-mutate.wasm",
        "-m",
        "metadata/raw.yml",
        "-o",
        "raw-mutation.wasm",
    ]);
    (dir, cli)
}

#[test]
fn run_and_bench_read_requests_and_flags_as_kwctl_does() {
    let (_dir, cli) = workdir();
    // kwctl's tests and `kwctl scaffold admission-request` use a bare AdmissionRequest; the Kubewarden docs
    // also use whole AdmissionReviews.
    for line in [
        "kwctl run --request-path pod-create-request.json policy.wasm",
        "kwctl run -r pod-create.json policy.wasm",
        "kwctl run --request-path pod-create-request.json --settings-json '{}' policy.wasm",
        "kwctl run -e kubewarden --request-path pod-create-request.json policy.wasm",
        "kwctl run --execution-mode kubewarden --disable-wasmtime-cache -r pod-create.json policy.wasm",
        "kwctl run --allowed-host-capabilities 'oci/*' --request-path pod-create-request.json policy.wasm",
        "kwctl run --request-path pod-create-request.json file://policy.wasm",
        "kwctl bench --request-path pod-create-request.json policy.wasm",
    ] {
        let (out, _) = expect(&cli, line, "", 0);
        let accepted = if line.starts_with("kwctl bench") {
            out.contains("1000 accepted, 0 rejected")
        } else {
            out.starts_with(r#"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"#)
        };
        assert!(accepted, "{line}: {out}");
    }
    // kwctl's e2e test of bench: its sampling settings are taken (and said to be ignored).
    let (out, err) = expect(
        &cli,
        "kwctl bench --warm-up-time 1 --measurement-time 1 --num-resamples 2 --num-samples 2 --request-path pod-create-request.json policy.wasm",
        "",
        0,
    );
    assert!(out.contains("accepted, 0 rejected"), "{out}");
    assert!(
        err.contains("--num-samples (kwctl's sampling) is ignored"),
        "{err}"
    );
    // kwctl's grant of context-aware access: palisade grants it always, and says where answers come from.
    let (out, err) = expect(
        &cli,
        "kwctl run --allow-context-aware --request-path pod-create-request.json policy.wasm",
        "",
        0,
    );
    assert!(out.contains(r#""allowed":true"#), "{out}");
    assert!(err.contains("--context-resources FILE"), "{err}");
    let (out, _) = expect(&cli, "kwctl inspect file://policy.wasm", "", 0);
    assert!(out.contains("pod-guard"), "{out}");
    let (out, _) = expect(
        &cli,
        "kwctl run --request-path pod-create-request.json wapc-reject.wasm",
        "",
        0,
    );
    // What kwctl 1.35.0 prints for it: the status's message before its code.
    assert_eq!(
        out,
        concat!(
            r#"{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":false,"#,
            r#""status":{"message":"rejected by the fixture policy","code":403},"#,
            r#""auditAnnotations":null,"warnings":null}"#,
            "\n"
        )
    );

    // Invalid settings end the command, as kwctl: exit 1, the policy's message.
    for line in [
        "kwctl run --request-path pod-create-request.json --settings-json '{\"replicas\": 3}' wapc-settings.wasm",
        "kwctl bench --request-path pod-create-request.json --settings-json '{\"replicas\": 3}' wapc-settings.wasm",
    ] {
        let (_, err) = expect(&cli, line, "", 1);
        assert!(
            err.contains("Provided settings are not valid: this policy takes no settings"),
            "{line}: {err}"
        );
    }
    // ... whereas a policy failing on the request itself is a rejection with code 500.
    let (out, _) = expect(
        &cli,
        "kwctl run --request-path pod-create-request.json --timeout 100ms -o json wapc-validate-loop.wasm",
        "",
        0,
    );
    assert_eq!(json(&out)["response"]["status"]["code"], 500, "{out}");
}

#[test]
fn raw_requests_are_evaluated_as_they_are() {
    let (_dir, cli) = workdir();
    // kwctl's e2e tests: `--raw` for a policy without metadata, implied by `policyType: raw`.
    let (out, _) = expect(
        &cli,
        "kwctl run --raw --request-path raw.json wapc-accept.wasm",
        "",
        0,
    );
    assert!(
        out == "{\"uid\":\"\",\"allowed\":true,\"auditAnnotations\":null,\"warnings\":null}\n",
        "{out}"
    );
    let (out, _) = expect(
        &cli,
        "kwctl run --request-path raw.json -o json raw-mutation.wasm",
        "",
        0,
    );
    let response = &json(&out)["response"];
    assert_eq!(response["allowed"], true, "{out}");
    assert_eq!(response["uid"], "", "{out}");
    // The patch is against the whole raw document (its `user` goes), not against an `object` in it.
    let patch = BASE64_STANDARD
        .decode(response["patch"].as_str().unwrap_or_default())
        .unwrap_or_else(|err| panic!("the patch is not base64: {err}"));
    let patch = String::from_utf8_lossy(&patch);
    assert!(
        patch.contains("\"/user\"") && patch.contains("\"remove\""),
        "{patch}"
    );
    // Without --raw, a raw document is not an AdmissionRequest.
    let (_, err) = expect(&cli, "kwctl run --request-path raw.json policy.wasm", "", 2);
    assert!(
        err.contains("raw.json") && err.contains("AdmissionRequest has no string `uid`"),
        "{err}"
    );
}

#[test]
fn completions_take_kwctls_flag() {
    let (_dir, cli) = workdir();
    let (out, _) = expect(&cli, "kwctl completions -s bash", "", 0);
    assert!(out.contains("_palisade()"), "{out}");
    let (out, _) = expect(&cli, "kwctl completions --shell zsh", "", 0);
    assert!(out.contains("#compdef palisade"), "{out}");
}

#[test]
fn annotate_takes_kwctls_flag_names() {
    let (dir, cli) = workdir();
    expect(
        &cli,
        "kwctl annotate --metadata-path metadata/wapc.yml --usage-path metadata/usage.md --output-path annotated.wasm wapc-accept.wasm",
        "",
        0,
    );
    expect(
        &cli,
        "kwctl annotate -m metadata/wapc.yml -u metadata/usage.md -o annotated2.wasm wapc-accept.wasm",
        "",
        0,
    );
    assert_eq!(
        std::fs::read(dir.path().join("annotated.wasm")).ok(),
        std::fs::read(dir.path().join("annotated2.wasm")).ok()
    );
}

#[test]
fn registry_command_lines_work_as_documented() {
    let registry = RegistryServer::start();
    let host = registry.host();
    let (dir, cli) = workdir();
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate"]);
    std::fs::create_dir_all(dir.path().join("docker"))
        .unwrap_or_else(|err| panic!("creating docker/: {err}"));

    // Publishing (kwctl's README, the docs' GitHub workflow: `kwctl push -o json … | jq -r .immutable_ref`).
    let (out, _) = expect(
        &cli,
        "kwctl push -o json policy.wasm registry://HOST/policies/pod-guard:v1",
        &host,
        0,
    );
    let immutable = json(&out)["immutable_ref"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // kwctl's form, which the workflow hands to `cosign sign`: HOST/REPOSITORY@sha256:…, no scheme, no tag.
    let digest = immutable
        .strip_prefix(&format!("{host}/policies/pod-guard@"))
        .unwrap_or_default()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{out}");
    expect(
        &cli,
        "kwctl push file://policy.wasm HOST/policies/pod-guard:latest",
        &host,
        0,
    );
    // Not annotated: refused, unless forced.
    expect(
        &cli,
        "kwctl push wapc-accept.wasm registry://HOST/tests/plain:v1",
        &host,
        1,
    );
    expect(
        &cli,
        "kwctl push -f wapc-accept.wasm registry://HOST/tests/plain:v1",
        &host,
        0,
    );
    cli.ok(&[
        "sign",
        &format!("registry://{host}/policies/pod-guard:v1"),
        "--key",
        "cosign.key",
        "-a",
        "env=prod",
    ]);

    // Verifying (the docs' secure supply chain page: `kwctl verify -k cosign.pub …`).
    for line in [
        "kwctl verify -k cosign.pub registry://HOST/policies/pod-guard:v1",
        "kwctl verify --verification-key cosign.pub --verification-annotation env=prod registry://HOST/policies/pod-guard:v1",
        "kwctl verify -k cosign.pub -a env=prod --docker-config-json-path docker registry://HOST/policies/pod-guard:v1",
        "kwctl verify --verification-config-path verification.yml registry://HOST/policies/pod-guard:v1",
    ] {
        if line.contains("verification.yml") {
            let key = std::fs::read_to_string(dir.path().join("cosign.pub"))
                .unwrap_or_else(|err| panic!("reading cosign.pub: {err}"));
            let key = key.trim().replace('\n', "\n      ");
            std::fs::write(
                dir.path().join("verification.yml"),
                format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n      {key}\n"),
            )
            .unwrap_or_else(|err| panic!("writing verification.yml: {err}"));
        }
        let (out, _) = expect(&cli, line, &host, 0);
        assert!(out.starts_with("verified"), "{line}: {out}");
    }
    expect(
        &cli,
        "kwctl verify -k cosign.pub -a env=dev registry://HOST/policies/pod-guard:v1",
        &host,
        1,
    );
    // kwctl's `--sigstore-trust-config` (a ClientTrustConfig): read, and nothing keyless signed this policy.
    std::fs::copy(
        testdata_file("signing/sigstore-public-good-client-trust-config.json"),
        dir.path().join("trust_config.json"),
    )
    .unwrap_or_else(|err| panic!("copying the trust config: {err}"));
    let (_, err) = expect(
        &cli,
        "kwctl verify --sigstore-trust-config trust_config.json --github-owner kubewarden registry://HOST/policies/pod-guard:v1",
        &host,
        1,
    );
    assert!(
        err.contains("githubAction") && err.contains("not verified"),
        "{err}"
    );
    // A trust config without its trusted root is named, with what it lacks; like every unusable input file, it
    // is a usage error (exit 2; kwctl exits 1 for every error).
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", "signingConfig": {}}"#,
    )
    .unwrap_or_else(|err| panic!("writing broken.json: {err}"));
    let (_, err) = expect(
        &cli,
        "kwctl verify --sigstore-trust-config broken.json --github-owner kubewarden registry://HOST/policies/pod-guard:v1",
        &host,
        2,
    );
    assert!(
        err.contains("broken.json") && err.contains("the ClientTrustConfig has no trustedRoot"),
        "{err}"
    );

    // Fetching, inspecting, running: each line, its exit code and what its output holds.
    for (line, code, holds) in [
        (
            "kwctl pull registry://HOST/policies/pod-guard:v1",
            0,
            "policies/pod-guard:v1@sha256:",
        ),
        // kwctl's `pull -o FILE` is `-O FILE` here: the error says so.
        (
            "kwctl pull -o copy.wasm registry://HOST/policies/pod-guard:v1",
            2,
            "-O copy.wasm",
        ),
        (
            "kwctl pull --output-path copy.wasm --docker-config-json-path docker registry://HOST/policies/pod-guard:v1",
            0,
            "policies/pod-guard:v1@sha256:",
        ),
        // kwctl's pull verifies first when given verification flags.
        (
            "kwctl pull -k cosign.pub -a env=prod registry://HOST/policies/pod-guard:v1",
            0,
            "policies/pod-guard:v1@sha256:",
        ),
        (
            "kwctl pull --verification-key cosign.pub --verification-annotation env=dev registry://HOST/policies/pod-guard:v1",
            1,
            "not verified",
        ),
        ("kwctl policies", 0, "policies/pod-guard:v1"),
        (
            "kwctl inspect registry://HOST/policies/pod-guard:v1",
            0,
            "pod-guard",
        ),
        (
            "kwctl inspect -o yaml policy.wasm",
            0,
            "executionMode: kubewarden-wapc",
        ),
        (
            "kwctl digest registry://HOST/policies/pod-guard:v1",
            0,
            digest.as_str(),
        ),
        (
            "kwctl run -k cosign.pub --request-path pod-create-request.json registry://HOST/policies/pod-guard:v1",
            0,
            r#""allowed":true"#,
        ),
        // Palisade refuses to run an unverified policy from a registry (exit 2), where kwctl runs it.
        (
            "kwctl run --request-path pod-create-request.json registry://HOST/policies/pod-guard:v1",
            2,
            "--insecure-skip-verification",
        ),
    ] {
        let (out, err) = expect(&cli, line, &host, code);
        assert!(
            out.contains(holds) || err.contains(holds),
            "{line}: {out}{err}"
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("copy.wasm")).ok(),
        std::fs::read(dir.path().join("policy.wasm")).ok()
    );
    // kwctl's digest prints the reference as given: without `registry://` when it was given without.
    let (out, _) = expect(&cli, "kwctl digest HOST/policies/pod-guard:v1", &host, 0);
    assert_eq!(out, format!("{host}/policies/pod-guard:v1@{digest}\n"));

    // Air gap: `kwctl load --input`, then `kwctl rm`.
    cli.ok(&[
        "save",
        &format!("registry://{host}/policies/pod-guard:v1"),
        "-O",
        "policies.tar",
    ]);
    expect(
        &cli,
        "kwctl rm registry://HOST/policies/pod-guard:v1",
        &host,
        0,
    );
    let (out, _) = expect(&cli, "kwctl load --input policies.tar", &host, 0);
    assert!(out.contains("policies/pod-guard:v1"), "{out}");
}
