//! `palisade sbom export`: every tagged policy under a prefix, against our registry-server and CNCF
//! Distribution (whose catalog and tag lists page differently, and which has no referrers API).

use serde_json::Value;
use test_support::{Palisade, get_blob, get_manifest, put_blob, put_manifest_bytes};

/// More repositories and tags than one page (100) holds, so that pagination is exercised.
const FILLER_REPOSITORIES: usize = 104;
const EXTRA_TAGS: usize = 101;

/// Copies the policy `from:v1` of `host` to `to:tag`, blobs and manifest, over plain HTTP.
fn copy_policy(host: &str, from: &str, to: &str, tags: &[String]) {
    let bytes = get_manifest(host, from, "v1");
    let manifest: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let mut digests = vec![manifest["config"]["digest"].clone()];
    digests.extend(
        manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["digest"].clone()),
    );
    if from != to {
        for digest in digests {
            let content = get_blob(host, from, digest.as_str().unwrap_or_default());
            put_blob(host, to, &content);
        }
    }
    let media_type = manifest["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json");
    for tag in tags {
        put_manifest_bytes(host, to, Some(tag), &bytes, media_type);
    }
}

/// Pushes the policies of the export scenario to `host`; returns the CLI in its work folder.
fn scenario(host: &str) -> (tempfile::TempDir, Palisade) {
    let (dir, cli) = test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"));
    let cli = cli.with_env("COSIGN_PASSWORD", "pw");
    cli.ok(&["key", "generate", "--output-prefix", "a"]);
    cli.ok(&["key", "generate", "--output-prefix", "b"]);
    let pod_guard = format!("registry://{host}/policies/pod-guard:v1");
    cli.ok(&["push", "policy.wasm", &pod_guard]);
    cli.ok(&["sbom", "policy.wasm", "-o", "pod-guard.spdx.json"]);
    cli.ok(&["sbom", "attach", &pod_guard, "pod-guard.spdx.json"]);

    cli.ok(&[
        "annotate",
        "wasi-accept.wasm",
        "-m",
        "metadata/wasi.yml",
        "-o",
        "labels.wasm",
    ]);
    let labels = format!("registry://{host}/policies/team/labels:v1");
    cli.ok(&["push", "labels.wasm", &labels]);
    cli.ok(&[
        "sbom",
        "labels.wasm",
        "--format",
        "cyclonedx-json",
        "-o",
        "labels.cdx.json",
    ]);
    cli.ok(&[
        "attest",
        &labels,
        "--key",
        "a.key",
        "--predicate",
        "labels.cdx.json",
        "--type",
        "cyclonedx",
    ]);
    cli.ok(&[
        "push",
        "policy.wasm",
        &format!("registry://{host}/other/outside:v1"),
    ]);

    let extra: Vec<String> = (0..EXTRA_TAGS).map(|i| format!("v1.{i:03}")).collect();
    copy_policy(host, "policies/pod-guard", "policies/pod-guard", &extra);
    for i in 0..FILLER_REPOSITORIES {
        copy_policy(
            host,
            "policies/pod-guard",
            &format!("policies/filler-{i:03}"),
            &["v1".to_string()],
        );
    }
    (dir, cli)
}

