//! Test setup shared by every crate: policy fixtures compiled from WAT, temporary folders.

mod browser;
pub mod bundle_mutation;
mod cli;
mod distribution;
mod faulty_proxy;
mod filler;
mod garage;
mod htpasswd;
mod http;
mod https;
mod keyless;
pub mod module_imports;
mod nginx;
pub mod oci_clients;
mod ports;
mod postgres;
mod sbom_validators;
mod sigstore_conformance;
mod spdx;
mod tuf_repository;

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use browser::{Browser, Csp};
pub use cli::{Palisade, annotated_workdir, short_bench};
pub use distribution::{Distribution, DistributionOptions, TestCa};
pub use faulty_proxy::FaultyProxy;
pub use filler::module_of_size;
pub use garage::Garage;
pub use htpasswd::htpasswd;
pub use http::{HttpReply, http};
pub use https::{ClientIdentity, https};
pub use keyless::{KeylessSigner, SigLayerSignature, SignerIdentity, SigstoreInstance};
pub use nginx::{Nginx, ProxiedRequest};
pub use ports::free_port;
pub use postgres::Postgres;
pub use sbom_validators::{assert_ntia_provided, ntia_report, validate_cyclonedx, validate_spdx};
pub use sigstore_conformance::{
    CaseSigner, ConformanceCase, conformance_case, conformance_cases, conformance_suite,
};
pub use spdx::spdx_depends_on;
pub use tuf_repository::{TufFault, TufRepository};

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// A file under `testdata/`.
pub fn testdata_file(relative: &str) -> PathBuf {
    testdata().join(relative)
}

/// The lowercase hex SHA-256 of the DER encoding of the `PUBLIC KEY` PEM `pem` (a `cosign.pub`): the key's
/// fingerprint, computed apart from the code under test.
pub fn public_key_fingerprint(pem: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .unwrap_or_else(|err| panic!("not a PEM public key ({err}): {pem}"));
    hex::encode(sha2::Sha256::digest(der))
}

/// The fixture policy modules, by name (`testdata/policies/NAME.wat`).
pub const FIXTURE_POLICIES: [&str; 5] = [
    "wapc-accept",
    "wapc-reject",
    "wapc-context",
    "wasi-accept",
    "opa-deny",
];

/// Compiles `testdata/policies/NAME.wat` to a Wasm binary.
pub fn compile_fixture(name: &str) -> Vec<u8> {
    let path = testdata_file(&format!("policies/{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|err| panic!("compiling {}: {err}", path.display()))
}

/// Compiles WAT text (the text parser does not type-check, so invalid modules can be made too).
pub fn compile_wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|err| panic!("compiling WAT: {err}"))
}

/// Compiles the fixture `name` into `dir/NAME.wasm` and returns that path.
pub fn write_fixture(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, compile_fixture(name))
        .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    path
}

/// Where the third-party policies are expected: `shared/policies` beside the repository.
fn shared_policies_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // test-support/, then the repository, then the folder holding it.
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("shared/policies")
}

/// The third-party `.wasm` policies of `../shared/policies`, sorted. When that folder is absent,
/// `None` after printing that `skipped` (the test) is skipped; under CI (env `CI` set) a panic
/// instead, so CI never skips them silently.
pub fn shared_policies(skipped: &str) -> Option<Vec<PathBuf>> {
    let ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    wasm_files_in(&shared_policies_dir(), skipped, ci)
}

/// The third-party policy `name` (a file name) of `../shared/policies`; `None` as for
/// [`shared_policies`].
pub fn shared_policy(skipped: &str, name: &str) -> Option<PathBuf> {
    let path = shared_policies(skipped)?
        .into_iter()
        .find(|path| path.file_name().is_some_and(|file| file == name));
    let dir = shared_policies_dir();
    Some(path.unwrap_or_else(|| panic!("{name} is missing from {}", dir.display())))
}

