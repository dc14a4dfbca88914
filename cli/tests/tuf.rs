//! `palisade verify FILE --tuf-url URL --tuf-root root.json`: the trust root fetched from a real, signed TUF
//! repository on 127.0.0.1 (test_support's `TufRepository`) verifies a conformance-suite bundle, its metadata kept
//! in the cache folder; a repository that does not verify fails the command (exit 1); the flags' misuses are
//! usage errors (exit 2).

use std::process::Output;

use test_support::{
    CaseSigner, Palisade, TufFault, TufRepository, conformance_case, conformance_suite, tempdir,
};

const TRUSTED_ROOT: &str = "trusted_root.json";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The verify command line of the suite's `case` (artifact, bundle, identity and issuer) and `extra` flags.
fn verify_case(cli: &Palisade, case: &str, extra: &[&str]) -> Output {
    let dir = conformance_suite().join(case);
    let CaseSigner::Identity { identity, issuer } = conformance_case(&dir).signer else {
        panic!("{case} is a keyless case");
    };
    let artifact = match dir.join("artifact") {
        own if own.exists() => own,
        _ => conformance_suite().join("a.txt"),
    };
    let bundle = dir.join("bundle.sigstore.json");
    let mut args = vec![
        "verify".to_string(),
        artifact.display().to_string(),
        "--bundle".into(),
        bundle.display().to_string(),
        "--certificate-identity".into(),
        identity,
        "--certificate-oidc-issuer".into(),
        issuer,
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    cli.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn public_good_root() -> Vec<u8> {
    std::fs::read(test_support::testdata_file(
        "signing/sigstore-public-good-trusted-root.json",
    ))
    .unwrap()
}

/// A run of `verify` on the suite's `case` with `--tuf-url` and `--tuf-root`, the repository serving
/// `trusted_root` and broken as `fault` says.
struct TufRun {
    work: tempfile::TempDir,
    url: String,
    output: Output,
}

fn verify_through_tuf(case: &str, trusted_root: &[u8], fault: TufFault) -> TufRun {
    let work = tempdir();
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), work.path());
    let repository = TufRepository::serve(TRUSTED_ROOT, trusted_root, fault);
    std::fs::write(work.path().join("root.json"), &repository.root_json).unwrap();
    let output = verify_case(
        &cli,
        case,
        &["--tuf-url", &repository.url, "--tuf-root", "root.json"],
    );
    TufRun {
        work,
        url: repository.url.clone(),
        output,
    }
}

#[test]
fn a_trust_root_fetched_through_tuf_verifies_a_file() {
    let run = verify_through_tuf("happy-path-v0.3", &public_good_root(), TufFault::None);
    assert_eq!(run.output.status.code(), Some(0), "{}", stderr(&run.output));
    assert!(
        String::from_utf8_lossy(&run.output.stdout).starts_with("verified "),
        "{:?}",
        run.output
    );
    // The verified metadata is kept under the XDG cache folder, in one folder per repository.
    let cache = run.work.path().join("cache/palisade/tuf");
    let kept: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|err| panic!("{}: {err}", cache.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].join("timestamp.json").is_file(), "{kept:?}");
}

#[test]
fn the_fetched_trust_root_is_the_one_verified_against() {
    // A case signed under its own CA: verified with its root served through TUF, refused with the built-in one.
    let case = "intoto-with-custom-trust-root";
    let custom = std::fs::read(conformance_suite().join(case).join(TRUSTED_ROOT)).unwrap();
    let run = verify_through_tuf(case, &custom, TufFault::None);
    assert_eq!(run.output.status.code(), Some(0), "{}", stderr(&run.output));
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), run.work.path());
    let built_in = verify_case(&cli, case, &[]);
    assert_eq!(built_in.status.code(), Some(1), "{}", stderr(&built_in));
}

#[test]
fn a_repository_that_does_not_verify_fails_the_command() {
    let run = verify_through_tuf(
        "happy-path-v0.3",
        &public_good_root(),
        TufFault::ExpiredTimestamp,
    );
    let message = stderr(&run.output);
    assert_eq!(run.output.status.code(), Some(1), "{message}");
    assert!(message.contains(&run.url), "{message}");
    assert!(message.contains("timestamp metadata expired"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn misused_tuf_flags_are_usage_errors() {
    let work = tempdir();
    let cli = Palisade::new(env!("CARGO_BIN_EXE_palisade"), work.path());
    let trusted_root =
        test_support::testdata_file("signing/sigstore-public-good-trusted-root.json");
    let trusted_root = trusted_root.display().to_string();
    std::fs::write(
        work.path().join("timestamp.json"),
        br#"{"signed": {"_type": "timestamp"}}"#,
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        // A repository whose root is not built in needs its root.json.
        (&["--tuf-url", "http://127.0.0.1:9"], "--tuf-root"),
        (
            &["--tuf", "--trust-root", &trusted_root],
            "cannot be used with",
        ),
        (
            &[
                "--tuf-url",
                "https://tuf-repo.github.com",
                "--trusted-root",
                &trusted_root,
            ],
            "cannot be used with",
        ),
        (
            &["--tuf", "--tuf-url", "https://tuf-repo.github.com"],
            "cannot be used with",
        ),
        (&["--tuf-root", "root.json"], "--tuf-url"),
        (
            &[
                "--tuf-url",
                "http://127.0.0.1:9",
                "--tuf-root",
                "missing.json",
            ],
            "missing.json",
        ),
        (
            &[
                "--tuf-url",
                "http://127.0.0.1:9",
                "--tuf-root",
                "timestamp.json",
            ],
            "not TUF root metadata",
        ),
    ];
    for (flags, expected) in cases {
        let output = verify_case(&cli, "happy-path-v0.3", flags);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {message}");
        assert!(message.contains(expected), "{flags:?}: {message}");
    }
}
