//! Push, digest, pull, policies and rm against a real registry-server on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Output};

use test_support::{RegistryServer, populate_workdir, tempdir};

fn palisade(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .current_dir(dir)
        .env("PALISADE_STORE", dir.join("store"))
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env_remove("PALISADE_SOURCES")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = palisade(dir, args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let output = palisade(dir, args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn push_digest_pull_list_remove() {
    let registry = RegistryServer::start();
    let dir = tempdir();
    let dir = dir.path();
    populate_workdir(dir);
    ok(
        dir,
        &[
            "annotate",
            "wapc-accept.wasm",
            "-m",
            "metadata/wapc.yml",
            "-o",
            "policy.wasm",
        ],
    );
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());

    let pushed = ok(dir, &["push", "policy.wasm", &reference]);
    let immutable = pushed.trim();
    assert!(
        immutable.starts_with(&format!("{reference}@sha256:")),
        "{immutable}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["push", "policy.wasm", &reference, "-o", "json"])).unwrap();
    assert_eq!(
        json["immutable_ref"], immutable,
        "with SOURCE_DATE_EPOCH, pushing the same module again gives the same digest"
    );

    assert_eq!(ok(dir, &["digest", &reference]).trim(), immutable);

    let pulled = ok(dir, &["pull", &reference, "--output-path", "pulled.wasm"]);
    assert_eq!(pulled.trim(), immutable);
    assert_eq!(
        std::fs::read(dir.join("pulled.wasm")).unwrap(),
        std::fs::read(dir.join("policy.wasm")).unwrap()
    );

    let again = ok(dir, &["pull", &reference]);
    assert_eq!(again.trim(), format!("{immutable} (from the store)"));

    let listing = ok(dir, &["policies"]);
    assert!(
        listing.contains(&reference) && listing.contains("pod-guard") && listing.contains(" no "),
        "{listing}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["policies", "-o", "json"])).unwrap();
    assert_eq!(json[0]["reference"], reference.as_str());
    assert_eq!(json[0]["mutating"], false);

    let removed = ok(dir, &["rm", &reference]);
    assert!(removed.starts_with("removed "), "{removed}");
    assert!(ok(dir, &["policies"]).contains("no policies"));
    assert!(fails(dir, &["rm", &reference]).contains("no stored policy matches"));
}

#[test]
fn refusals_name_the_problem() {
    let registry = RegistryServer::start();
    let dir = tempdir();
    let dir = dir.path();
    populate_workdir(dir);
    let host = registry.host();

    let err = fails(dir, &["push", "wapc-accept.wasm", &format!("{host}/p:v1")]);
    assert!(
        err.contains("wapc-accept.wasm") && err.contains("no policy metadata"),
        "{err}"
    );
    ok(
        dir,
        &[
            "push",
            "wapc-accept.wasm",
            &format!("{host}/p:v1"),
            "--force",
        ],
    );

    let err = fails(dir, &["pull", &format!("{host}/missing:v1")]);
    assert!(
        err.contains("missing:v1") && err.contains("not found"),
        "{err}"
    );

    let err = fails(dir, &["pull", "127.0.0.1:1/p:v1"]);
    assert!(err.contains("cannot reach registry 127.0.0.1:1"), "{err}");

    let store = dir.join("store");
    assert!(
        !store.join("index.json").exists(),
        "failed pulls leave no index entry"
    );
}
