//! Generating SBOMs for fixture and third-party policies, checked by the reference validators.

mod support;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sbom::{Format, Origin, Sbom, SbomError, creation_time, render};
use serde_json::Value;

fn created() -> DateTime<Utc> {
    creation_time(Some("1700000000")).unwrap_or_else(|err| panic!("{err}"))
}

fn rust_source() -> PathBuf {
    test_support::testdata_file("sbom/rust")
}

/// Renders `sbom` in both formats into `dir`, validates both, and returns the parsed documents.
fn render_and_validate(dir: &Path, stem: &str, sbom: &Sbom) -> (Value, Value) {
    let mut parsed = Vec::new();
    for (format, extension) in [
        (Format::SpdxJson, "spdx.json"),
        (Format::CycloneDxJson, "cdx.json"),
    ] {
        let bytes = render(sbom, format, created()).unwrap_or_else(|err| panic!("{err}"));
        let file = dir.join(format!("{stem}.{extension}"));
        std::fs::write(&file, &bytes).unwrap_or_else(|err| panic!("{err}"));
        match format {
            Format::SpdxJson => support::validate_spdx(&file),
            Format::CycloneDxJson => support::validate_cyclonedx(&file),
        }
        parsed.push(serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|err| panic!("{err}")));
    }
    let cyclonedx = parsed.pop().unwrap_or_default();
    let spdx = parsed.pop().unwrap_or_default();
    (spdx, cyclonedx)
}

fn build(module: &[u8], origin: &Origin, source: Option<&Path>) -> Sbom {
    Sbom::build(module, origin, source).unwrap_or_else(|err| panic!("building the SBOM: {err}"))
}

#[test]
fn annotated_policy_with_a_cargo_lock() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let origin = Origin::File(dir.path().join("policy.wasm"));
    let sbom = build(&module, &origin, Some(&rust_source()));
    assert!(sbom.warnings.is_empty(), "{:?}", sbom.warnings);
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "wapc", &sbom);

    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    let packages = spdx["packages"].as_array().cloned().unwrap_or_default();
    let root = &packages[0];
    assert_eq!(root["name"], "pod-guard");
    assert_eq!(root["versionInfo"], "1.2.0");
    assert_eq!(root["licenseDeclared"], "Apache-2.0");
    assert_eq!(
        root["supplier"],
        "Organization: Palisade Authors (authors@palisade.example)"
    );
    let checksums: Vec<&str> = root["checksums"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["algorithm"].as_str())
        .collect();
    assert_eq!(checksums, ["SHA256", "SHA512"]);
    let comments: Vec<&str> = root["annotations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["comment"].as_str())
        .collect();
    assert!(
        comments.contains(&"palisade:policy:executionMode=kubewarden-wapc"),
        "{comments:?}"
    );
    assert!(
        comments.contains(
            &"palisade:policy:rule=apiGroups=\"\"; apiVersions=v1; resources=pods; operations=CREATE,UPDATE"
        ),
        "{comments:?}"
    );
    // The lockfile's graph: the policy's own crate depends on the SDK and serde; the SDK on serde
    // and serde_json; serde_json on itoa and serde. The policy's own crate is not a dependency.
    let depends_on = test_support::spdx_depends_on(&spdx);
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        depends_on,
        [
            pair("kubewarden-policy-sdk", "serde"),
            pair("kubewarden-policy-sdk", "serde_json"),
            pair("pod-guard", "kubewarden-policy-sdk"),
            pair("pod-guard", "serde"),
            pair("serde_json", "itoa"),
            pair("serde_json", "serde"),
        ]
    );
    assert!(
        packages.iter().all(|p| p["name"] != "safe-labels-policy"),
        "the path crate is listed"
    );

    assert_eq!(cyclonedx["specVersion"], "1.6");
    assert_eq!(cyclonedx["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(cyclonedx["metadata"]["component"]["name"], "pod-guard");
    let purls: Vec<&str> = cyclonedx["dependencies"][0]["dependsOn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:cargo/kubewarden-policy-sdk@0.14.1",
            "pkg:cargo/serde@1.0.228",
        ]
    );
    let serde_json = cyclonedx["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["ref"] == "pkg:cargo/serde_json@1.0.145")
        .map(|d| d["dependsOn"].clone());
    assert_eq!(
        serde_json,
        Some(serde_json::json!([
            "pkg:cargo/itoa@1.0.15",
            "pkg:cargo/serde@1.0.228"
        ]))
    );
}

#[test]
fn every_ecosystem_fixture_is_read_and_valid() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wasi-accept", "wasi.yml");
    let expected = [
        (
            "go",
            "pkg:golang/github.com/kubewarden/policy-sdk-go@v0.11.0",
            5,
        ),
        ("npm", "pkg:npm/%40kubewarden/as-sdk@1.0.0", 3),
        ("dotnet", "pkg:nuget/WapcGuest@0.3.0", 2),
        ("rust", "pkg:cargo/serde@1.0.228", 4),
    ];
    for (ecosystem, purl, count) in expected {
        let source = test_support::testdata_file(&format!("sbom/{ecosystem}"));
        let sbom = build(&module, &Origin::File("policy.wasm".into()), Some(&source));
        assert_eq!(
            sbom.dependencies.len(),
            count,
            "{ecosystem}: {:?}",
            sbom.dependencies
        );
        let (_, cyclonedx) = render_and_validate(dir.path(), ecosystem, &sbom);
        let listed = cyclonedx["components"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["purl"] == purl);
        assert!(listed, "{ecosystem}: {purl} missing");
    }
}

