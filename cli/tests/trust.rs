//! Trust enforced by `palisade serve` as users meet it: a `trust:` prefix in `enforce` mode in the configuration file,
//! `palisade push` then `pull` refused until `palisade sign`, `palisade registry pending` saying why, and `palisade
//! registry reverify` withdrawing what a changed policy no longer trusts.

mod running;

use running::Running;

/// A verification config (Kubewarden's format) requiring a signature by the public key in `pub_file`.
fn verification_config(pub_file: &std::path::Path) -> String {
    let key = std::fs::read_to_string(pub_file).unwrap();
    let indented: String = key.lines().map(|l| format!("      {l}\n")).collect();
    format!("apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: |\n{indented}")
}

#[test]
fn a_pushed_tag_waits_for_a_signature_and_a_policy_change_withdraws_it() {
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    for prefix in ["a", "b"] {
        cli.ok(&["key", "generate", "--output-prefix", prefix]);
    }
    let trusted = dir.path().join("trusted.yml");
    std::fs::write(&trusted, verification_config(&dir.path().join("a.pub"))).unwrap();
    let root = dir.path().join("registry");
    let config = dir.path().join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "root: {}\naddr: 127.0.0.1:0\nauth:\n  anonymous: [pull, push, delete]\ntrust:\n  - prefix: trusted/\n    mode: enforce\n    verification_config: {}\n",
            root.display(),
            trusted.display()
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let server = Running::start(dir.path(), &["serve", "--config", config_arg], &[]);
    let reference = format!("registry://{}/trusted/pod-guard:v1", server.addr);
    let digest = cli.push("policy.wasm", &reference);

    // A cluster's machine: its own store, which the push did not fill.
    let elsewhere = tempfile::tempdir().unwrap();
    let consumer = test_support::Palisade::new(env!("CARGO_BIN_EXE_palisade"), elsewhere.path());
    let refused = consumer.fails(&["pull", &reference]);
    let signable = format!("registry://{}/trusted/pod-guard@{digest}", server.addr);
    assert!(
        refused.contains("awaits a signature")
            && refused.contains(&format!("(sign trusted/pod-guard@{digest})")),
        "{refused}"
    );
    let pending = cli.ok(&["registry", "pending", "--config", config_arg]);
    assert!(
        pending.starts_with(&format!(
            "trusted/pod-guard:v1 {digest} (prefix \"trusted/\"): no signatures found for {digest} (neither a .sig tag nor a bundle referrer); allOf requirement `pubKey sha256:"
        )) && pending.ends_with("` not met\n"),
        "{pending}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &cli.ok(&["registry", "pending", "--config", config_arg, "-o", "json"]),
    )
    .unwrap();
    assert_eq!(json["pending"][0]["digest"], digest.as_str());

    cli.ok(&["sign", &signable, "--key", "b.key"]);
    let (status, _, _) = server.request("GET", "/v2/trusted/pod-guard/manifests/v1", "");
    assert!(
        status.contains(" 404 "),
        "another key does not count: {status}"
    );
    cli.ok(&["sign", &signable, "--key", "a.key"]);
    consumer.ok(&["pull", &reference]);
    assert_eq!(
        cli.ok(&["registry", "pending", "--config", config_arg]),
        "no tag waits for a signature\n"
    );

    // The policy now trusts b alone, which signed too: nothing moves. Then a new key that signed nothing.
    std::fs::write(&trusted, verification_config(&dir.path().join("b.pub"))).unwrap();
    assert_eq!(
        cli.ok(&["registry", "reverify", "--config", config_arg]),
        "0 published, 0 withdrawn, 0 still waiting\n"
    );
    cli.ok(&["key", "generate", "--output-prefix", "c"]);
    std::fs::write(&trusted, verification_config(&dir.path().join("c.pub"))).unwrap();
    let reverified = cli.ok(&["registry", "reverify", "--config", config_arg]);
    assert!(
        reverified.starts_with(&format!("withdrew trusted/pod-guard:v1 ({digest}): ")),
        "{reverified}"
    );
    assert!(
        reverified.ends_with("0 published, 1 withdrawn, 0 still waiting\n"),
        "{reverified}"
    );
    let (status, _, body) = server.request("GET", "/v2/trusted/pod-guard/manifests/v1", "");
    assert!(
        status.contains(" 404 ") && body.contains("awaits a signature"),
        "{status} {body}"
    );

    // Without the trust entry, nothing waits any more.
    std::fs::write(
        &config,
        format!("root: {}\naddr: 127.0.0.1:0\n", root.display()),
    )
    .unwrap();
    assert_eq!(
        cli.ok(&["registry", "reverify", "--config", config_arg]),
        format!(
            "published trusted/pod-guard:v1 ({digest})\n1 published, 0 withdrawn, 0 still waiting\n"
        )
    );
    let (status, _, _) = server.request("GET", "/v2/trusted/pod-guard/manifests/v1", "");
    assert!(status.contains(" 200 "), "{status}");
    server.stop();
}

