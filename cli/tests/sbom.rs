//! `palisade sbom`: files and registry references in, SPDX and CycloneDX documents out.

use std::path::Path;

use artifact::oci::Digest;
use artifact::reference::PolicyRef;
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use serde_json::Value;
use test_support::{Palisade, RegistryServer};

fn annotated_workdir() -> (tempfile::TempDir, Palisade) {
    test_support::annotated_workdir(env!("CARGO_BIN_EXE_palisade"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

fn rust_source() -> String {
    test_support::testdata_file("sbom/rust")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn spdx_to_stdout_is_reproducible() {
    let (_dir, cli) = annotated_workdir();
    let args = ["sbom", "policy.wasm", "--source", &rust_source()];
    let first = cli.ok(&args);
    assert_eq!(first, cli.ok(&args), "SOURCE_DATE_EPOCH is set: same bytes");
    let document = json(&first);
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    assert_eq!(document["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    assert_eq!(document["packages"][0]["name"], "pod-guard");
}

#[test]
fn cyclonedx_to_a_file_with_a_json_summary() {
    let (dir, cli) = annotated_workdir();
    let summary = json(&cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &rust_source(),
        "--format",
        "cyclonedx-json",
        "-o",
        "policy.cdx.json",
        "--output",
        "json",
    ]));
    assert_eq!(summary["format"], "cyclonedx-json");
    assert_eq!(summary["name"], "pod-guard");
    assert_eq!(summary["dependencies"], 4);
    let written = std::fs::read_to_string(dir.path().join("policy.cdx.json"))
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(json(&written)["specVersion"], "1.6");
}

#[test]
fn a_registry_reference_gets_an_oci_purl() {
    let registry = RegistryServer::start();
    let (_dir, cli) = annotated_workdir();
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    let digest = cli.push("policy.wasm", &reference);
    let document = json(&cli.ok(&["sbom", &reference, "--format", "cyclonedx-json"]));
    let purl = document["metadata"]["component"]["purl"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        purl,
        format!(
            "pkg:oci/pod-guard@{digest}?repository_url={}/policies/pod-guard&tag=v1",
            registry.host()
        )
    );
}

#[test]
fn bad_input() {
    let (dir, cli) = annotated_workdir();
    // An unknown format is a usage error naming the accepted ones.
    let output = cli.run(&["sbom", "policy.wasm", "--format", "spdx-xml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spdx-xml") && stderr.contains("cyclonedx-json"),
        "{stderr}"
    );

    // A lockfile that does not parse: its file and line.
    let broken = test_support::testdata_file("sbom/broken");
    let stderr = cli.fails(&["sbom", "policy.wasm", "--source", &broken.to_string_lossy()]);
    assert!(stderr.contains("broken/Cargo.lock:5:"), "{stderr}");

    // A module without metadata: a document all the same, and a warning.
    let output = cli.run(&["sbom", "wapc-accept.wasm"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: the module has no policy metadata"),
        "{stderr}"
    );
    assert_eq!(
        json(&String::from_utf8_lossy(&output.stdout))["packages"][0]["name"],
        "wapc-accept"
    );

    // A file that is not there.
    let stderr = cli.fails(&["sbom", "missing.wasm"]);
    assert!(stderr.contains("missing.wasm"), "{stderr}");
    assert!(!Path::new(&dir.path().join("missing.wasm")).exists());
}

#[test]
fn attach_pushes_a_referrer_of_the_policy() {
    let registry = RegistryServer::start();
    let (dir, cli) = annotated_workdir();
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    let subject = cli.push("policy.wasm", &reference);
    cli.ok(&["sbom", "policy.wasm", "-o", "policy.spdx.json"]);

    let attached = json(&cli.ok(&[
        "sbom",
        "attach",
        &reference,
        "policy.spdx.json",
        "--output",
        "json",
    ]));
    assert_eq!(attached["subject"], subject.as_str());
    assert_eq!(attached["artifact_type"], "application/spdx+json");
    assert_eq!(
        attached["fallback_tag"],
        Value::Null,
        "our registry has the referrers API"
    );

    // The referrer manifest names the policy as its subject and carries the document.
    let referrer = attached["referrer"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let manifest = json(&String::from_utf8_lossy(&test_support::get_manifest(
        &registry.host(),
        "policies/pod-guard",
        &referrer,
    )));
    assert_eq!(manifest["artifactType"], "application/spdx+json");
    assert_eq!(manifest["subject"]["digest"], subject.as_str());
    let document = std::fs::read(dir.path().join("policy.spdx.json")).unwrap_or_default();
    assert_eq!(
        manifest["layers"][0]["size"].as_u64(),
        Some(document.len() as u64)
    );

    // Fetching gives the document back, byte for byte; there is no CycloneDX one.
    let fetched = cli.ok(&["sbom", "fetch", &reference]);
    assert_eq!(fetched.as_bytes(), document.as_slice());
    let stderr = cli.fails(&["sbom", "fetch", &reference, "--format", "cyclonedx-json"]);
    assert!(stderr.contains("no SBOM is attached"), "{stderr}");

    // Attaching again is idempotent: same referrer (SOURCE_DATE_EPOCH fixes the created time).
    let again = json(&cli.ok(&[
        "sbom",
        "attach",
        &reference,
        "policy.spdx.json",
        "--output",
        "json",
    ]));
    assert_eq!(again["referrer"], referrer.as_str());
}

#[test]
fn attach_bad_input() {
    let registry = RegistryServer::start();
    let (_dir, cli) = annotated_workdir();
    cli.ok(&["sbom", "policy.wasm", "-o", "policy.spdx.json"]);
    // A policy that is not there.
    let missing = format!("registry://{}/policies/nothing:v1", registry.host());
    let stderr = cli.fails(&["sbom", "attach", &missing, "policy.spdx.json"]);
    assert!(stderr.contains("policies/nothing"), "{stderr}");
    // A file that is not an SBOM.
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    cli.ok(&["push", "policy.wasm", &reference]);
    let stderr = cli.fails(&["sbom", "attach", &reference, "metadata/wapc.yml"]);
    assert!(stderr.contains("not an SBOM"), "{stderr}");
}

#[test]
fn attach_to_a_registry_without_the_referrers_api_writes_the_fallback_tag() {
    let registry = test_support::Distribution::start(test_support::DistributionOptions::default());
    let (dir, cli) = annotated_workdir();
    let reference = format!("registry://{}/policies/pod-guard:v1", registry.host());
    let subject = cli.push("policy.wasm", &reference);
    cli.ok(&[
        "sbom",
        "policy.wasm",
        "--format",
        "cyclonedx-json",
        "-o",
        "policy.cdx.json",
    ]);
    let attached = json(&cli.ok(&[
        "sbom",
        "attach",
        &reference,
        "policy.cdx.json",
        "--output",
        "json",
    ]));
    let tag = subject.replacen(':', "-", 1);
    assert_eq!(attached["fallback_tag"], tag.as_str());

    // Referrer discovery (which reads the fallback tag here) finds it.
    let remote = Remote::new(RemoteOptions {
        docker_config: DockerConfig::new(dir.path().join("docker")),
        sources: Sources::default(),
    });
    let policy = match reference.parse::<PolicyRef>() {
        Ok(PolicyRef::Registry(policy)) => policy,
        other => panic!("{other:?}"),
    };
    let digest: Digest = subject.parse().unwrap_or_else(|err| panic!("{err}"));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|err| panic!("{err}"));
    let fetched = cli.ok(&["sbom", "fetch", &reference, "-o", "fetched.cdx.json"]);
    assert!(fetched.contains("cyclonedx-json"), "{fetched}");
    assert_eq!(
        std::fs::read(dir.path().join("fetched.cdx.json")).ok(),
        std::fs::read(dir.path().join("policy.cdx.json")).ok()
    );
    let listed = runtime
        .block_on(async {
            let repository = remote.repository(&policy).await?;
            repository.referrers(&digest, None).await
        })
        .unwrap_or_else(|err| panic!("listing referrers: {err}"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        listed[0].digest.to_string(),
        attached["referrer"].as_str().unwrap_or_default()
    );
    assert_eq!(
        listed[0].artifact_type.as_deref(),
        Some("application/vnd.cyclonedx+json")
    );
}

#[test]
fn the_lockfile_graph_becomes_relationships_and_stays_valid() {
    let (dir, cli) = annotated_workdir();
    let npm = test_support::testdata_file("sbom/npm");
    let npm = npm.to_string_lossy();
    cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &npm,
        "-o",
        "npm.spdx.json",
    ]);
    cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &npm,
        "--format",
        "cyclonedx-json",
        "-o",
        "npm.cdx.json",
    ]);
    let spdx_file = dir.path().join("npm.spdx.json");
    let cdx_file = dir.path().join("npm.cdx.json");
    test_support::validate_spdx(&spdx_file);
    test_support::validate_cyclonedx(&cdx_file);

    let spdx = json(&std::fs::read_to_string(&spdx_file).unwrap_or_default());
    let edges = test_support::spdx_depends_on(&spdx);
    let edge = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        edges,
        [
            edge("assemblyscript", "binaryen"),
            edge("pod-guard", "@kubewarden/as-sdk"),
        ]
    );
    // A devDependency of the project: DEV_DEPENDENCY_OF it.
    let dev_of: Vec<(&str, &str)> = spdx["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["relationshipType"] == "DEV_DEPENDENCY_OF")
        .filter_map(|r| {
            Some((
                r["spdxElementId"].as_str()?,
                r["relatedSpdxElement"].as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        dev_of,
        [("SPDXRef-Package-dependency-2", "SPDXRef-Package-policy")]
    );

    let cyclonedx = json(&std::fs::read_to_string(&cdx_file).unwrap_or_default());
    let dependencies = cyclonedx["dependencies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        dependencies.len(),
        4,
        "the policy and each of the 3 packages"
    );
    assert_eq!(
        dependencies[0],
        serde_json::json!({"ref": "policy", "dependsOn": [
            "pkg:npm/%40kubewarden/as-sdk@1.0.0", "pkg:npm/assemblyscript@0.27.31"
        ]})
    );
    let assemblyscript = dependencies
        .iter()
        .find(|d| d["ref"] == "pkg:npm/assemblyscript@0.27.31")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        assemblyscript["dependsOn"],
        serde_json::json!(["pkg:npm/binaryen@116.0.0-nightly.20240114"])
    );
}

fn testdata(relative: &str) -> String {
    test_support::testdata_file(relative)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn check_ntia_reports_what_each_component_lacks() {
    let (_dir, cli) = annotated_workdir();
    // The annotated policy alone: its metadata names the author, so every element is there.
    let report = json(&cli.ok(&["sbom", "policy.wasm", "--check", "ntia", "--output", "json"]));
    assert_eq!(report["passes"], true, "{report}");
    assert_eq!(report["components"], 1);
    assert_eq!(report["timestamp"], "2023-11-14T22:13:20Z");

    // With npm dependencies: package-lock.json records no supplier; the report names each
    // package and exits 1.
    let output = cli.run(&[
        "sbom",
        "policy.wasm",
        "--source",
        &testdata("sbom/npm"),
        "--check",
        "ntia",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(report["passes"], false);
    let gaps: Vec<(String, Value)> = report["gaps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|gap| {
            (
                gap["component"].as_str().unwrap_or_default().to_string(),
                gap["missing"].clone(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            (
                "@kubewarden/as-sdk 1.0.0".to_string(),
                serde_json::json!(["supplier"])
            ),
            (
                "assemblyscript 0.27.31".to_string(),
                serde_json::json!(["supplier"])
            ),
            (
                "binaryen 116.0.0-nightly.20240114".to_string(),
                serde_json::json!(["supplier"])
            ),
        ]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 of 4 components lack NTIA minimum elements"),
        "{stderr}"
    );

    // A module without metadata has no supplier unless given one.
    let stdout = String::from_utf8_lossy(
        &cli.run(&["sbom", "wapc-accept.wasm", "--check", "ntia"])
            .stdout,
    )
    .into_owned();
    assert!(stdout.contains("policy wapc-accept sha256:"), "{stdout}");
    assert!(stdout.contains("missing supplier"), "{stdout}");
    cli.ok(&[
        "sbom",
        "wapc-accept.wasm",
        "--check",
        "ntia",
        "--supplier",
        "ACME <security@acme.example>",
    ]);
}

/// `(component, missing, unknown)` of each gap of a `--check --output json` report.
fn gaps(report: &Value) -> Vec<(String, Value, Vec<String>)> {
    report["gaps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|gap| {
            let unknown = gap["unknown"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|u| u["element"].as_str().unwrap_or_default().to_string())
                .collect();
            (
                gap["component"].as_str().unwrap_or_default().to_string(),
                gap["missing"].clone(),
                unknown,
            )
        })
        .collect()
}

#[test]
fn check_fsct3_takes_what_the_document_declares_unknown() {
    let (_dir, cli) = annotated_workdir();
    // Cargo.lock alone: the document declares the crates' suppliers and licenses unknown (cargo
    // metadata was not run) and every copyright notice; three crates have no checksum in this
    // lockfile, which nothing declares: missing.
    let output = cli.run(&[
        "sbom",
        "policy.wasm",
        "--source",
        &rust_source(),
        "--check",
        "fsct3",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(report["standard"], "fsct3");
    assert_eq!(report["types"], serde_json::json!(["analyzed", "source"]));
    let declared =
        |elements: &[&str]| -> Vec<String> { elements.iter().map(ToString::to_string).collect() };
    let lockfile_only = declared(&["supplier", "license", "copyright"]);
    assert_eq!(
        gaps(&report),
        [
            (
                "pod-guard 1.2.0".to_string(),
                serde_json::json!([]),
                declared(&["copyright"])
            ),
            (
                "itoa 1.0.15".to_string(),
                serde_json::json!([]),
                lockfile_only.clone()
            ),
            (
                "kubewarden-policy-sdk 0.14.1".to_string(),
                serde_json::json!(["hash"]),
                lockfile_only.clone()
            ),
            (
                "serde 1.0.228".to_string(),
                serde_json::json!(["hash"]),
                lockfile_only.clone()
            ),
            (
                "serde_json 1.0.145".to_string(),
                serde_json::json!(["hash"]),
                lockfile_only
            ),
        ]
    );
    let reason = report["gaps"][1]["unknown"][0]["reason"].as_str();
    assert!(
        reason.is_some_and(|r| r.starts_with("Rust: read from Cargo.lock alone")),
        "{reason:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 of 5 components lack FSCT3 baseline attributes"),
        "{stderr}"
    );

    // Go: go.sum's h1 hashes are there, suppliers and licenses declared unknown; the policy's
    // metadata names its author and license: every component is complete.
    let stdout = cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &testdata("sbom/safe-labels-policy"),
        "--check",
        "fsct3",
    ]);
    assert!(stdout.contains("9 of 9 components complete"), "{stdout}");
    assert!(
        stdout.contains("  every component: declared unknown copyright notice [1]\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "dependency pkg:golang/github.com/kubewarden/strfmt@v0.1.3: declared unknown supplier [2], license [2]"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  [2] Go: read from go.mod and go.sum"),
        "{stdout}"
    );

    // A module without metadata has neither supplier nor license: missing, exit 1.
    let output = cli.run(&["sbom", "wapc-accept.wasm", "--check", "fsct3"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(": missing supplier, license\n"), "{stdout}");

    // An unknown standard is a usage error naming the ones there are.
    let output = cli.run(&["sbom", "policy.wasm", "--check", "fsct4"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: ntia, fsct3]"),
        "{stderr}"
    );
}

#[test]
fn a_source_without_dependencies_fails_unless_allowed() {
    let (dir, cli) = annotated_workdir();
    std::fs::create_dir_all(dir.path().join("src")).unwrap_or_else(|err| panic!("{err}"));
    let stderr = cli.fails(&["sbom", "policy.wasm", "--source", "src"]);
    assert!(
        stderr.contains("no lockfile (Cargo.lock, go.mod (or go.sum), package-lock.json, packages.lock.json) in src")
            && stderr.contains("--allow-no-dependencies"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("src/Cargo.lock"), "").unwrap_or_else(|err| panic!("{err}"));
    let stderr = cli.fails(&["sbom", "policy.wasm", "--source", "src"]);
    assert!(
        stderr.contains("Cargo.lock in src pins no dependencies"),
        "{stderr}"
    );
    let document = json(&cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        "src",
        "--allow-no-dependencies",
    ]));
    assert_eq!(document["packages"].as_array().map(Vec::len), Some(1));

    // A Cargo.lock that is not TOML: its line.
    std::fs::write(
        dir.path().join("src/Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = not a string\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let stderr = cli.fails(&["sbom", "policy.wasm", "--source", "src"]);
    assert!(
        stderr.contains("src/Cargo.lock:7: not a valid Cargo.lock"),
        "{stderr}"
    );
}

#[test]
fn the_same_sources_in_two_folders_give_the_same_bytes() {
    let (dir, cli) = annotated_workdir();
    let copy = |to: &Path| {
        std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("{err}"));
        for name in ["go.mod", "go.sum"] {
            std::fs::copy(
                test_support::testdata_file(&format!("sbom/safe-labels-policy/{name}")),
                to.join(name),
            )
            .unwrap_or_else(|err| panic!("{err}"));
        }
    };
    copy(&dir.path().join("one"));
    copy(&dir.path().join("deeper/two"));
    let absolute = dir.path().join("deeper/two").to_string_lossy().into_owned();
    for format in ["spdx-json", "cyclonedx-json"] {
        let first = cli.ok(&["sbom", "policy.wasm", "--source", "one", "--format", format]);
        let second = cli.ok(&[
            "sbom",
            "policy.wasm",
            "--source",
            "./deeper/two/",
            "--format",
            format,
        ]);
        let third = cli.ok(&[
            "sbom",
            "policy.wasm",
            "--source",
            &absolute,
            "--format",
            format,
        ]);
        assert_eq!(first, second, "{format}");
        assert_eq!(first, third, "{format}");
    }

    // Without SOURCE_DATE_EPOCH, every document is another one: unique serial numbers.
    let serial = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args([
                "sbom",
                "policy.wasm",
                "--source",
                "one",
                "--format",
                "cyclonedx-json",
            ])
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(output.status.success());
        json(&String::from_utf8_lossy(&output.stdout))["serialNumber"]
            .as_str()
            .map(str::to_string)
    };
    let first = serial();
    assert!(first.is_some());
    assert_ne!(first, serial());
}

#[test]
fn every_real_source_gives_documents_the_validators_accept() {
    let (dir, cli) = annotated_workdir();
    for source in [
        "pod-privileged-policy",
        "safe-labels-policy",
        "go-policy-template",
        "js-policy-template",
    ] {
        let path = testdata(&format!("sbom/{source}"));
        let spdx = dir.path().join(format!("{source}.spdx.json"));
        let cdx = dir.path().join(format!("{source}.cdx.json"));
        cli.ok(&[
            "sbom",
            "policy.wasm",
            "--source",
            &path,
            "-o",
            &spdx.to_string_lossy(),
        ]);
        cli.ok(&[
            "sbom",
            "policy.wasm",
            "--source",
            &path,
            "--format",
            "cyclonedx-json",
            "-o",
            &cdx.to_string_lossy(),
        ]);
        test_support::validate_spdx(&spdx);
        test_support::validate_cyclonedx(&cdx);
        // NTIA: everything is there but suppliers the lockfiles do not record.
        test_support::assert_ntia_provided(
            &test_support::ntia_report(&spdx),
            &[
                "componentNames",
                "componentVersions",
                "componentIdentifiers",
                "dependencyRelationshipsProvided",
            ],
            source,
        );
    }
    // The Rust source went through cargo metadata (cargo is on the PATH): crates are marked.
    let cdx = json(
        &std::fs::read_to_string(dir.path().join("pod-privileged-policy.cdx.json"))
            .unwrap_or_default(),
    );
    let excluded = cdx["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["scope"] == "excluded")
        .count();
    assert_eq!(excluded, 44, "40 build-only crates and 4 for other targets");
    // --lockfile-only does not run cargo, and says so in the document.
    let document = json(&cli.ok(&[
        "sbom",
        "policy.wasm",
        "--source",
        &testdata("sbom/pod-privileged-policy"),
        "--lockfile-only",
        "--format",
        "cyclonedx-json",
    ]));
    assert!(
        document["components"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|c| c["scope"].is_null())
    );
    let notes: Vec<&str> = document["metadata"]["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "palisade:not-established")
        .filter_map(|p| p["value"].as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("cargo metadata was not run")),
        "{notes:?}"
    );
}
