//! Annotate and strip on every fixture and on the third-party policies: byte-exact round trips.

use artifact::metadata::{Metadata, MetadataFile};
use artifact::wasm::{self, METADATA_SECTION, SectionMap};
use artifact::{annotate, inspect};
use test_support::{
    FIXTURE_POLICIES, compile_fixture, shared_policies, shared_policy, testdata_file,
};

fn metadata_file(name: &str) -> MetadataFile {
    let text = std::fs::read_to_string(testdata_file(&format!("metadata/{name}"))).unwrap();
    MetadataFile::parse(&text).unwrap()
}

/// Metadata that suits the module, as a user would write it.
fn metadata_for(module: &[u8]) -> MetadataFile {
    match wasm::detect_abi(module).unwrap() {
        Some(wasm::DetectedAbi::Rego) => metadata_file("gatekeeper.yml"),
        Some(wasm::DetectedAbi::Wasi) => metadata_file("wasi.yml"),
        _ => metadata_file("wapc.yml"),
    }
}

fn annotate(module: &[u8], file: MetadataFile) -> Vec<u8> {
    let metadata = annotate::complete_metadata(module, file, None).unwrap();
    let map = SectionMap::scan(module).unwrap();
    wasm::write_metadata(&map, &metadata).unwrap().to_vec()
}

fn strip(module: &[u8]) -> Vec<u8> {
    wasm::strip_metadata(&SectionMap::scan(module).unwrap()).to_vec()
}

fn read_metadata(module: &[u8]) -> Option<Metadata> {
    wasm::read_metadata(&SectionMap::scan(module).unwrap()).unwrap()
}

/// The fixtures and the third-party policies (for `test`, which skips them when absent).
fn all_modules(test: &str) -> Vec<(String, Vec<u8>)> {
    let fixtures = FIXTURE_POLICIES
        .iter()
        .map(|name| (name.to_string(), compile_fixture(name)));
    let shared = shared_policies(&format!("{test} on the third-party policies"))
        .unwrap_or_default()
        .into_iter()
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()));
    fixtures.chain(shared).collect()
}

#[test]
fn strip_undoes_annotate_byte_for_byte() {
    for (name, module) in all_modules("strip_undoes_annotate_byte_for_byte") {
        let annotated = annotate(&module, metadata_for(&module));
        assert_eq!(strip(&annotated), strip(&module), "{name}");
        if read_metadata(&module).is_none() {
            assert_eq!(
                strip(&annotated),
                module,
                "{name}: an unannotated module comes back as it was"
            );
        }
        wasm::validate_module(&annotated).unwrap_or_else(|err| panic!("{name}: {err}"));
    }
}

#[test]
fn annotating_twice_keeps_one_section_with_the_second_metadata() {
    for (name, module) in all_modules("annotating_twice_keeps_one_section_with_the_second_metadata")
    {
        let mut first = metadata_for(&module);
        first
            .metadata
            .annotations
            .insert("round".into(), "first".into());
        let mut second = metadata_for(&module);
        second
            .metadata
            .annotations
            .insert("round".into(), "second".into());
        let twice = annotate(&annotate(&module, first), second);
        let map = SectionMap::scan(&twice).unwrap();
        assert_eq!(map.custom_sections(METADATA_SECTION).count(), 1, "{name}");
        let metadata = read_metadata(&twice).unwrap();
        assert_eq!(metadata.annotation("round"), Some("second"), "{name}");
    }
}

#[test]
fn every_other_section_is_kept_in_order() {
    for (name, module) in all_modules("every_other_section_is_kept_in_order") {
        let annotated = annotate(&module, metadata_for(&module));
        let names = |bytes: &[u8]| -> Vec<(u8, Option<String>)> {
            SectionMap::scan(bytes)
                .unwrap()
                .sections()
                .iter()
                .filter(|s| s.custom_name() != Some(METADATA_SECTION))
                .map(|s| (s.id, s.custom_name().map(str::to_string)))
                .collect()
        };
        assert_eq!(names(&annotated), names(&module), "{name}");
    }
}

#[test]
fn reads_metadata_written_by_kwctl() {
    let test = "reads_metadata_written_by_kwctl";
    let Some(path) = shared_policy(test, "gatekeeper_always_unhappy_policy.wasm") else {
        return;
    };
    let report = inspect::inspect_file(&path).unwrap();
    let metadata = report.metadata.expect("kwctl's metadata");
    assert_eq!(metadata.execution_mode.to_string(), "gatekeeper");
    assert_eq!(
        metadata.protocol_version.map(|v| v.to_string()).as_deref(),
        Some("Unknown")
    );
    assert_eq!(
        metadata.rules[0].resources,
        ["rolebindings", "clusterrolebindings"]
    );
    assert_eq!(metadata.annotation("io.kubewarden.kwctl"), Some("1.16.1"));
    assert_eq!(
        metadata.annotation("io.kubewarden.policy.license"),
        Some("Apache-2.0")
    );
    assert!(metadata.background_audit && !metadata.mutating);
    assert_eq!(
        metadata.context_aware_resources.iter().next().unwrap().kind,
        "Namespace"
    );
    assert_eq!(report.producers["processed-by"][1].name, "walrus");
    assert_eq!(report.names.unwrap().functions, 174);
    assert!(metadata.validate().is_ok());
}

#[test]
fn our_section_has_the_shape_kubewarden_reads() {
    let module = compile_fixture("wapc-accept");
    let annotated = annotate(&module, metadata_file("wapc.yml"));
    let map = SectionMap::scan(&annotated).unwrap();
    let data = map.custom_sections(METADATA_SECTION).next().unwrap().data();
    let json: serde_json::Value = serde_json::from_slice(data).unwrap();
    assert_eq!(json["protocolVersion"], "v1");
    assert_eq!(json["rules"][0]["apiGroups"], serde_json::json!([""]));
    assert_eq!(
        json["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE"])
    );
    assert_eq!(json["mutating"], false);
    assert_eq!(json["backgroundAudit"], true);
    assert_eq!(json["executionMode"], "kubewarden-wapc");
    assert_eq!(json["policyType"], "kubernetes");
    assert_eq!(
        json["contextAwareResources"],
        serde_json::json!([{"apiVersion": "v1", "kind": "Namespace"}])
    );
    assert_eq!(
        json["annotations"]["io.kubewarden.policy.title"],
        "pod-guard"
    );
    assert_eq!(
        json["annotations"]["io.palisade.version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn third_party_producers_are_read() {
    let Some(policies) = shared_policies("third_party_producers_are_read") else {
        return;
    };
    for path in policies {
        let report = inspect::inspect_file(&path).unwrap();
        if path.ends_with("wapc_wapc_guest_test.wasm") {
            assert_eq!(report.producers["language"][0].name, "Rust");
            assert_eq!(report.producers["processed-by"][0].name, "rustc");
        }
        if path.ends_with("wapc_hello_zig.wasm") {
            assert_eq!(report.producers["language"][0].name, "C99");
        }
    }
}