#[test]
fn same_inputs_same_bytes() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let origin = Origin::File("policy.wasm".into());
    for format in [Format::SpdxJson, Format::CycloneDxJson] {
        let first = render(
            &build(&module, &origin, Some(&rust_source())),
            format,
            created(),
        );
        let second = render(
            &build(&module, &origin, Some(&rust_source())),
            format,
            created(),
        );
        let (first, second) = (first.ok(), second.ok());
        assert!(first.is_some());
        assert_eq!(first, second, "{format} output differs between runs");
    }
    // The namespace follows the content: another module, another namespace.
    let other = support::annotated(dir.path(), "wapc-reject", "wapc.yml");
    let namespace = |module: &[u8]| {
        let bytes = render(&build(module, &origin, None), Format::SpdxJson, created())
            .unwrap_or_else(|err| panic!("{err}"));
        let value: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        value["documentNamespace"].as_str().map(str::to_string)
    };
    assert_ne!(namespace(&module), namespace(&other));
}

#[test]
fn third_party_policies_give_valid_documents_with_their_toolchain() {
    let dir = test_support::tempdir();
    let mut tools_seen = 0;
    for path in test_support::shared_policies() {
        let module = std::fs::read(&path).unwrap_or_else(|err| panic!("{err}"));
        let sbom = build(&module, &Origin::File(path.clone()), None);
        tools_seen += sbom.toolchain.len();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (spdx, _) = render_and_validate(dir.path(), &stem, &sbom);
        let packages = spdx["packages"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default();
        assert_eq!(packages, 1 + sbom.toolchain.len(), "{stem}");
    }
    assert!(
        tools_seen > 0,
        "no third-party policy has a producers section"
    );
}

#[test]
fn a_module_without_metadata_still_gets_an_sbom_and_a_warning() {
    let dir = test_support::tempdir();
    let module = test_support::compile_fixture("opa-deny");
    let sbom = build(&module, &Origin::File("opa-deny.wasm".into()), None);
    assert_eq!(sbom.policy.name, "opa-deny");
    assert!(
        sbom.warnings
            .iter()
            .any(|w| w.contains("no policy metadata")),
        "{:?}",
        sbom.warnings
    );
    render_and_validate(dir.path(), "bare", &sbom);
}

#[test]
fn a_malformed_producers_section_is_an_error() {
    // A producers section whose field count promises more than follows.
    let mut module = test_support::compile_fixture("wapc-accept");
    let name = b"producers";
    let payload = [&[name.len() as u8][..], name, &[0x05, 0x01]].concat();
    module.push(0);
    module.push(payload.len() as u8);
    module.extend_from_slice(&payload);
    let err = Sbom::build(&module, &Origin::File("bad.wasm".into()), None).err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("producers"), "{message}");
}

