//! Generating SBOMs for fixture and third-party policies, checked by the reference validators.

#[path = "support/documents.rs"]
mod documents;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use documents::render_and_validate;
use sbom::lockfile::{Scope, Toolchain};
use sbom::{Format, Options, Origin, Sbom, SbomError, creation_time, render};
use serde_json::Value;

fn created() -> DateTime<Utc> {
    creation_time(Some("1700000000")).unwrap_or_else(|err| panic!("{err}"))
}

fn rust_source() -> PathBuf {
    test_support::testdata_file("sbom/rust")
}

/// Options for a reproducible document from the lockfiles in `source` alone.
fn lockfile_only(source: Option<&Path>) -> Options<'_> {
    Options {
        source,
        reproducible: true,
        ..Options::default()
    }
}

fn build(module: &[u8], origin: &Origin, source: Option<&Path>) -> Sbom {
    build_with(module, origin, &lockfile_only(source))
}

fn build_with(module: &[u8], origin: &Origin, options: &Options<'_>) -> Sbom {
    Sbom::build(module, origin, options).unwrap_or_else(|err| panic!("building the SBOM: {err}"))
}

/// `cargo`, as the CLI would find it (the tests run under cargo).
fn cargo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Options for a reproducible document from `source`, `cargo metadata` run with `cargo`.
fn with_cargo<'a>(source: &'a Path, cargo: &'a Path) -> Options<'a> {
    Options {
        toolchain: Toolchain { cargo: Some(cargo) },
        ..lockfile_only(Some(source))
    }
}

/// The annotated waPC fixture described with the real source `testdata/sbom/NAME` (copied into
/// `dir/source`, which is returned too), `cargo metadata` run on it.
fn build_with_cargo(dir: &Path, name: &str) -> (PathBuf, Sbom) {
    let source = copy_source(name, dir, "source");
    let module = support::annotated(dir, "wapc-accept", "wapc.yml");
    let cargo = cargo();
    let options = with_cargo(&source, &cargo);
    let sbom = build_with(&module, &Origin::File("policy.wasm".into()), &options);
    (source, sbom)
}

