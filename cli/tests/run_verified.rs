//! `palisade run REF`: registry policies run only verified (fail closed), files with their bundle when asked,
//! and --insecure-skip-verification warns every time.

use test_support::{RegistryServer, annotated_workdir, testdata_file};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

#[test]
fn registry_policies_run_only_when_verified() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir(BIN);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let request = testdata_file("requests/pod-create.json");
    std::fs::copy(&request, dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    let reference = format!("registry://{}/policies/accept:v1", registry.host());
    cli.push("policy.wasm", &reference);
    std::fs::write(dir.path().join("settings.yml"), "{}\n").unwrap_or_else(|err| panic!("{err}"));
    cli.ok(&["key", "generate", "--output-prefix", "a"]);

    // No verification flag: refused (exit 2) with what to pass.
    let output = cli.run(&["run", &reference, "--request-path", "request.json"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("must be verified before it runs: pass --key")
            && err.contains("--insecure-skip-verification"),
        "{err}"
    );
    // Not signed: exit 1, never run.
    let err = cli.fails(&["run", &reference, "-r", "request.json", "--key", "a.pub"]);
    assert!(
        err.contains("refusing to run") && err.contains("no signatures found"),
        "{err}"
    );
    // Signed: runs, the module compiled into the cache.
    cli.ok(&["sign", &reference, "--key", "a.key"]);
    let out = cli.ok(&[
        "run",
        &reference,
        "--request-path",
        "request.json",
        "--settings-path",
        "settings.yml",
        "--key",
        "a.pub",
        "--cache-dir",
        "cache",
        "-o",
        "text",
    ]);
    assert!(out.starts_with(&format!("accepted: {reference}")), "{out}");
    assert_eq!(
        dir.path()
            .join("cache")
            .read_dir()
            .map_or(0, Iterator::count),
        1
    );
    // Insecure: runs, with a warning on standard error every time.
    for _ in 0..2 {
        let output = cli.run(&[
            "run",
            &reference,
            "-r",
            "request.json",
            "--insecure-skip-verification",
        ]);
        assert!(output.status.success());
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("runs WITHOUT signature verification"), "{err}");
    }
    let output = cli.run(&[
        "run",
        &reference,
        "-r",
        "request.json",
        "--insecure-skip-verification",
        "--key",
        "a.pub",
    ]);
    assert_eq!(output.status.code(), Some(2), "the two flags conflict");
}

#[test]
fn a_file_is_verified_by_its_bundle_when_asked() {
    let (dir, cli) = annotated_workdir(BIN);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let request = testdata_file("requests/pod-create.json");
    std::fs::copy(&request, dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    let err = cli.fails(&["run", "policy.wasm", "-r", "request.json", "--key", "a.pub"]);
    assert!(
        err.contains("no Sigstore bundle") && err.contains("policy.wasm.sigstore.json"),
        "{err}"
    );
    // `palisade sign FILE` writes the bundle; the file then runs verified, and not once it changes.
    let out = cli.ok(&["sign", "policy.wasm", "--key", "a.key"]);
    assert_eq!(
        out,
        "signed policy.wasm\n  bundle in policy.wasm.sigstore.json\n"
    );
    let out = cli.ok(&[
        "run",
        "policy.wasm",
        "-r",
        "request.json",
        "--key",
        "a.pub",
        "-o",
        "text",
    ]);
    assert!(out.starts_with("accepted: policy.wasm"), "{out}");
    cli.ok(&["key", "generate", "--output-prefix", "b"]);
    let err = cli.fails(&["run", "policy.wasm", "-r", "request.json", "--key", "b.pub"]);
    assert!(
        err.contains("refusing to run policy.wasm") && err.contains("signature does not match"),
        "another key: {err}"
    );
    let mut changed = std::fs::read(dir.path().join("policy.wasm")).unwrap();
    changed.extend_from_slice(&[0, 2, 1, b'x']); // an empty custom section named "x"
    std::fs::write(dir.path().join("policy.wasm"), changed).unwrap();
    let err = cli.fails(&["run", "policy.wasm", "-r", "request.json", "--key", "a.pub"]);
    assert!(
        err.contains("refusing to run policy.wasm")
            && err.contains("a signature of another artifact"),
        "a changed module: {err}"
    );
    std::fs::remove_file(dir.path().join("policy.wasm.sigstore.json")).unwrap();
    // A layout folder carries no signatures.
    cli.ok(&["push", "policy.wasm", "oci-layout://layout:v1"]);
    let err = cli.fails(&[
        "run",
        "oci-layout://layout:v1",
        "-r",
        "request.json",
        "--key",
        "a.pub",
    ]);
    assert!(err.contains("carries no signatures"), "{err}");
    let out = cli.ok(&[
        "run",
        "oci-layout://layout:v1",
        "-r",
        "request.json",
        "--insecure-skip-verification",
        "-o",
        "text",
    ]);
    assert!(out.starts_with("accepted: oci-layout://layout:v1"), "{out}");
}