#[test]
fn a_lockfile_that_does_not_parse_names_the_file_and_line() {
    let module = test_support::compile_fixture("wapc-accept");
    let source = test_support::testdata_file("sbom/broken");
    let err = Sbom::build(&module, &Origin::File("p.wasm".into()), Some(&source)).err();
    match err {
        Some(SbomError::Lockfile { path, line, .. }) => {
            assert!(path.ends_with("broken/Cargo.lock"), "{}", path.display());
            assert_eq!(line, 5);
        }
        other => panic!("expected a lockfile error, got {other:?}"),
    }
}

#[test]
fn a_source_folder_without_lockfile_is_a_warning() {
    let dir = test_support::tempdir();
    let module = test_support::compile_fixture("wapc-accept");
    let sbom = build(&module, &Origin::File("p.wasm".into()), Some(dir.path()));
    assert!(sbom.dependencies.is_empty());
    assert!(
        sbom.warnings.iter().any(|w| w.contains("no lockfile")),
        "{:?}",
        sbom.warnings
    );
}

#[test]
fn an_unknown_format_name_is_an_error() {
    assert!(matches!(
        "spdx-tag-value".parse::<Format>(),
        Err(SbomError::UnknownFormat(name)) if name == "spdx-tag-value"
    ));
}

#[test]
fn a_registry_origin_gives_valid_purl_and_download_location() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let hex = "ab".repeat(32);
    let text = format!("registry://ghcr.io/acme/policies/pod-guard:v1.2.0@sha256:{hex}");
    let reference = match text.parse::<artifact::reference::PolicyRef>() {
        Ok(artifact::reference::PolicyRef::Registry(reference)) => reference,
        other => panic!("{other:?}"),
    };
    let sbom = build(&module, &Origin::Registry(reference), None);
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "registry", &sbom);
    let purl = format!(
        "pkg:oci/pod-guard@sha256:{hex}?repository_url=ghcr.io/acme/policies/pod-guard&tag=v1.2.0"
    );
    assert_eq!(
        spdx["packages"][0]["externalRefs"][0]["referenceLocator"],
        purl.as_str()
    );
    assert_eq!(
        spdx["packages"][0]["downloadLocation"],
        format!("https://ghcr.io/v2/acme/policies/pod-guard/manifests/sha256:{hex}").as_str()
    );
    assert_eq!(cyclonedx["metadata"]["component"]["purl"], purl.as_str());
}

#[test]
fn a_license_that_is_not_an_spdx_expression_is_a_warning_and_stays_valid() {
    let dir = test_support::tempdir();
    let text = std::fs::read_to_string(test_support::testdata_file("metadata/wapc.yml"))
        .unwrap_or_else(|err| panic!("{err}"))
        .replace(
            "io.kubewarden.policy.license: Apache-2.0",
            "io.kubewarden.policy.license: Our Own License v2",
        );
    let metadata = dir.path().join("metadata.yml");
    std::fs::write(&metadata, text).unwrap_or_else(|err| panic!("{err}"));
    let module = support::annotated_with(dir.path(), "wapc-accept", &metadata);
    let sbom = build(&module, &Origin::File("p.wasm".into()), None);
    assert!(
        sbom.warnings
            .iter()
            .any(|w| w.contains("Our Own License v2")),
        "{:?}",
        sbom.warnings
    );
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "license", &sbom);
    assert_eq!(spdx["packages"][0]["licenseDeclared"], "NOASSERTION");
    assert_eq!(
        cyclonedx["metadata"]["component"]["licenses"][0]["license"]["name"],
        "Our Own License v2"
    );
}