#[test]
fn a_bad_trust_entry_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.yml");
    for (trust, says) in [
        (
            "trust:\n  - prefix: trusted/\n    mode: enforce\n    verification_config: /nonexistent/vc.yml\n",
            "cannot read /nonexistent/vc.yml",
        ),
        (
            "trust:\n  - prefix: trusted/\n    mode: block\n    verification_config: vc.yml\n",
            "unknown variant `block`",
        ),
    ] {
        std::fs::write(&config, trust).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["registry", "pending", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{trust}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
    std::fs::write(dir.path().join("vc.yml"), "apiVersion: v2\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "trust:\n  - prefix: trusted/\n    mode: audit\n    verification_config: {}\n",
            dir.path().join("vc.yml").display()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("apiVersion"));
}

#[test]
fn every_third_party_policy_waits_then_shows_verified_in_the_hub() {
    let Some(policies) = test_support::shared_policies(
        "every_third_party_policy_waits_then_shows_verified_in_the_hub",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cli = test_support::Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir.path())
        .with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate"]);
    let trusted = dir.path().join("trusted.yml");
    std::fs::write(
        &trusted,
        verification_config(&dir.path().join("cosign.pub")),
    )
    .unwrap();
    let config = dir.path().join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "root: {}\naddr: 127.0.0.1:0\nauth:\n  anonymous: [pull, push, delete]\ntrust:\n  - prefix: trusted/\n    mode: enforce\n    verification_config: {}\n",
            dir.path().join("registry").display(),
            trusted.display()
        ),
    )
    .unwrap();
    let server = Running::start(
        dir.path(),
        &["serve", "--config", config.to_str().unwrap()],
        &[],
    );
    for (n, policy) in policies.iter().enumerate() {
        let repository = format!("trusted/third-party-{n}");
        let reference = format!("registry://{}/{repository}:v1", server.addr);
        // Unannotated ones too, as `--force` pushes them (kwctl's flag).
        let pushed = cli.ok(&["push", "--force", policy.to_str().unwrap(), &reference]);
        let digest = pushed.trim().rsplit_once('@').unwrap().1.to_string();
        let manifest = format!("/v2/{repository}/manifests/v1");
        let (status, _, body) = server.request("GET", &manifest, "");
        assert!(
            status.contains(" 404 ") && body.contains("awaits a signature"),
            "{}: {status} {body}",
            policy.display()
        );
        let signable = format!("registry://{}/{repository}@{digest}", server.addr);
        cli.ok(&["sign", &signable, "--key", "cosign.key"]);
        let (status, _, _) = server.request("GET", &manifest, "");
        assert!(status.contains(" 200 "), "{}: {status}", policy.display());
        let (_, _, detail) = server.request("GET", &format!("/hub/api/policies/{repository}"), "");
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(
            detail["trust"]["verified"],
            true,
            "{}: {detail}",
            policy.display()
        );
    }
    server.stop();
}
