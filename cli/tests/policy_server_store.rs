//! `palisade policy-server` keeps the registry policies it admits in the local store and does not download them
//! again: a start finds a policy whose digest the store holds there, even when the registry can no longer serve
//! its module, but still checks its signatures against the registry; `--refresh`, a moved tag and a damaged
//! store entry download it again. Real processes against a real registry.

mod running;

use running::Running;
use test_support::{Palisade, RegistryServer, http};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// A work folder with `policy.wasm` (accepts) pushed as `policies/accept:v1` and signed with `a.key`,
/// `reject.wasm` annotated beside it, `policies.yml` serving the reference and `request.json`.
fn setup(registry: &RegistryServer) -> (tempfile::TempDir, Palisade, String) {
    let (dir, cli, accept) = running::signed_workdir(BIN, registry);
    write(
        &dir,
        "policies.yml",
        &format!("accept:\n  module: {accept}\n"),
    );
    (dir, cli, accept)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) {
    std::fs::write(dir.path().join(name), text)
        .unwrap_or_else(|err| panic!("writing {name}: {err}"));
}

/// The server's arguments, verifying with `a.pub`, keeping policies in `kept` (under Kubewarden's flag name)
/// and compiling afresh; then `extra`.
fn server_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "policy-server",
        "--policies",
        "policies.yml",
        "--key",
        "a.pub",
        "--addr",
        "127.0.0.1:0",
        "--disable-cache",
        "--policies-download-dir",
        "kept",
    ];
    args.extend_from_slice(extra);
    args
}

/// Starts the server, asks it about the pod in `request.json` and stops it; returns whether it allowed the pod
/// and what it logged.
fn serve_once(dir: &tempfile::TempDir) -> (bool, String) {
    let server = Running::start(dir.path(), &server_args(&[]), &[("PALISADE_LOG", "info")]);
    let review = std::fs::read_to_string(dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    let (status, _, body) = server.request("POST", "/validate/accept", &review);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let answer: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"));
    let logs = server.stop();
    (answer["response"]["allowed"] == true, logs)
}

/// The manifest digest of `repository:tag` and the digest of its module layer.
fn digests(registry: &RegistryServer, repository: &str, tag: &str) -> (String, String) {
    let manifest = test_support::get_manifest(&registry.host(), repository, tag);
    let parsed: serde_json::Value =
        serde_json::from_slice(&manifest).unwrap_or_else(|err| panic!("manifest: {err}"));
    let layer = parsed["layers"][0]["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no layer: {parsed}"))
        .to_string();
    (sha256(&manifest), layer)
}

/// `sha256:…` of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    artifact::oci::Digest::sha256_of(bytes).to_string()
}

/// Deletes `what` (`blobs/DIGEST` or `manifests/REFERENCE`) from `repository` through the registry's API.
fn delete(registry: &RegistryServer, repository: &str, what: &str) {
    let host = registry.host();
    let reply = http(&host, &format!("DELETE /v2/{repository}/{what}"), &[], b"");
    assert_eq!(reply.status, 202, "deleting {what}: {}", reply.text());
}

/// The stored module blob of `layer` (`sha256:…`) under the store `kept`.
fn stored_blob(dir: &tempfile::TempDir, layer: &str) -> std::path::PathBuf {
    let hex = layer.trim_start_matches("sha256:");
    dir.path().join("kept/blobs/sha256").join(hex)
}

