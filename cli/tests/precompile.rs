//! `palisade precompile` and `policy-server --precompiled-key` as users run them (real processes, a real
//! registry): the server loads the signed compiled module instead of compiling, falls back to compiling
//! (and says so) when the signer is not trusted, a run again reuses what it pushed, and bad input is
//! refused with a clear error.

mod running;

use artifact::reference::PolicyRef;
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use running::Running;
use test_support::{Palisade, RegistryServer, annotated_workdir, testdata_file};

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// A work folder with `policy.wasm` (accepts) pushed as `policies/accept:v1` and signed with `a.key`, the
/// key `b.key` for precompiled modules and `request.json`; returns the folder, the runner and the reference.
fn setup(registry: &RegistryServer) -> (tempfile::TempDir, Palisade, String) {
    let (dir, cli) = annotated_workdir(BIN);
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    let accept = format!("registry://{}/policies/accept:v1", registry.host());
    cli.push("policy.wasm", &accept);
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    cli.ok(&["key", "generate", "--output-prefix", "b"]);
    cli.ok(&["sign", &accept, "--key", "a.key"]);
    let request = testdata_file("requests/pod-create.json");
    std::fs::copy(&request, dir.path().join("request.json"))
        .unwrap_or_else(|err| panic!("copying {}: {err}", request.display()));
    std::fs::write(
        dir.path().join("policies.yml"),
        format!("accept:\n  module: {accept}\n"),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    (dir, cli, accept)
}

/// `policy-server` on `policies.yml` verifying with `a.pub`, trusting `trusted` for precompiled modules.
fn server(trusted: &str) -> [&str; 7] {
    [
        "policy-server",
        "--policies",
        "policies.yml",
        "--key",
        "a.pub",
        "--precompiled-key",
        trusted,
    ]
}

/// Starts [`server`], sends the review once, checks that it is allowed, stops and returns the server's logs.
fn serve_once(dir: &std::path::Path, trusted: &str) -> String {
    let args = [
        &server(trusted)[..],
        &["--disable-cache", "--addr", "127.0.0.1:0"],
    ]
    .concat();
    let server = Running::start(dir, &args, &[("PALISADE_LOG", "info")]);
    let review =
        std::fs::read_to_string(dir.join("request.json")).unwrap_or_else(|err| panic!("{err}"));
    let (status, _, body) = server.request("POST", "/validate/accept", &review);
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let answer: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"));
    assert_eq!(answer["response"]["allowed"], true, "{body}");
    server.stop()
}

#[test]
fn the_server_loads_the_signed_compiled_module_and_compiles_what_it_does_not_trust() {
    let registry = RegistryServer::start();
    let (dir, cli, accept) = setup(&registry);
    let report = precompile(&cli, &accept, "b.key");
    let printed = report.to_string();
    let referrer = report["referrer"].as_str().unwrap_or_default().to_string();
    let artifact_type = report["artifactType"].as_str().unwrap_or_default();
    assert!(referrer.starts_with("sha256:"), "{printed}");
    assert!(
        artifact_type.starts_with("application/vnd.palisade.wasmtime."),
        "{printed}"
    );
    assert_eq!(report["modules"], 1, "{printed}");
    // The referrer is signed like any manifest: `verify` checks it with the signer's public key.
    let at_referrer = format!("{}@{referrer}", accept.trim_end_matches(":v1"));
    cli.ok(&["verify", &at_referrer, "--key", "b.pub"]);

    let logs = serve_once(dir.path(), "b.pub");
    assert!(
        logs.contains("loading the verified precompiled module") && logs.contains(&referrer),
        "{logs}"
    );
    assert!(!logs.contains("refused"), "{logs}");
    assert!(logs.contains("loaded=1 compiled=0"), "{logs}");

    // Signed by a key the server does not trust for this: refused, logged, compiled; it still answers.
    let logs = serve_once(dir.path(), "a.pub");
    assert!(
        logs.contains("precompiled module refused; compiling") && logs.contains("not verified"),
        "{logs}"
    );
    assert!(
        !logs.contains("loading the verified precompiled module"),
        "{logs}"
    );
    assert!(logs.contains("loaded=0 compiled=1"), "{logs}");
}

/// `precompile REF --key KEY -o json` (verifying the policy with `a.pub`), parsed.
fn precompile(cli: &Palisade, reference: &str, key: &str) -> serde_json::Value {
    let printed = cli.ok(&[
        "precompile",
        reference,
        "--key",
        key,
        "--verification-key",
        "a.pub",
        "-o",
        "json",
    ]);
    serde_json::from_str(&printed).unwrap_or_else(|err| panic!("{err}: {printed}"))
}

/// The referrers of the policy `report` is about, of its artifact type, as the registry lists them.
fn referrers(report: &serde_json::Value) -> Vec<String> {
    let policy = report["policy"].as_str().unwrap_or_default();
    let Ok(PolicyRef::Registry(policy)) = policy.parse::<PolicyRef>() else {
        panic!("not a registry reference: {report}");
    };
    let remote = Remote::new(RemoteOptions {
        docker_config: DockerConfig::none(),
        sources: Sources::default(),
    });
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|err| panic!("{err}"));
    let listed = runtime
        .block_on(async {
            let subject = policy.digest.clone().ok_or("no digest")?;
            let repository = remote.repository(&policy).await?;
            let listed = repository
                .referrers(&subject, report["artifactType"].as_str())
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(listed)
        })
        .unwrap_or_else(|err| panic!("listing the referrers of {policy}: {err}"));
    listed.iter().map(|d| d.digest.to_string()).collect()
}

