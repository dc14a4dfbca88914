//! Across an air gap: a policy pushed and signed on one side, saved with its signatures and a trust root,
//! loaded on the other side into a fresh store (its own HOME and XDG folders) with no registry running,
//! where `verify` and `run` succeed; a tampered archive never gets through. kwctl's archives load too.

use std::path::Path;
use std::process::Command;

use test_support::{Palisade, RegistryServer, annotated_workdir, tempdir, testdata_file};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// The binary in `dir`, with HOME and the XDG folders there too: nothing of the first side is seen.
fn isolated(dir: &Path) -> Palisade {
    let home = dir.display().to_string();
    Palisade::new(BIN, dir)
        .with_env("HOME", &home)
        .with_env("XDG_DATA_HOME", &format!("{home}/data"))
        .with_env("XDG_CONFIG_HOME", &format!("{home}/config"))
}

fn copy(from: &Path, to: &Path, names: &[&str]) {
    for name in names {
        std::fs::copy(from.join(name), to.join(name))
            .unwrap_or_else(|err| panic!("copying {name}: {err}"));
    }
}

/// A policy pushed to `registry` and signed with the key pair `a` (in both layouts if `bundle`), in an
/// annotated work folder.
fn signed_policy(registry: &RegistryServer, bundle: bool) -> (tempfile::TempDir, Palisade, String) {
    let (dir, cli) = annotated_workdir(BIN);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let reference = format!("registry://{}/policies/accept:v1", registry.host());
    cli.push("policy.wasm", &reference);
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    let mut sign = vec!["sign", &reference, "--key", "a.key"];
    if bundle {
        sign.push("--bundle");
    }
    cli.ok(&sign);
    (dir, cli, reference)
}

fn tar(dir: &Path, args: &[&str]) {
    let status = Command::new("tar")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|err| panic!("tar: {err}"));
    assert!(status.success(), "tar {args:?}");
}

