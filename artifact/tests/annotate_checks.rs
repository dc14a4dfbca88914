//! What `annotate` refuses: contradictions between the metadata and the module, and bad modules.

use artifact::ArtifactError;
use artifact::annotate::complete_metadata;
use artifact::metadata::{ExecutionMode, MetadataFile, ProtocolVersion};
use test_support::{compile_fixture, compile_wat, testdata_file};

fn file(name: &str) -> MetadataFile {
    let text = std::fs::read_to_string(testdata_file(&format!("metadata/{name}"))).unwrap();
    MetadataFile::parse(&text).unwrap()
}

#[test]
fn the_execution_mode_comes_from_the_exports_when_unsaid() {
    let metadata =
        complete_metadata(&compile_fixture("wasi-accept"), file("wasi.yml"), None).unwrap();
    assert_eq!(metadata.execution_mode, ExecutionMode::Wasi);
    assert_eq!(metadata.protocol_version, Some(ProtocolVersion::Unknown));
}

#[test]
fn a_contradiction_is_refused() {
    let err = complete_metadata(
        &compile_fixture("wapc-accept"),
        file("gatekeeper.yml"),
        None,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ArtifactError::ExecutionModeMismatch(_)),
        "{text}"
    );
    assert!(
        text.contains("executionMode: gatekeeper") && text.contains("__guest_call"),
        "{text}"
    );
}

#[test]
fn a_rego_module_needs_the_metadata_to_choose_opa_or_gatekeeper() {
    let err = complete_metadata(&compile_fixture("opa-deny"), file("wasi.yml"), None).unwrap_err();
    assert!(err.to_string().contains("`opa` or `gatekeeper`"), "{err}");
    let ok = complete_metadata(&compile_fixture("opa-deny"), file("gatekeeper.yml"), None).unwrap();
    assert_eq!(ok.execution_mode, ExecutionMode::Gatekeeper);
}

#[test]
fn usage_and_tool_version_are_recorded() {
    let metadata = complete_metadata(
        &compile_fixture("wapc-accept"),
        file("wapc.yml"),
        Some("# Use\n".into()),
    )
    .unwrap();
    assert_eq!(
        metadata.annotation("io.kubewarden.policy.usage"),
        Some("# Use\n")
    );
    assert_eq!(
        metadata.annotation("io.palisade.version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_module_that_fails_validation_is_refused() {
    // Well-formed sections, but the function body returns an i64 where i32 is declared.
    let module =
        compile_wat(r#"(module (func (export "__guest_call") (result i32) (i64.const 1)))"#);
    let err = complete_metadata(&module, file("wapc.yml"), None).unwrap_err();
    assert!(matches!(err, ArtifactError::Invalid(_)), "{err}");
}

#[test]
fn a_module_no_host_can_run_is_refused() {
    let module = compile_wat(r#"(module (func (export "main")))"#);
    let err = complete_metadata(&module, file("wapc.yml"), None).unwrap_err();
    assert!(
        err.to_string().contains("no policy host can run it"),
        "{err}"
    );
}
