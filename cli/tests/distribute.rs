//! Push, digest, pull, policies and rm against a real registry-server on 127.0.0.1.

use std::path::Path;
use std::process::Command;

use test_support::{Palisade, RegistryServer, module_of_size, populate_workdir, tempdir};

fn palisade(dir: &Path) -> Palisade {
    Palisade::new(env!("CARGO_BIN_EXE_palisade"), dir)
}

fn annotated_workdir() -> (tempfile::TempDir, Palisade) {
    test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"))
}

#[test]
fn push_digest_pull_list_remove() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir();
    let dir = dir.path();
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());

    let pushed = cli.ok(&["push", "policy.wasm", &reference]);
    let immutable = pushed.trim();
    assert!(
        immutable.starts_with(&format!("{reference}@sha256:")),
        "{immutable}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["push", "policy.wasm", &reference, "-o", "json"])).unwrap();
    // With SOURCE_DATE_EPOCH, pushing the same module again gives the same digest; the JSON names it as
    // `kwctl push -o json` does (HOST/REPOSITORY@DIGEST, what cosign takes).
    let digest = immutable.rsplit_once('@').map(|(_, digest)| digest);
    assert_eq!(
        json["immutable_ref"],
        format!(
            "{}/policies/pod-guard@{}",
            registry.host(),
            digest.unwrap_or_default()
        )
    );

    assert_eq!(cli.ok(&["digest", &reference]).trim(), immutable);

    let pulled = cli.ok(&["pull", &reference, "--output-path", "pulled.wasm"]);
    assert_eq!(pulled.trim(), immutable);
    assert_eq!(
        std::fs::read(dir.join("pulled.wasm")).unwrap(),
        std::fs::read(dir.join("policy.wasm")).unwrap()
    );

    let inspected = cli.ok(&["inspect", &reference]);
    assert!(
        inspected.contains("title:               pod-guard"),
        "{inspected}"
    );

    let again = cli.ok(&["pull", &reference]);
    assert_eq!(again.trim(), format!("{immutable} (from the store)"));

    let listing = cli.ok(&["policies"]);
    assert!(
        listing.contains(&reference) && listing.contains("pod-guard") && listing.contains(" no "),
        "{listing}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["policies", "-o", "json"])).unwrap();
    assert_eq!(json[0]["reference"], reference.as_str());
    assert_eq!(json[0]["mutating"], false);
    assert_eq!(json[0]["signed"], false, "the registry held no signature");

    let removed = cli.ok(&["rm", &reference]);
    assert!(removed.starts_with("removed "), "{removed}");
    assert!(cli.ok(&["policies"]).contains("no policies"));
    assert!(
        cli.fails(&["rm", &reference])
            .contains("no stored policy matches")
    );
}

#[test]
fn refusals_name_the_problem() {
    let registry = RegistryServer::start();
    let dir = tempdir();
    let dir = dir.path();
    populate_workdir(dir);
    let cli = palisade(dir);
    let host = registry.host();

    let err = cli.fails(&["push", "wapc-accept.wasm", &format!("{host}/p:v1")]);
    assert!(
        err.contains("wapc-accept.wasm") && err.contains("no policy metadata"),
        "{err}"
    );
    cli.ok(&[
        "push",
        "wapc-accept.wasm",
        &format!("{host}/p:v1"),
        "--force",
    ]);

    let err = cli.fails(&["pull", &format!("{host}/missing:v1")]);
    assert!(
        err.contains("missing:v1") && err.contains("not found"),
        "{err}"
    );

    let err = cli.fails(&["pull", "127.0.0.1:1/p:v1"]);
    assert!(err.contains("cannot reach registry 127.0.0.1:1"), "{err}");

    let store = dir.join("store");
    assert!(
        !store.join("index.json").exists(),
        "failed pulls leave no index entry"
    );
}

#[test]
fn air_gapped_transfer_keeps_the_digest() {
    let (connected, disconnected) = (RegistryServer::start(), RegistryServer::start());
    let (dir, cli) = annotated_workdir();
    let dir = dir.path();
    let source = format!("{}/policies/pod-guard:v1", connected.host());
    let digest = cli.push("policy.wasm", &source);

    let saved = cli.ok(&["save", &source, "-O", "bundle.tar"]);
    assert!(saved.contains("wrote bundle.tar"), "{saved}");

    // The other side: a fresh store, and the bundle unpacked as a layout folder.
    let other = tempdir();
    let other = other.path();
    let other_cli = palisade(other);
    std::fs::copy(dir.join("bundle.tar"), other.join("bundle.tar")).unwrap();
    let loaded = other_cli.ok(&["load", "bundle.tar"]);
    assert_eq!(
        loaded.trim(),
        format!("loaded registry://{source}@{digest}")
    );
    assert!(other_cli.ok(&["policies"]).contains("pod-guard"));

    std::fs::create_dir(other.join("layout")).unwrap();
    let status = Command::new("tar")
        .args(["-xf", "bundle.tar", "-C", "layout"])
        .current_dir(other)
        .status()
        .unwrap();
    assert!(status.success());
    let target = format!("registry://{}/mirror/pod-guard:v1", disconnected.host());
    let pushed = other_cli.ok(&["push", &format!("oci-layout://layout:{source}"), &target]);
    assert_eq!(pushed.trim(), format!("{target}@{digest}"));
    assert_eq!(
        other_cli.ok(&["digest", &target]).trim(),
        format!("{target}@{digest}")
    );
}

#[test]
fn a_damaged_bundle_imports_nothing() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir();
    let dir = dir.path();
    let source = format!("{}/policies/pod-guard:v1", registry.host());
    cli.ok(&["push", "policy.wasm", &source]);
    cli.ok(&["save", &source, "-O", "bundle.tar"]);
    let bytes = std::fs::read(dir.join("bundle.tar")).unwrap();
    std::fs::write(dir.join("truncated.tar"), &bytes[..bytes.len() / 3]).unwrap();

    let other = tempdir();
    let other = other.path();
    let other_cli = palisade(other);
    std::fs::copy(dir.join("truncated.tar"), other.join("truncated.tar")).unwrap();
    let err = other_cli.fails(&["load", "truncated.tar"]);
    assert!(err.contains("truncated.tar"), "{err}");
    assert!(other_cli.ok(&["policies"]).contains("no policies"));
}