#[test]
fn a_policy_the_store_holds_is_not_downloaded_again_but_still_verified() {
    let registry = RegistryServer::start();
    let (dir, cli, accept) = setup(&registry);

    // First start: downloaded into the store, under the reference, as `palisade pull` records it.
    let (allowed, logs) = serve_once(&dir);
    assert!(allowed);
    assert!(
        logs.contains("downloaded the policy into the store"),
        "{logs}"
    );
    let listed = cli.ok(&["policies", "--store", "kept"]);
    assert!(listed.contains("policies/accept"), "{listed}");
    let (v1, module) = digests(&registry, "policies/accept", "v1");

    // The registry can no longer serve the module: the next start takes it from the store.
    delete(&registry, "policies/accept", &format!("blobs/{module}"));
    let (allowed, logs) = serve_once(&dir);
    assert!(allowed);
    assert!(
        logs.contains("the store holds the policy: not downloading it"),
        "{logs}"
    );
    assert!(!logs.contains("downloaded the policy"), "{logs}");
    // `run` takes it from the store too.
    let answer = cli.ok(&[
        "run",
        &accept,
        "-r",
        "request.json",
        "--key",
        "a.pub",
        "--store",
        "kept",
    ]);
    assert!(answer.contains("\"allowed\":true"), "{answer}");

    // --refresh downloads it again, which now fails, naming the download.
    let err = cli.fails(&server_args(&["--refresh"]));
    assert!(
        err.contains("policy accept: refusing to run") && err.contains(&module),
        "{err}"
    );

    // A damaged store entry is not used: with the registry unable to serve the module, the start fails.
    let blob = stored_blob(&dir, &module);
    let intact = std::fs::read(&blob).unwrap_or_else(|err| panic!("{}: {err}", blob.display()));
    std::fs::write(&blob, b"\0asm\x01\0\0\0").unwrap_or_else(|err| panic!("{err}"));
    let err = cli.fails(&server_args(&[]));
    assert!(err.contains("policy accept: refusing to run"), "{err}");
    std::fs::write(&blob, &intact).unwrap_or_else(|err| panic!("{err}"));

    // The tag moves to another (signed) module: the new digest is downloaded and served.
    cli.push("reject.wasm", &accept);
    cli.ok(&["sign", &accept, "--key", "a.key"]);
    let (v2, rejecting) = digests(&registry, "policies/accept", "v1");
    assert_ne!(v1, v2);
    let (allowed, logs) = serve_once(&dir);
    assert!(!allowed, "the moved tag's policy answers");
    assert!(
        logs.contains("downloaded the policy into the store"),
        "{logs}"
    );

    // Its stored module damaged on disk, while the registry still has it: downloaded again and repaired.
    let blob = stored_blob(&dir, &rejecting);
    std::fs::write(&blob, b"rot").unwrap_or_else(|err| panic!("{err}"));
    let (allowed, logs) = serve_once(&dir);
    assert!(!allowed);
    assert!(
        logs.contains("the store's copy of the policy is damaged: downloading it again"),
        "{logs}"
    );
    let repaired = std::fs::read(&blob).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(sha256(&repaired), rejecting);

    // Its signature removed from the registry: refused, although the store holds the module.
    let signature_tag = format!("{}.sig", v2.replace(':', "-"));
    let signature = test_support::get_manifest(&registry.host(), "policies/accept", &signature_tag);
    delete(
        &registry,
        "policies/accept",
        &format!("manifests/{}", sha256(&signature)),
    );
    let err = cli.fails(&server_args(&[]));
    assert!(
        err.contains("policy accept: refusing to run") && err.contains("not verified"),
        "{err}"
    );
}

#[test]
fn a_store_that_cannot_be_written_costs_a_warning_not_the_server() {
    let registry = RegistryServer::start();
    let (dir, _cli, _) = setup(&registry);
    // `blobs/sha256` is a file: the store opens, but nothing can be written into it.
    std::fs::create_dir_all(dir.path().join("kept/blobs")).unwrap_or_else(|err| panic!("{err}"));
    write(&dir, "kept/blobs/sha256", "not a folder");
    let (allowed, logs) = serve_once(&dir);
    assert!(allowed);
    assert!(
        logs.contains("cannot keep the policy in the store: it will be downloaded again next time"),
        "{logs}"
    );

    // A store folder that cannot even be made: the server runs from memory.
    let mut args = server_args(&[]);
    let last = args.len() - 1;
    args[last] = "/proc/palisade-store";
    let server = Running::start(dir.path(), &args, &[]);
    let (status, _, _) = server.request("GET", "/readiness", "");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let logs = server.stop();
    assert!(
        logs.contains("warning: not keeping policies in the store /proc/palisade-store"),
        "{logs}"
    );
}

#[test]
fn a_store_path_that_is_a_file_is_a_usage_error() {
    let registry = RegistryServer::start();
    let (dir, cli, _) = setup(&registry);
    write(&dir, "kept", "a file");
    let output = cli.run(&server_args(&[]));
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("kept is not a folder: pass --store with a folder"),
        "{err}"
    );
}

#[test]
fn a_policy_loaded_from_an_archive_starts_with_no_registry() {
    let registry = RegistryServer::start();
    let (dir, cli, accept) = setup(&registry);
    cli.ok(&["save", &accept, "-O", "policies.tar", "--store", "near"]);
    drop(registry);

    // The archive's signatures are checked and its module served from the store, the registry gone.
    cli.ok(&["load", "policies.tar", "--store", "kept"]);
    let (allowed, logs) = serve_once(&dir);
    assert!(allowed);
    assert!(
        logs.contains("the store holds the policy: not downloading it"),
        "{logs}"
    );
    // Verified against the archive's signatures: another key is refused.
    cli.ok(&["key", "generate", "--output-prefix", "other"]);
    let mut args = server_args(&[]);
    args[4] = "other.pub";
    let err = cli.fails(&args);
    assert!(
        err.contains("policy accept: refusing to run") && err.contains("not verified"),
        "{err}"
    );
}
