//! `palisade verify FILE`: every bundle-verify case of the Sigstore conformance suite
//! (testdata/sigstore-conformance) through the binary, with the exit codes scripts read (0 verified, 1 refused,
//! 2 bad command line), the default bundle beside the file, and the JSON report.

use std::path::{Path, PathBuf};

use artifact::oci::Digest;
use test_support::{Palisade, tempdir};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sigstore-conformance")
}

/// The command line the suite's runner would give for a case: artifact (its path, or its digest), bundle,
/// trust root, key or identity.
fn case_args(dir: &Path, by_digest: bool) -> Vec<String> {
    let artifact = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        suite().join("a.txt")
    };
    let path = |p: PathBuf| p.display().to_string();
    let artifact = if by_digest {
        Digest::sha256_of(&std::fs::read(&artifact).unwrap()).to_string()
    } else {
        path(artifact)
    };
    let mut args = vec![
        "verify".to_string(),
        artifact,
        "--bundle".into(),
        path(dir.join("bundle.sigstore.json")),
    ];
    if dir.join("trusted_root.json").exists() {
        args.extend(["--trusted-root".into(), path(dir.join("trusted_root.json"))]);
    }
    if dir.join("key.pub").exists() {
        args.extend(["--key".into(), path(dir.join("key.pub"))]);
    } else {
        let text = |name: &str, default: &str| {
            std::fs::read_to_string(dir.join(name)).map_or(default.to_string(), |s| s.trim().into())
        };
        args.extend([
            "--certificate-identity".into(),
            text("identity", DEFAULT_IDENTITY),
            "--certificate-oidc-issuer".into(),
            text("issuer", DEFAULT_ISSUER),
        ]);
    }
    args
}

#[test]
fn every_conformance_case_gets_the_suites_exit_code() {
    let work = tempdir();
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), work.path());
    let mut cases: Vec<PathBuf> = std::fs::read_dir(suite())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    let mut wrong = Vec::new();
    for (dir, by_digest) in cases.iter().flat_map(|d| [(d, false), (d, true)]) {
        let mut name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if by_digest {
            name.push_str(" (digest)");
        }
        let args = case_args(dir, by_digest);
        let output = cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        // A case refused for its inputs (a malformed key, an invalid trust root) is a bad command line: 2.
        let code = output.status.code();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let right = match code {
            Some(0) => !name.contains("_fail"),
            Some(1) => name.contains("_fail"),
            Some(2) => {
                name.contains("_fail")
                    && (stderr.contains("invalid trust root") || stderr.contains("malformed key"))
            }
            _ => false,
        };
        if !right {
            wrong.push(format!("{name}: exit {code:?}: {stderr}"));
        }
    }
    println!(
        "palisade verify FILE_OR_DIGEST: {}/{} conformance runs right (by path and by digest)",
        cases.len() * 2 - wrong.len(),
        cases.len() * 2
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A work folder with the suite's `a.txt` and its production-signed bundle beside it (`a.txt.sigstore.json`).
fn signed_file() -> (tempfile::TempDir, Palisade) {
    let work = tempdir();
    std::fs::copy(suite().join("a.txt"), work.path().join("a.txt")).unwrap();
    std::fs::copy(
        suite().join("happy-path-v0.3/bundle.sigstore.json"),
        work.path().join("a.txt.sigstore.json"),
    )
    .unwrap();
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), work.path());
    (work, cli)
}

#[test]
fn the_bundle_beside_the_file_is_the_default_and_json_names_the_checks() {
    let (_work, cli) = signed_file();
    let identity = [
        "--certificate-identity",
        DEFAULT_IDENTITY,
        "--certificate-oidc-issuer",
        DEFAULT_ISSUER,
    ];
    let text = cli.ok(&[&["verify", "a.txt"][..], &identity].concat());
    assert!(text.starts_with("verified a.txt (sha256:"), "{text}");
    assert!(
        text.contains("certificate chain, SCT, transparency log, identity"),
        "{text}"
    );
    let json = cli.ok(&[&["verify", "a.txt", "-o", "json"][..], &identity].concat());
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["verified"], true, "{json}");
    let checked = &report["requirements"][0]["checked"];
    for check in [
        "certificateChain",
        "certificateTimestamp",
        "transparencyLog",
        "identity",
    ] {
        assert_eq!(checked[check], true, "{check}: {json}");
    }

    let refused = cli.fails(
        &[
            &[
                "verify",
                "a.txt",
                "--certificate-identity",
                "someone@example.com",
            ][..],
            &identity[2..],
        ]
        .concat(),
    );
    assert!(refused.contains("not the required identity"), "{refused}");

    let not_a_bundle =
        cli.fails(&[&["verify", "a.txt", "--bundle", "a.txt"][..], &identity].concat());
    assert!(
        not_a_bundle.contains("does not parse as a Sigstore bundle"),
        "{not_a_bundle}"
    );
}

#[test]
fn bad_command_lines_exit_2_naming_the_problem() {
    let (_work, cli) = signed_file();
    let owner = ["--github-owner", "sigstore-conformance"];
    for (args, message) in [
        (
            vec!["verify", "missing.txt"],
            "cannot read the file missing.txt",
        ),
        (
            vec!["verify", "a.txt", "--bundle", "missing.json"],
            "cannot read the bundle missing.json",
        ),
        (
            vec!["verify", "a.txt", "--trusted-root", "nope.json"],
            "reading the trust root nope.json",
        ),
        (
            vec!["verify", "a.txt", "--trusted-root", "a.txt"],
            "invalid trust root",
        ),
    ] {
        let output = cli.run(&[&args[..], &owner].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let digest = Digest::sha256_of(&std::fs::read(suite().join("a.txt")).unwrap()).to_string();
    let output = cli.run(&[&["verify", digest.as_str()][..], &owner].concat());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a digest needs its bundle"));
    let output = cli.run(
        &[
            &["verify", "registry://127.0.0.1:1/p:v1", "--bundle", "a.txt"][..],
            &owner,
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--bundle is for a FILE"));
    let output = cli.run(&["verify", "a.txt"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("say what to verify against"));
}

#[test]
fn the_conformance_protocol_script_drives_verify() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/sigstore-conformance-client.sh");
    let run = |case: &str, first: &str| {
        let mut args = case_args(&suite().join(case), false);
        args[0] = first.to_string();
        let artifact = args.remove(1);
        args.push(artifact);
        std::process::Command::new("bash")
            .arg(&script)
            .args(&args)
            .env("PALISADE", env!("CARGO_BIN_EXE_palisade"))
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run("happy-path-v0.3", "verify-bundle"), Some(0));
    assert_eq!(run("checkpoint-bad-keyhint_fail", "verify-bundle"), Some(1));
    assert_eq!(run("happy-path-v0.3", "sign-bundle"), Some(2));
}