#[test]
fn copy_brings_signatures_and_referrers_along() {
    let (from, to) = (RegistryServer::start(), RegistryServer::start());
    let (_dir, cli) = annotated_workdir();
    let source = format!("{}/policies/pod-guard:v1", from.host());
    let digest = cli.push("policy.wasm", &source);
    let hex = digest.trim_start_matches("sha256:");

    // A cosign-style signature tag and an OCI 1.1 referrer, as cosign and `oras attach` make them.
    let host = from.host();
    let empty = test_support::put_blob(&host, "policies/pod-guard", b"{}");
    let payload = test_support::put_blob(&host, "policies/pod-guard", b"{\"critical\":{}}");
    let signature = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload, "size": 14,
                    "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ..."}}]
    });
    let signature_tag = format!("sha256-{hex}.sig");
    test_support::put_manifest(
        &host,
        "policies/pod-guard",
        Some(&signature_tag),
        &signature,
    );
    let policy_manifest = test_support::get_manifest(&host, "policies/pod-guard", &digest);
    let sbom = test_support::put_blob(
        &host,
        "policies/pod-guard",
        b"{\"spdxVersion\":\"SPDX-2.3\"}",
    );
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": sbom, "size": 26}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                    "size": policy_manifest.len()}
    });
    let referrer_digest = test_support::put_manifest(&host, "policies/pod-guard", None, &referrer);

    let target = format!("registry://{}/mirror/pod-guard:v1", to.host());
    let copied = cli.ok(&["copy", &source, &target]);
    assert!(
        copied.starts_with(&format!("{target}@{digest}")),
        "{copied}"
    );
    assert!(
        copied.contains(&format!("with sha256-{hex}.sig")),
        "{copied}"
    );
    assert!(
        copied.contains(&format!("with {referrer_digest}")),
        "{copied}"
    );
    assert_eq!(
        cli.ok(&["digest", &target]).trim(),
        format!("{target}@{digest}")
    );
    let copied_signature = format!("{}/mirror/pod-guard:{signature_tag}", to.host());
    assert!(cli.ok(&["digest", &copied_signature]).contains("@sha256:"));
}

/// Puts a cosign-style `.sig` image for `digest` into `repository`, as `cosign sign` does.
fn put_signature_image(host: &str, repository: &str, digest: &str) -> String {
    let empty = test_support::put_blob(host, repository, b"{}");
    let payload = test_support::put_blob(host, repository, b"{\"critical\":{}}");
    let signature = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": payload, "size": 14,
                    "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ..."}}]
    });
    let tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    test_support::put_manifest(host, repository, Some(&tag), &signature)
}