/// A real policy source copied from `testdata/sbom/NAME` (see its README) into `dir/as_name`.
fn copy_source(name: &str, dir: &Path, as_name: &str) -> PathBuf {
    let from = test_support::testdata_file(&format!("sbom/{name}"));
    let to = dir.join(as_name);
    copy_tree(&from, &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|err| panic!("{}: {err}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|err| panic!("{}: {err}", from.display())) {
        let entry = entry.unwrap_or_else(|err| panic!("{err}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|err| panic!("{err}"));
        }
    }
}

/// The components of a CycloneDX document by name.
fn components(cyclonedx: &Value) -> Vec<Value> {
    cyclonedx["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn annotated_policy_with_a_cargo_lock() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let origin = Origin::File(dir.path().join("policy.wasm"));
    let sbom = build(&module, &origin, Some(&rust_source()));
    assert_eq!(sbom.warnings.len(), 1, "{:?}", sbom.warnings);
    assert!(
        sbom.warnings[0].starts_with("4 of 4 dependencies have no supplier"),
        "{:?}",
        sbom.warnings
    );
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "wapc", &sbom);
    // Read from Cargo.lock alone: the document says what could not be established.
    assert!(
        spdx["creationInfo"]["comment"]
            .as_str()
            .is_some_and(|c| c.contains("Not established: Rust: read from Cargo.lock alone")),
        "{}",
        spdx["creationInfo"]
    );

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
    let test = "third_party_policies_give_valid_documents_with_their_toolchain";
    let Some(policies) = test_support::shared_policies(test) else {
        return;
    };
    let dir = test_support::tempdir();
    let mut tools_seen = 0;
    for path in policies {
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
    let err = Sbom::build(
        &module,
        &Origin::File("bad.wasm".into()),
        &lockfile_only(None),
    )
    .err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("producers"), "{message}");
}

#[test]
fn a_lockfile_that_does_not_parse_names_the_file_and_line() {
    let module = test_support::compile_fixture("wapc-accept");
    let source = test_support::testdata_file("sbom/broken");
    let err = Sbom::build(
        &module,
        &Origin::File("p.wasm".into()),
        &lockfile_only(Some(&source)),
    )
    .err();
    match err {
        Some(SbomError::Lockfile { path, line, .. }) => {
            assert!(path.ends_with("broken/Cargo.lock"), "{}", path.display());
            assert_eq!(line, 5);
        }
        other => panic!("expected a lockfile error, got {other:?}"),
    }
}

#[test]
fn no_dependencies_is_an_error_unless_allowed() {
    let dir = test_support::tempdir();
    let module = test_support::compile_fixture("wapc-accept");
    let origin = Origin::File("p.wasm".into());
    // A folder without a lockfile: what was looked for, and where.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap_or_else(|err| panic!("{err}"));
    match Sbom::build(&module, &origin, &lockfile_only(Some(&empty))) {
        Err(err @ SbomError::NoDependencies { .. }) => {
            let message = err.to_string();
            assert!(
                message.contains("no lockfile (Cargo.lock, go.mod (or go.sum), package-lock.json")
                    && message.contains(&empty.display().to_string())
                    && message.contains("--allow-no-dependencies"),
                "{message}"
            );
        }
        other => panic!("expected no dependencies, got {other:?}"),
    }
    // An empty Cargo.lock: named.
    let lockfile = dir.path().join("lock");
    std::fs::create_dir_all(&lockfile).unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(lockfile.join("Cargo.lock"), "").unwrap_or_else(|err| panic!("{err}"));
    let message = Sbom::build(&module, &origin, &lockfile_only(Some(&lockfile)))
        .err()
        .map(|err| err.to_string())
        .unwrap_or_default();
    assert!(
        message.starts_with("Cargo.lock in ") && message.contains("pins no dependencies"),
        "{message}"
    );
    // Allowed: a document without dependencies, that says which lockfile it read.
    let options = Options {
        allow_no_dependencies: true,
        ..lockfile_only(Some(&lockfile))
    };
    let sbom = build_with(&module, &origin, &options);
    assert!(sbom.dependencies.is_empty());
    assert_eq!(sbom.lockfiles.len(), 1);
    render_and_validate(dir.path(), "allowed", &sbom);
}

#[test]
fn cargo_lock_is_read_as_toml() {
    let dir = test_support::tempdir();
    let module = test_support::compile_fixture("wapc-accept");
    let origin = Origin::File("p.wasm".into());
    let real = std::fs::read_to_string(test_support::testdata_file(
        "sbom/pod-privileged-policy/Cargo.lock",
    ))
    .unwrap_or_else(|err| panic!("{err}"));
    // An end-of-line comment is TOML: accepted.
    let commented = dir.path().join("commented");
    std::fs::create_dir_all(&commented).unwrap_or_else(|err| panic!("{err}"));
    let text = real.replacen(" \"anyhow\",\n", " \"anyhow\", # the error type\n", 1);
    assert_ne!(text, real);
    std::fs::write(commented.join("Cargo.lock"), text).unwrap_or_else(|err| panic!("{err}"));
    let sbom = build(&module, &origin, Some(&commented));
    assert_eq!(sbom.dependencies.len(), 119);
    // A value that is not a string is not TOML: refused, with the line.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap_or_else(|err| panic!("{err}"));
    let line = real
        .lines()
        .position(|l| l.starts_with("checksum = "))
        .map(|index| index + 1)
        .unwrap_or_default();
    let text = real.replacen(
        real.lines().nth(line - 1).unwrap_or_default(),
        "checksum = not a string",
        1,
    );
    std::fs::write(broken.join("Cargo.lock"), text).unwrap_or_else(|err| panic!("{err}"));
    match Sbom::build(&module, &origin, &lockfile_only(Some(&broken))) {
        Err(SbomError::Lockfile {
            path,
            line: at,
            reason,
        }) => {
            assert!(path.ends_with("broken/Cargo.lock"), "{}", path.display());
            assert_eq!(at, line);
            assert!(reason.starts_with("not a valid Cargo.lock"), "{reason}");
        }
        other => panic!("expected a lockfile error, got {other:?}"),
    }
}

/// The crates `cargo tree` says a wasm32-wasip1 build compiles in (normal edges, no procedural
/// macros), as `name version`.
fn cargo_tree_runtime(source: &Path) -> BTreeSet<String> {
    let output = Command::new(cargo())
        .args([
            "tree",
            "--locked",
            "--target",
            "wasm32-wasip1",
            "-e",
            "normal,no-proc-macro",
            "--prefix",
            "none",
        ])
        .current_dir(source)
        .output()
        .unwrap_or_else(|err| panic!("cargo tree: {err}"));
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("pod-privileged-policy "))
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default();
            let version = words.next().unwrap_or_default().trim_start_matches('v');
            format!("{name} {version}")
        })
        .collect()
}

