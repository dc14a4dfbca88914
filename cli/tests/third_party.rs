//! Palisade against third-party software: CNCF Distribution (Debian's `docker-registry`) with htpasswd
//! and TLS from a test CA, skopeo, and the oras Python SDK.

use std::path::Path;
use std::process::Command;

use test_support::{Distribution, DistributionOptions, Palisade, RegistryServer, TestCa};

fn workdir() -> (tempfile::TempDir, Palisade) {
    test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"))
}

fn trust(dir: &Path, registry: &str, ca_pem: &str) {
    let indented: String = ca_pem
        .lines()
        .map(|line| format!("        {line}\n"))
        .collect();
    let sources = format!(
        "source_authorities:\n  \"{registry}\":\n    - type: Data\n      data: |\n{indented}"
    );
    std::fs::write(dir.join("sources.yaml"), sources).unwrap();
}

#[test]
fn distribution_with_htpasswd_and_tls() {
    let ca = TestCa::new();
    let registry = Distribution::start(DistributionOptions {
        users: &[("alice", "wonderland")],
        tls: Some(&ca),
    });
    let (dir, cli) = workdir();
    let dir = dir.path();
    let host = registry.host();
    let reference = format!("registry://{host}/policies/pod-guard:v1");

    // Without the CA, TLS verification fails: a loopback registry with an authority is not insecure.
    trust(dir, &host, &TestCa::new().ca_pem);
    let err = cli.fails(&["push", "policy.wasm", &reference]);
    assert!(
        err.contains(&format!("cannot reach registry {host}")),
        "{err}"
    );

    trust(dir, &host, &ca.ca_pem);
    let err = cli.fails(&["push", "policy.wasm", &reference]);
    assert!(err.contains("palisade login"), "{err}");

    let login = cli.run_with_stdin(
        &["login", &host, "-u", "alice", "--password-stdin"],
        "wonderland\n",
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let pushed = cli.ok(&["push", "policy.wasm", &reference]);
    assert!(
        pushed.starts_with(&format!("{reference}@sha256:")),
        "{pushed}"
    );
    cli.ok(&["pull", &reference, "-O", "pulled.wasm"]);
    assert_eq!(
        std::fs::read(dir.join("pulled.wasm")).unwrap(),
        std::fs::read(dir.join("policy.wasm")).unwrap()
    );

    cli.ok(&["logout", &host]);
    let err = cli.fails(&["pull", &reference, "--refresh"]);
    assert!(err.contains("palisade login"), "{err}");
}

#[test]
fn distribution_without_tls_on_loopback() {
    let registry = Distribution::start(DistributionOptions::default());
    let (_dir, cli) = workdir();
    let reference = format!("{}/policies/pod-guard:v2", registry.host());
    let pushed = cli.ok(&["push", "policy.wasm", &reference]);
    // push names the reference as `registry://…`; digest answers in the form it was given, as kwctl does.
    let (_, digest) = pushed.trim().rsplit_once('@').unwrap();
    assert_eq!(
        cli.ok(&["digest", &reference]).trim(),
        format!("{reference}@{digest}")
    );
}

#[test]
fn skopeo_reads_what_we_push_and_we_read_what_skopeo_copies() {
    let registry = RegistryServer::start();
    let (dir, cli) = workdir();
    let dir = dir.path();
    let source = format!("{}/policies/pod-guard:v1", registry.host());
    let immutable = cli.ok(&["push", "policy.wasm", &source]);

    let raw = skopeo(
        dir,
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{source}"),
        ],
    );
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.wasm.content.layer.v1+wasm"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v1+json"
    );
    assert_eq!(
        manifest["annotations"]["io.kubewarden.policy.title"],
        "pod-guard"
    );

    skopeo(
        dir,
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{source}"),
            "oci:skopeo-layout:v1",
        ],
    );
    let target = format!("{}/copied/pod-guard:v1", registry.host());
    let pushed = cli.ok(&["push", "oci-layout://skopeo-layout:v1", &target]);
    let digest = |text: &str| text.trim().rsplit('@').next().unwrap().to_string();
    assert_eq!(
        digest(&pushed),
        digest(&immutable),
        "skopeo kept the manifest byte for byte"
    );
}

#[test]
fn the_oras_sdk_reads_ours_and_we_read_its() {
    let registry = RegistryServer::start();
    let (dir, cli) = workdir();
    let dir = dir.path();
    let ours = format!("{}/policies/pod-guard:v1", registry.host());
    cli.ok(&["push", "policy.wasm", &ours]);
    let theirs = format!("{}/oras/pod-guard:v1", registry.host());
    let script = format!(
        r#"
import hashlib, json, os, oras.client, oras.provider
client = oras.client.OrasClient(hostname="{host}", insecure=True)
manifest = client.get_manifest("{ours}")
layer = manifest["layers"][0]
assert layer["mediaType"] == "application/vnd.wasm.content.layer.v1+wasm", layer
blob = client.get_blob("{ours}", layer["digest"]).content
assert hashlib.sha256(blob).hexdigest() == hashlib.sha256(open("policy.wasm", "rb").read()).hexdigest()
open("config.json", "w").write("{{}}")
client.push(
    target="{theirs}",
    files=["policy.wasm:application/vnd.wasm.content.layer.v1+wasm"],
    manifest_config="config.json:application/vnd.wasm.config.v1+json",
    disable_path_validation=True,
)
print("ok")
"#,
        host = registry.host(),
    );
    let output = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the oras SDK failed (pip install oras):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    cli.ok(&["pull", &theirs, "-O", "from-oras.wasm"]);
    assert_eq!(
        std::fs::read(dir.join("from-oras.wasm")).unwrap(),
        std::fs::read(dir.join("policy.wasm")).unwrap()
    );
}

fn skopeo(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("cannot run skopeo ({err}): apt-get install skopeo"));
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