/// The SIGNED column of `palisade policies` for `reference`.
fn signed_column(cli: &Palisade, reference: &str) -> String {
    let listing = cli.ok(&["policies"]);
    let header = listing.lines().next().unwrap_or_default();
    let column = header
        .find("SIGNED")
        .unwrap_or_else(|| panic!("no SIGNED column: {listing}"));
    let line = listing
        .lines()
        .find(|line| line.starts_with(reference))
        .unwrap_or_else(|| panic!("{reference} is not listed: {listing}"));
    line[column..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn policies_say_whether_the_registry_held_a_signature() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir();
    let host = registry.host();
    let reference = format!("registry://{host}/policies/pod-guard:v1");
    let digest = cli.push("policy.wasm", &reference);

    cli.ok(&["pull", &reference]);
    assert_eq!(signed_column(&cli, &reference), "no");

    let signature = put_signature_image(&host, "policies/pod-guard", &digest);
    cli.ok(&["pull", "--refresh", &reference]);
    assert_eq!(signed_column(&cli, &reference), "yes");
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["policies", "-o", "json"])).unwrap();
    assert_eq!(json[0]["signed"], true);
    assert_eq!(json[0]["signatures"][0], signature.as_str());

    // Signatures live in a repository: the same manifest elsewhere, unsigned there, is listed as such.
    let copy = format!("registry://{host}/staging/pod-guard:v1");
    cli.push("policy.wasm", &copy);
    cli.ok(&["pull", &copy]);
    assert_eq!(signed_column(&cli, &copy), "no");
    assert_eq!(signed_column(&cli, &reference), "yes");

    // Sigstore bundles attached as referrers: an attestation's does not count, a signature's does.
    let manifest = test_support::get_manifest(&host, "staging/pod-guard", &digest);
    let attach = |predicate: &str| {
        let empty = test_support::put_blob(&host, "staging/pod-guard", b"{}");
        let bundle = test_support::put_blob(&host, "staging/pod-guard", predicate.as_bytes());
        let referrer = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "digest": bundle,
                        "size": predicate.len()}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                        "size": manifest.len()},
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                            "dev.sigstore.bundle.predicateType": predicate}
        });
        test_support::put_manifest(&host, "staging/pod-guard", None, &referrer)
    };
    attach("https://spdx.dev/Document");
    cli.ok(&["pull", "--refresh", &copy]);
    assert_eq!(
        signed_column(&cli, &copy),
        "no",
        "an attestation is no signature"
    );
    let bundle = attach("https://sigstore.dev/cosign/sign/v1");
    cli.ok(&["pull", "--refresh", &copy]);
    assert_eq!(signed_column(&cli, &copy), "yes");
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["policies", "-o", "json"])).unwrap();
    assert_eq!(json[1]["signatures"], serde_json::json!([bundle]));

    // palisade's archive carries the signatures: a loaded policy is listed as its registry had it; kwctl's
    // carries none, so whether it was signed is unknown.
    cli.ok(&["save", &copy, "-O", "bundle.tar"]);
    cli.ok(&["save", &copy, "--format", "kwctl", "-O", "kwctl.tar.gz"]);
    let other = tempdir();
    std::fs::copy(
        dir.path().join("bundle.tar"),
        other.path().join("bundle.tar"),
    )
    .unwrap();
    let other_cli = palisade(other.path());
    other_cli.ok(&["load", "bundle.tar"]);
    assert_eq!(signed_column(&other_cli, &copy), "yes");
    let json: serde_json::Value =
        serde_json::from_str(&other_cli.ok(&["policies", "-o", "json"])).unwrap();
    assert_eq!(json[0]["signatures"], serde_json::json!([bundle]));

    let third = tempdir();
    std::fs::copy(
        dir.path().join("kwctl.tar.gz"),
        third.path().join("kwctl.tar.gz"),
    )
    .unwrap();
    let kwctl_cli = palisade(third.path());
    kwctl_cli.ok(&["load", "kwctl.tar.gz"]);
    assert_eq!(signed_column(&kwctl_cli, &copy), "-");
}

/// A module over the chunking threshold (16 MiB) goes up in resumable chunks; through pipes, push, pull
/// and copy print their result and nothing else: no bar, no spinner.
#[test]
fn large_transfers_print_only_their_result_in_pipes() {
    let (from, to) = (RegistryServer::start(), RegistryServer::start());
    let dir = tempdir();
    let cli = palisade(dir.path());
    let module = module_of_size(17 << 20);
    std::fs::write(dir.path().join("large.wasm"), &module).unwrap();
    let source = format!("registry://{}/policies/large:v1", from.host());

    let quiet = |args: &[&str]| {
        let output = cli.run(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?} wrote to a pipe: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let pushed = quiet(&["push", "large.wasm", &source, "--force"]);
    assert_eq!(pushed.lines().count(), 1, "{pushed}");
    let pulled = quiet(&[
        "pull",
        "--refresh",
        &source,
        "-O",
        "pulled.wasm",
        "-o",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&pulled).unwrap();
    assert_eq!(json["size"], module.len());
    assert!(std::fs::read(dir.path().join("pulled.wasm")).unwrap() == module);
    let target = format!("registry://{}/mirror/large:v1", to.host());
    let copied = quiet(&["copy", &source, &target]);
    assert!(copied.starts_with(&target), "{copied}");
}