#[test]
fn running_it_again_reuses_the_signed_referrer_and_another_key_adds_its_own() {
    let registry = RegistryServer::start();
    let (dir, cli, accept) = setup(&registry);
    let first = precompile(&cli, &accept, "b.key");
    assert_eq!(first["reused"], false, "{first}");
    let referrer = first["referrer"].as_str().unwrap_or_default().to_string();

    // A CI job run again: the referrer is there, signed by this key, with the same module: nothing pushed.
    let again = precompile(&cli, &accept, "b.key");
    assert_eq!(again["reused"], true, "{again}");
    assert_eq!(again["referrer"], referrer.as_str(), "{again}");
    assert_eq!(again["signatureTag"], first["signatureTag"], "{again}");
    let printed = cli.ok(&[
        "precompile",
        &accept,
        "--key",
        "b.key",
        "--verification-key",
        "a.pub",
    ]);
    assert!(
        printed.starts_with("already precompiled ")
            && printed.contains(&format!("referrer {referrer} "))
            && printed.contains("reused, nothing pushed"),
        "{printed}"
    );
    assert_eq!(referrers(&first), std::slice::from_ref(&referrer));
    // Its signature image still holds the one signature.
    let signature = test_support::get_manifest(
        &registry.host(),
        "policies/accept",
        first["signatureTag"].as_str().unwrap_or_default(),
    );
    let signature: serde_json::Value =
        serde_json::from_slice(&signature).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        signature["layers"].as_array().map(Vec::len),
        Some(1),
        "{signature}"
    );

    // Another key (the policy's) did not sign that one: its run pushes a referrer of its own, which a
    // server trusting that key loads.
    let other = precompile(&cli, &accept, "a.key");
    assert_eq!(other["reused"], false, "{other}");
    let theirs = other["referrer"].as_str().unwrap_or_default().to_string();
    assert_ne!(theirs, referrer);
    let mut listed = referrers(&first);
    listed.sort();
    let mut expected = vec![referrer, theirs.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    let logs = serve_once(dir.path(), "a.pub");
    assert!(
        logs.contains("loading the verified precompiled module") && logs.contains(&theirs),
        "{logs}"
    );
    assert!(logs.contains("loaded=1 compiled=0"), "{logs}");
}

#[test]
fn bad_input_is_refused_clearly() {
    let registry = RegistryServer::start();
    let (_dir, cli, accept) = setup(&registry);
    let missing = format!("registry://{}/policies/missing:v1", registry.host());
    let err = cli.fails(&["precompile", &missing, "--key", "b.key"]);
    assert!(
        err.contains("publishing the precompiled module of") && err.contains("policies/missing:v1"),
        "{err}"
    );

    // A manifest that is not a policy: the signature image of the policy.
    let digest = cli.ok(&["digest", &accept]);
    let digest = digest
        .trim()
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_string();
    let signature = format!(
        "registry://{}/policies/accept:{}.sig",
        registry.host(),
        digest.replace(':', "-")
    );
    let err = cli.fails(&["precompile", &signature, "--key", "b.key"]);
    assert!(err.contains("not a policy artifact"), "{err}");
    // A policy that the verification flags do not verify is not compiled.
    let err = cli.fails(&[
        "precompile",
        &accept,
        "--key",
        "b.key",
        "--verification-key",
        "b.pub",
    ]);
    assert!(err.contains("is not verified"), "{err}");
    // A local file: precompiled modules are referrers in a registry.
    let output = cli.run(&["precompile", "policy.wasm", "--key", "b.key"]);
    assert_eq!(output.status.code(), Some(2));

    // A key file that is missing, and one that is not a key: usage errors naming the file.
    for key in ["nope.key", "request.json"] {
        let output = cli.run(&["precompile", &accept, "--key", key]);
        assert_eq!(output.status.code(), Some(2), "{key}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(key), "{err}");
    }
    // The server's trusted key too.
    for key in ["nope.pub", "request.json"] {
        let output = cli.run(&server(key));
        assert_eq!(output.status.code(), Some(2), "{key}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(key), "{err}");
    }
}