#[test]
fn a_signed_policy_is_verified_and_run_with_no_registry() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_policy(&registry, true);
    let near = dir.path();
    cli.ok(&["key", "generate", "--output-prefix", "b"]);
    std::fs::copy(
        testdata_file("requests/pod-create.json"),
        near.join("request.json"),
    )
    .unwrap();
    let trust_root = testdata_file("signing/sigstore-public-good-trusted-root.json");
    let saved = cli.ok(&[
        "save",
        &reference,
        "--trust-root",
        &trust_root.display().to_string(),
        "-O",
        "policies.tar.gz",
    ]);
    assert!(saved.contains("wrote policies.tar.gz"), "{saved}");
    drop(registry);

    let far = tempdir();
    let far = far.path();
    copy(
        near,
        far,
        &["policies.tar.gz", "a.pub", "b.pub", "request.json"],
    );
    let far_cli = isolated(far);
    // Before the load, the registry is asked (and is gone); verify creates no store.
    let err = far_cli.fails(&["verify", &reference, "--key", "a.pub"]);
    assert!(err.contains("cannot reach registry"), "{err}");
    assert!(!far.join("store").exists());
    let loaded = far_cli.ok(&["load", "policies.tar.gz"]);
    assert!(
        loaded.contains(&format!("loaded {reference}@sha256:"))
            && loaded.contains("attached manifests")
            && loaded.contains("trust root "),
        "{loaded}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&far_cli.ok(&["policies", "-o", "json"])).unwrap();
    assert_eq!(json[0]["signed"], true, "{json}");

    let verified = far_cli.ok(&["verify", &reference, "--key", "a.pub"]);
    assert!(
        verified.starts_with(&format!("verified {reference}@sha256:")),
        "{verified}"
    );
    let err = far_cli.fails(&["verify", &reference, "--key", "b.pub"]);
    assert!(
        err.contains("not verified") || err.contains("no signature"),
        "{err}"
    );
    let ran = far_cli.ok(&["run", &reference, "-r", "request.json", "--key", "a.pub"]);
    assert!(ran.contains(r#""allowed":true"#), "{ran}");
    let err = far_cli.fails(&["run", &reference, "-r", "request.json", "--key", "b.pub"]);
    assert!(err.contains("refusing to run"), "{err}");

    // A policy the archive did not bring is looked for in its registry, which is gone.
    let other = reference.replace("accept:v1", "other:v1");
    let err = far_cli.fails(&["verify", &other, "--key", "a.pub"]);
    assert!(err.contains("cannot reach registry"), "{err}");
}

#[test]
fn a_tampered_archive_never_gets_through() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_policy(&registry, false);
    let near = dir.path();
    cli.ok(&["save", &reference, "-O", "policies.tar"]);
    drop(registry);

    // A module swapped for another, every digest recomputed so that the archive itself is consistent:
    // it loads, but the signatures are of the original manifest.
    let unpacked = near.join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    tar(near, &["-xf", "policies.tar", "-C", "unpacked"]);
    let index_path = unpacked.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let name = reference.trim_start_matches("registry://");
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|entry| entry["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap();
    let blob_path = |digest: &str| {
        unpacked
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let mut manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob_path(entry["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let evil = test_support::compile_fixture("wapc-reject");
    let evil_digest = sha256(&evil);
    std::fs::write(blob_path(&evil_digest), &evil).unwrap();
    manifest["layers"][0]["digest"] = evil_digest.into();
    manifest["layers"][0]["size"] = evil.len().into();
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = sha256(&manifest);
    std::fs::write(blob_path(&manifest_digest), &manifest).unwrap();
    entry["digest"] = manifest_digest.into();
    entry["size"] = manifest.len().into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    tar(
        &unpacked,
        &["-cf", "../swapped.tar", "oci-layout", "index.json", "blobs"],
    );

    let far = tempdir();
    let far = far.path();
    copy(near, far, &["swapped.tar", "a.pub"]);
    std::fs::copy(
        testdata_file("requests/pod-create.json"),
        far.join("request.json"),
    )
    .unwrap();
    let far_cli = isolated(far);
    far_cli.ok(&["load", "swapped.tar"]);
    let err = far_cli.fails(&["verify", &reference, "--key", "a.pub"]);
    assert!(err.contains("no signatures found"), "{err}");
    let err = far_cli.fails(&["run", &reference, "-r", "request.json", "--key", "a.pub"]);
    assert!(err.contains("refusing to run"), "{err}");

    // A blob changed in place: the archive does not load, the store is unchanged.
    let original = std::fs::read(near.join("policies.tar")).unwrap();
    let module = std::fs::read(near.join("policy.wasm")).unwrap();
    let at = original
        .windows(module.len())
        .position(|window| window == module.as_slice())
        .unwrap();
    let mut damaged = original.clone();
    damaged[at + module.len() / 2] ^= 0x20;
    std::fs::write(far.join("damaged.tar"), damaged).unwrap();
    let fresh = tempdir();
    copy(far, fresh.path(), &["damaged.tar"]);
    let fresh_cli = isolated(fresh.path());
    let output = fresh_cli.run(&["load", "damaged.tar"]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("damaged.tar") && err.contains("damaged or tampered with"),
        "{err}"
    );
    assert!(fresh_cli.ok(&["policies"]).contains("no policies"));
}

fn sha256(bytes: &[u8]) -> String {
    let output = Command::new("sha256sum")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

#[test]
fn kwctl_archives_load_and_are_written() {
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_policy(&registry, false);
    let near = dir.path();
    let saved = cli.ok(&[
        "save",
        &reference,
        "--format",
        "kwctl",
        "-O",
        "kwctl.tar.gz",
    ]);
    assert!(saved.contains("wrote kwctl.tar.gz"), "{saved}");
    drop(registry);

    // As kwctl's load unpacks it: the module at its path in kwctl's store.
    let unpacked = near.join("kwctl-store");
    std::fs::create_dir(&unpacked).unwrap();
    tar(near, &["-xzf", "kwctl.tar.gz", "-C", "kwctl-store"]);
    let stored = unpacked
        .join("registry")
        .join(reference.trim_start_matches("registry://"));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(near.join("policy.wasm")).unwrap()
    );

    let far = tempdir();
    copy(near, far.path(), &["kwctl.tar.gz", "a.pub"]);
    std::fs::copy(
        testdata_file("requests/pod-create.json"),
        far.path().join("request.json"),
    )
    .unwrap();
    let far_cli = isolated(far.path());
    let loaded = far_cli.ok(&["load", "--input", "kwctl.tar.gz", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&loaded).unwrap();
    assert_eq!(json["format"], "kwctl");
    assert!(
        json["loaded"][0]
            .as_str()
            .is_some_and(|loaded| loaded.starts_with(&format!("{reference}@sha256:"))),
        "{json}"
    );
    let inspected = far_cli.ok(&["inspect", &reference]);
    assert!(inspected.contains("pod-guard"), "{inspected}");
    // kwctl's archive drops signatures: verification has nothing to check, an insecure run works.
    let err = far_cli.fails(&["verify", &reference, "--key", "a.pub"]);
    assert!(err.contains("no signatures found"), "{err}");
    let ran = far_cli.ok(&[
        "run",
        &reference,
        "-r",
        "request.json",
        "--insecure-skip-verification",
    ]);
    assert!(ran.contains(r#""allowed":true"#), "{ran}");

    // Bad input: exit 1, the archive named, nothing imported.
    let fresh = tempdir();
    std::fs::write(
        fresh.path().join("notes.txt"),
        "not an archive\n".repeat(40),
    )
    .unwrap();
    let bad_cli = isolated(fresh.path());
    let output = bad_cli.run(&["load", "notes.txt"]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("notes.txt: not a tar archive"), "{err}");
    assert!(bad_cli.ok(&["policies"]).contains("no policies"));

    // save's own inputs: a trust root that is not there or not one, and one kwctl's format cannot carry.
    for (args, code, expected) in [
        (
            &["--trust-root", "missing.json"][..],
            2,
            "--trust-root missing.json",
        ),
        (
            &["--trust-root", "notes.txt"][..],
            1,
            "--trust-root notes.txt",
        ),
        (
            &["--format", "kwctl", "--trust-root", "notes.txt"][..],
            2,
            "kwctl's archive carries modules only",
        ),
        // kwctl's `save -o FILE`: -o is the output format here.
        (
            &["-o", "policies.tar.gz"][..],
            2,
            "pass `-O policies.tar.gz`",
        ),
    ] {
        let mut command = vec!["save", "registry://127.0.0.1:1/p:v1", "-O", "out.tar"];
        command.extend_from_slice(args);
        let output = bad_cli.run(&command);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!fresh.path().join("out.tar").exists());
    }
}

/// With the real kwctl (`KWCTL=/path/to/kwctl`): kwctl loads and lists what `save --format kwctl` writes, and
/// palisade loads what `kwctl save` writes. Skipped with a message when KWCTL is not set.
#[test]
fn kwctl_itself_reads_and_writes_the_archives() {
    let Some(kwctl) = std::env::var_os("KWCTL") else {
        eprintln!("skipped: set KWCTL to a kwctl binary to check archives against it");
        return;
    };
    let registry = RegistryServer::start();
    let (dir, cli, reference) = signed_policy(&registry, false);
    let near = dir.path();
    cli.ok(&[
        "save",
        &reference,
        "--format",
        "kwctl",
        "-O",
        "kwctl.tar.gz",
    ]);
    drop(registry);

    let home = near.join("kwctl-home");
    let run_kwctl = |args: &[&str]| {
        let output = Command::new(&kwctl)
            .args(args)
            .current_dir(near)
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .output()
            .unwrap_or_else(|err| panic!("running kwctl: {err}"));
        assert!(
            output.status.success(),
            "kwctl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run_kwctl(&["load", "--input", "kwctl.tar.gz"]);
    let listed = run_kwctl(&["policies"]);
    assert!(listed.contains(&reference), "{listed}");
    run_kwctl(&["save", &reference, "--output", "saved.tar.gz"]);

    let far = tempdir();
    copy(near, far.path(), &["saved.tar.gz"]);
    let loaded = isolated(far.path()).ok(&["load", "saved.tar.gz"]);
    assert!(
        loaded.starts_with(&format!("loaded {reference}@sha256:")),
        "{loaded}"
    );
}