fn check_export(host: &str) {
    let (dir, cli) = scenario(host);
    let out = cli.ok(&[
        "sbom",
        "export",
        "--registry",
        host,
        "--prefix",
        "policies",
        "-o",
        "audit",
        "--key",
        "a.pub",
    ]);
    let policies = 1 + EXTRA_TAGS + 1 + FILLER_REPOSITORIES;
    let with_sbom = 1 + EXTRA_TAGS + 1;
    assert!(
        out.starts_with(&format!(
            "exported {with_sbom} SBOMs of {policies} tagged policies (1 vouched for by a verified attestation) to audit"
        )),
        "{out}"
    );

    let audit = dir.path().join("audit");
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(audit.join("index.json")).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(index.len(), policies);
    assert!(index.iter().all(|row| row["policy"] != "other/outside"));
    assert!(
        index.iter().all(|row| !row["tag"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sha256-")),
        "cosign and fallback tags are not policies"
    );
    let row = |policy: &str, tag: &str| {
        index
            .iter()
            .find(|r| r["policy"] == policy && r["tag"] == tag)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {policy}:{tag}"))
    };

    let pod_guard = row("policies/pod-guard", "v1");
    assert_eq!(pod_guard["format"], "spdx-json");
    assert_eq!(pod_guard["license"], "Apache-2.0");
    assert_eq!(pod_guard["source"], "referrer");
    assert_eq!(pod_guard["signed_by"], Value::Null);
    assert_eq!(pod_guard["file"], "policies/pod-guard/v1.spdx.json");
    assert_eq!(
        std::fs::read(audit.join("policies/pod-guard/v1.spdx.json")).ok(),
        std::fs::read(dir.path().join("pod-guard.spdx.json")).ok()
    );
    let last = row("policies/pod-guard", &format!("v1.{:03}", EXTRA_TAGS - 1));
    assert_eq!(last["digest"], pod_guard["digest"]);

    let labels = row("policies/team/labels", "v1");
    assert_eq!(labels["format"], "cyclonedx-json");
    assert_eq!(labels["source"], "attestation");
    assert!(
        labels["signed_by"]
            .as_str()
            .is_some_and(|k| k.starts_with("sha256:")),
        "{labels}"
    );
    let written: Value = serde_json::from_slice(
        &std::fs::read(audit.join("policies/team/labels/v1.cdx.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let attested: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("labels.cdx.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(written, attested);

    let filler = row("policies/filler-103", "v1");
    assert_eq!(filler["format"], Value::Null);
    assert_eq!(filler["file"], Value::Null);

    let csv = std::fs::read_to_string(audit.join("index.csv")).unwrap_or_default();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("policy,tag,digest,license,format,signed_by,source,file")
    );
    assert_eq!(lines.count(), policies);
    let labels_line = format!(
        "policies/team/labels,v1,{},",
        labels["digest"].as_str().unwrap_or_default()
    );
    assert!(csv.contains(&labels_line), "{csv}");

    // Without the key: the attested SBOM is not exported (nothing vouches for it) and nothing is signed.
    let rows: Vec<Value> = serde_json::from_str(&cli.ok(&[
        "sbom",
        "export",
        "--registry",
        host,
        "--prefix",
        "policies/team",
        "-o",
        "team",
        "--output",
        "json",
    ]))
    .unwrap_or_default();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["format"], Value::Null);

    // With another key: the attestation does not verify, so the row is unsigned.
    let rows: Vec<Value> = serde_json::from_str(&cli.ok(&[
        "sbom",
        "export",
        "--registry",
        host,
        "--prefix",
        "policies/team/",
        "-o",
        "team-b",
        "--key",
        "b.pub",
        "--output",
        "json",
    ]))
    .unwrap_or_default();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["signed_by"], Value::Null);

    // A prefix with nothing under it: an empty index.
    cli.ok(&[
        "sbom",
        "export",
        "--registry",
        host,
        "--prefix",
        "nothing",
        "-o",
        "empty",
    ]);
    let csv = std::fs::read_to_string(dir.path().join("empty/index.csv")).unwrap_or_default();
    assert_eq!(csv.lines().count(), 1);

    // Bad input: a key file that is not there.
    let err = cli.fails(&[
        "sbom",
        "export",
        "--registry",
        host,
        "-o",
        "x",
        "--key",
        "missing.pub",
    ]);
    assert!(err.contains("missing.pub"), "{err}");
}

#[test]
fn export_from_our_registry() {
    let registry = test_support::RegistryServer::start();
    check_export(&registry.host());
}

#[test]
fn export_from_distribution() {
    let registry = test_support::Distribution::start(test_support::DistributionOptions::default());
    check_export(&registry.host());
}