/// The `.wasm` files of `dir`, sorted; `None` (or a panic under `ci`) when `dir` is absent.
fn wasm_files_in(dir: &Path, skipped: &str, ci: bool) -> Option<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                !ci,
                "{skipped}: the third-party policies are not in {} and CI must have them (clone them beside the repository)",
                dir.display()
            );
            // Straight to stderr: the test harness captures `eprintln!`, which would hide it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {skipped}: the third-party policies are not in {} (clone them beside the repository; CI must have them)",
                dir.display()
            );
            return None;
        }
        Err(err) => panic!("listing {}: {err}", dir.display()),
    };
    let mut modules: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    modules.sort();
    assert!(!modules.is_empty(), "no .wasm files in {}", dir.display());
    Some(modules)
}

/// A fresh temporary folder, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|err| panic!("creating a temporary folder: {err}"))
}

/// Broken modules for bad-input tests, by file name, each with what is wrong with it.
pub fn bad_modules() -> Vec<(&'static str, Vec<u8>)> {
    let good = compile_fixture("wapc-accept");
    let mut overrun = good.clone();
    // A custom section that declares 100 bytes where 3 follow.
    overrun.extend_from_slice(b"\x00\x64\x02ab");
    let mut bad_metadata = good.clone();
    bad_metadata.extend_from_slice(b"\x00\x20\x16io.kubewarden.metadata{not json");
    vec![
        (
            "not-wasm.wasm",
            b"#!/bin/sh\necho this is a script\n".to_vec(),
        ),
        ("truncated.wasm", good[..good.len() / 2].to_vec()),
        (
            "invalid.wasm",
            compile_wat(r#"(module (func (export "__guest_call") (result i32) (i64.const 1)))"#),
        ),
        ("overrun.wasm", overrun),
        ("bad-metadata.wasm", bad_metadata),
    ]
}

/// A folder holding every fixture module, the metadata files of `testdata/metadata` and the
/// broken modules of [`bad_modules`]: what the CLI tests run in.
pub fn populate_workdir(dir: &Path) {
    for name in FIXTURE_POLICIES {
        write_fixture(dir, name);
    }
    for (name, bytes) in bad_modules() {
        write(&dir.join(name), &bytes);
    }
    copy_tree(&testdata_file("metadata"), &dir.join("metadata"));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("creating {}: {err}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|err| panic!("listing {}: {err}", from.display()));
    for entry in
        entries.map(|e| e.unwrap_or_else(|err| panic!("listing {}: {err}", from.display())))
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("copying {}: {err}", entry.path().display()));
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
}

/// A registry-server listening on 127.0.0.1 (an ephemeral port) over a temporary folder, open to
/// anonymous push, on its own thread and runtime; dropping it stops the server and removes the folder.
pub struct RegistryServer {
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _root: tempfile::TempDir,
}

impl RegistryServer {
    /// Starts a server and waits until it listens.
    pub fn start() -> RegistryServer {
        let root = tempdir();
        // Tests push anonymously; access control has tests of its own in registry-server.
        let mut config =
            registry_server::Config::from_yaml("auth:\n  anonymous: [pull, push, delete]\n")
                .unwrap_or_else(|err| panic!("registry config: {err}"));
        config.root = root.path().to_path_buf();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("binding 127.0.0.1:0: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("local address: {err}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|err| panic!("non-blocking listener: {err}"));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap_or_else(|err| panic!("registry runtime: {err}"));
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .unwrap_or_else(|err| panic!("listener: {err}"));
                let state = registry_server::AppState::from_config(&config)
                    .unwrap_or_else(|err| panic!("registry state: {err}"));
                let stop = async move {
                    let _ = stopped.await;
                };
                registry_server::serve(listener, state, config.upload_ttl(), stop)
                    .await
                    .unwrap_or_else(|err| panic!("registry-server: {err}"));
            });
        });
        RegistryServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _root: root,
        }
    }

    /// `127.0.0.1:PORT`, as a registry reference wants it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The folder the server stores into (blobs at `blobs/sha256/HEX`), for tests that tamper with it.
    pub fn root(&self) -> &Path {
        self._root.path()
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Puts a blob into `repository` of the registry at `host` (plain HTTP), as any client would: a monolithic
/// POST, completed by a PUT when the registry only opened an upload session (Distribution does).
pub fn put_blob(host: &str, repository: &str, bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let client = reqwest::blocking::Client::new();
    let url = format!("http://{host}/v2/{repository}/blobs/uploads/?digest={digest}");
    let mut response = client
        .post(url)
        .header("Content-Type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .unwrap_or_else(|err| panic!("uploading a blob to {host}: {err}"));
    if response.status() == reqwest::StatusCode::ACCEPTED {
        let location = response
            .headers()
            .get("Location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_else(|| panic!("an upload session without a Location from {host}"))
            .to_string();
        let location = if location.starts_with('/') {
            format!("http://{host}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        response = client
            .put(format!("{location}{separator}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap_or_else(|err| panic!("completing a blob upload to {host}: {err}"));
    }
    assert!(
        response.status().is_success(),
        "blob upload: {}",
        response.status()
    );
    digest
}

/// Puts a manifest into `repository`, at tag `tag`, or by its digest when `tag` is `None`; returns its digest.
pub fn put_manifest(
    host: &str,
    repository: &str,
    tag: Option<&str>,
    manifest: &serde_json::Value,
) -> String {
    let bytes = serde_json::to_vec(manifest).unwrap_or_else(|err| panic!("manifest JSON: {err}"));
    let media_type = manifest["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json");
    put_manifest_bytes(host, repository, tag, &bytes, media_type)
}

/// Puts manifest bytes as they are (so that their digest holds) into `repository`, at tag `tag` or by digest;
/// returns the digest.
pub fn put_manifest_bytes(
    host: &str,
    repository: &str,
    tag: Option<&str>,
    bytes: &[u8],
    media_type: &str,
) -> String {
    use sha2::Digest as _;
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let reference = tag.unwrap_or(&digest);
    let response = reqwest::blocking::Client::new()
        .put(format!(
            "http://{host}/v2/{repository}/manifests/{reference}"
        ))
        .header("Content-Type", media_type)
        .body(bytes.to_vec())
        .send()
        .unwrap_or_else(|err| panic!("putting a manifest to {host}: {err}"));
    assert!(
        response.status().is_success(),
        "manifest put: {} {}",
        response.status(),
        response.text().unwrap_or_default()
    );
    digest
}

/// The manifest at `reference` of `repository`, as the registry serves it.
pub fn get_manifest(host: &str, repository: &str, reference: &str) -> Vec<u8> {
    let response = reqwest::blocking::Client::new()
        .get(format!(
            "http://{host}/v2/{repository}/manifests/{reference}"
        ))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap_or_else(|err| panic!("getting a manifest from {host}: {err}"));
    assert!(
        response.status().is_success(),
        "manifest get: {}",
        response.status()
    );
    response
        .bytes()
        .map(|b| b.to_vec())
        .unwrap_or_else(|err| panic!("manifest body: {err}"))
}

/// The blob `digest` of `repository`, as the registry serves it.
pub fn get_blob(host: &str, repository: &str, digest: &str) -> Vec<u8> {
    let response = reqwest::blocking::get(format!("http://{host}/v2/{repository}/blobs/{digest}"))
        .unwrap_or_else(|err| panic!("getting a blob from {host}: {err}"));
    assert!(
        response.status().is_success(),
        "blob get: {}",
        response.status()
    );
    response
        .bytes()
        .map(|b| b.to_vec())
        .unwrap_or_else(|err| panic!("blob body: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_folder_skips() {
        let dir = tempdir();
        assert_eq!(
            wasm_files_in(&dir.path().join("absent"), "a test", false),
            None
        );
    }

    #[test]
    #[should_panic(expected = "a test: the third-party policies are not in")]
    fn an_absent_folder_fails_under_ci() {
        let dir = tempdir();
        wasm_files_in(&dir.path().join("absent"), "a test", true);
    }

    #[test]
    fn a_present_folder_gives_its_wasm_files_sorted() {
        let dir = tempdir();
        for name in ["b.wasm", "a.wasm", "README.md"] {
            write(&dir.path().join(name), b"");
        }
        let expected = ["a.wasm", "b.wasm"].map(|name| dir.path().join(name));
        assert_eq!(
            wasm_files_in(dir.path(), "a test", true),
            Some(expected.to_vec())
        );
    }
}