#[test]
fn pod_privileged_policy_with_cargo_metadata_marks_what_ships() {
    let dir = test_support::tempdir();
    let (source, sbom) = build_with_cargo(dir.path(), "pod-privileged-policy");
    assert_eq!(sbom.dependencies.len(), 119);
    // Every crate has its license (from cargo metadata) and its SHA-256 (from Cargo.lock).
    for dependency in &sbom.dependencies {
        assert!(
            dependency.license.is_some(),
            "{} has no license",
            dependency.name
        );
        assert_eq!(dependency.hashes.len(), 1, "{}", dependency.name);
    }
    // The runtime set is what cargo tree says a wasm32-wasip1 build compiles in.
    let runtime: BTreeSet<String> = sbom
        .dependencies
        .iter()
        .filter(|d| d.scope == Scope::Runtime)
        .map(|d| format!("{} {}", d.name, d.version))
        .collect();
    assert_eq!(runtime, cargo_tree_runtime(&source));
    // The others are marked: proc macros and build crates, other targets' crates.
    let scope_of = |name: &str| {
        sbom.dependencies
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.scope)
    };
    assert_eq!(scope_of("serde_derive"), Some(Scope::Build));
    assert_eq!(scope_of("proc-macro2"), Some(Scope::Build));
    assert_eq!(scope_of("libc"), Some(Scope::OtherTarget));
    assert_eq!(scope_of("windows-link"), Some(Scope::OtherTarget));
    assert!(sbom.dependencies.iter().all(|d| d.scope != Scope::Unknown));

    let (spdx, cyclonedx) = render_and_validate(dir.path(), "pod-privileged", &sbom);
    // The SBOM type (CISA: analyzed, source) in both formats; what is unknown, said: the crates
    // without authors, copyright notices (NOASSERTION on every SPDX package).
    assert_eq!(
        cyclonedx["metadata"]["lifecycles"],
        serde_json::json!([{ "phase": "post-build" }, { "phase": "pre-build" }])
    );
    let comment = spdx["creationInfo"]["comment"].as_str().unwrap_or_default();
    assert!(
        comment.starts_with("SBOM type: analyzed, source\n"),
        "{comment}"
    );
    let unauthored = sbom
        .dependencies
        .iter()
        .filter(|d| d.supplier.is_none())
        .count();
    assert!(
        comment.contains(&format!(
            "Rust: {unauthored} of 119 crates name no authors in their Cargo.toml"
        )),
        "{comment}"
    );
    assert!(
        comment.contains("Copyright notices: none of the inputs"),
        "{comment}"
    );
    assert!(
        spdx["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["copyrightText"] == "NOASSERTION")
    );
    // CycloneDX: runtime crates are required, the others excluded, with hashes and licenses.
    let components = components(&cyclonedx);
    let required = components
        .iter()
        .filter(|c| c["scope"] == "required")
        .count();
    let excluded = components
        .iter()
        .filter(|c| c["scope"] == "excluded")
        .count();
    assert_eq!((required, excluded), (runtime.len(), 119 - runtime.len()));
    let serde = components
        .iter()
        .find(|c| c["name"] == "serde")
        .cloned()
        .unwrap_or_default();
    assert_eq!(serde["licenses"][0]["expression"], "MIT OR Apache-2.0");
    assert_eq!(serde["hashes"][0]["alg"], "SHA-256");
    // SPDX: build crates are BUILD_DEPENDENCY_OF what needs them.
    let build_of: Vec<String> = spdx["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["relationshipType"] == "BUILD_DEPENDENCY_OF")
        .filter_map(|r| r["spdxElementId"].as_str().map(str::to_string))
        .collect();
    assert!(!build_of.is_empty());
    // NTIA: everything is there but the suppliers of crates that name no authors.
    let report = test_support::ntia_report(&dir.path().join("pod-privileged.spdx.json"));
    test_support::assert_ntia_provided(
        &report,
        &[
            "componentNames",
            "componentVersions",
            "componentIdentifiers",
            "authorNameProvided",
            "timestampProvided",
            "dependencyRelationshipsProvided",
        ],
        "pod-privileged-policy",
    );
    let unsupplied: BTreeSet<String> = report["componentSuppliers"]["nonconformantComponents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect();
    let without_authors: BTreeSet<String> = sbom
        .dependencies
        .iter()
        .filter(|d| d.supplier.is_none())
        .map(|d| d.name.clone())
        .collect();
    assert!(!unsupplied.is_empty());
    assert!(
        unsupplied.is_subset(&without_authors),
        "{unsupplied:?} vs {without_authors:?}"
    );
}

#[test]
fn each_kind_of_rust_dependency_is_marked_with_its_relationship() {
    let dir = test_support::tempdir();
    let (_, sbom) = build_with_cargo(dir.path(), "rust-kinds");
    let scopes: Vec<(&str, Scope)> = sbom
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.scope))
        .collect();
    assert_eq!(
        scopes,
        [
            ("itoa", Scope::Runtime),
            ("libc", Scope::OtherTarget),
            ("memchr", Scope::Build),
            ("ryu", Scope::Dev),
        ]
    );
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "kinds", &sbom);
    let name_of = |id: &str| {
        spdx["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["SPDXID"] == id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let relationships: Vec<(String, String, String)> = spdx["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["relationshipType"] != "DESCRIBES")
        .map(|r| {
            (
                name_of(r["spdxElementId"].as_str().unwrap_or_default()),
                r["relationshipType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                name_of(r["relatedSpdxElement"].as_str().unwrap_or_default()),
            )
        })
        .collect();
    let triple = |a: &str, kind: &str, b: &str| (a.to_string(), kind.to_string(), b.to_string());
    assert_eq!(
        relationships,
        [
            triple("pod-guard", "DEPENDS_ON", "itoa"),
            triple("libc", "OPTIONAL_DEPENDENCY_OF", "pod-guard"),
            triple("memchr", "BUILD_DEPENDENCY_OF", "pod-guard"),
            triple("ryu", "DEV_DEPENDENCY_OF", "pod-guard"),
        ]
    );
    let scopes: Vec<(String, String)> = components(&cyclonedx)
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["scope"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        scopes,
        [
            pair("itoa", "required"),
            pair("libc", "excluded"),
            pair("memchr", "excluded"),
            pair("ryu", "excluded"),
        ]
    );
}

#[test]
fn a_cargo_metadata_failure_names_the_command_and_the_way_out() {
    let dir = test_support::tempdir();
    let source = copy_source("rust-kinds", dir.path(), "source");
    std::fs::write(source.join("Cargo.toml"), "[package\n").unwrap_or_else(|err| panic!("{err}"));
    let module = test_support::compile_fixture("wapc-accept");
    let cargo = cargo();
    let options = with_cargo(&source, &cargo);
    match Sbom::build(&module, &Origin::File("p.wasm".into()), &options) {
        Err(err @ SbomError::Toolchain { .. }) => {
            let message = err.to_string();
            assert!(
                message.starts_with("`cargo metadata` failed for ")
                    && message.contains("source/Cargo.toml")
                    && message.contains("--lockfile-only"),
                "{message}"
            );
        }
        other => panic!("expected a toolchain error, got {other:?}"),
    }
    // Read from the lockfile alone, the same folder is described.
    let sbom = build(&module, &Origin::File("p.wasm".into()), Some(&source));
    assert_eq!(sbom.dependencies.len(), 4);
}

#[test]
fn safe_labels_policy_names_the_replacement_and_keeps_indirect_apart() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let source = test_support::testdata_file("sbom/safe-labels-policy");
    let sbom = build(&module, &Origin::File("policy.wasm".into()), Some(&source));
    let (spdx, cyclonedx) = render_and_validate(dir.path(), "safe-labels", &sbom);
    let purls: Vec<String> = components(&cyclonedx)
        .iter()
        .filter_map(|c| c["purl"].as_str().map(str::to_string))
        .collect();
    assert!(
        purls.contains(&"pkg:golang/github.com/kubewarden/strfmt@v0.1.3".to_string()),
        "{purls:?}"
    );
    assert!(
        !purls.iter().any(|p| p.contains("go-openapi/strfmt")),
        "{purls:?}"
    );
    // go.sum's h1 hash is a property, not a SHA-256 of an archive.
    let strfmt = components(&cyclonedx)
        .into_iter()
        .find(|c| c["name"] == "github.com/kubewarden/strfmt")
        .unwrap_or_default();
    assert!(strfmt["hashes"].is_null());
    assert!(
        strfmt["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "palisade:go:h1"
                && p["value"] == "h1:bb+2rbotioROjCkziSt+hqnHXzOlumN94NxDKdV2kPI="),
        "{strfmt}"
    );
    // Direct requirements are plain DEPENDS_ON; indirect ones say so.
    let relationships = spdx["relationships"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let indirect = relationships
        .iter()
        .filter(|r| {
            r["comment"]
                .as_str()
                .is_some_and(|c| c.starts_with("indirect"))
        })
        .count();
    let direct = relationships
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON" && r["comment"].is_null())
        .count();
    assert_eq!((direct, indirect), (4, 4));
    assert!(
        spdx["creationInfo"]["comment"]
            .as_str()
            .is_some_and(|c| c.contains("module-to-module edges")),
        "{}",
        spdx["creationInfo"]
    );
}

#[test]
fn js_policy_template_marks_dev_dependencies() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let source = test_support::testdata_file("sbom/js-policy-template");
    let sbom = build(&module, &Origin::File("policy.wasm".into()), Some(&source));
    let runtime: Vec<&str> = sbom
        .dependencies
        .iter()
        .filter(|d| d.scope == Scope::Runtime)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(runtime, ["@kubewarden/policy-sdk", "kubernetes-types"]);
    assert!(
        sbom.dependencies
            .iter()
            .all(|d| d.scope == Scope::Runtime || d.scope == Scope::Dev)
    );
    // package-lock.json's licenses and integrity hashes (sha512, as hex).
    assert!(sbom.dependencies.iter().all(|d| d.license.is_some()));
    assert!(
        sbom.dependencies
            .iter()
            .all(|d| d.hashes.iter().any(|h| h.value.len() == 128))
    );
    let (spdx, _) = render_and_validate(dir.path(), "js", &sbom);
    let dev_of = spdx["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["relationshipType"] == "DEV_DEPENDENCY_OF")
        .count();
    assert_eq!(dev_of, 10, "the devDependencies of package.json");
}

#[test]
fn same_inputs_in_two_folders_same_bytes_else_unique_ids() {
    let dir = test_support::tempdir();
    let module = support::annotated(dir.path(), "wapc-accept", "wapc.yml");
    let origin = Origin::File("policy.wasm".into());
    let first = copy_source("safe-labels-policy", dir.path(), "a");
    let second = copy_source("safe-labels-policy", &dir.path().join("b/c"), "renamed");
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| pathdiff(&second, &cwd))
        .unwrap_or_else(|| second.clone());
    for format in [Format::SpdxJson, Format::CycloneDxJson] {
        let render_from = |source: &Path, reproducible: bool| {
            let options = Options {
                reproducible,
                ..lockfile_only(Some(source))
            };
            render(&build_with(&module, &origin, &options), format, created())
                .unwrap_or_else(|err| panic!("{err}"))
        };
        assert_eq!(
            render_from(&first, true),
            render_from(&relative, true),
            "{format}: the folder changes the bytes"
        );
        let id = |bytes: &[u8]| {
            let value: Value = serde_json::from_slice(bytes).unwrap_or_default();
            [&value["documentNamespace"], &value["serialNumber"]]
                .into_iter()
                .find_map(|v| v.as_str().map(str::to_string))
        };
        let unique = id(&render_from(&first, false));
        assert!(unique.is_some());
        assert_ne!(unique, id(&render_from(&first, false)), "{format}");
    }
}

/// `path` relative to `base` (both absolute), when they share a root.
fn pathdiff(path: &Path, base: &Path) -> Option<PathBuf> {
    let common = path
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return None;
    }
    let mut relative = PathBuf::new();
    for _ in base.components().skip(common) {
        relative.push("..");
    }
    for component in path.components().skip(common) {
        relative.push(component);
    }
    Some(relative)
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
