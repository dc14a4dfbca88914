//! Shared helpers of the integration tests: annotated fixtures (the reference validators are
//! `test_support`'s).

use std::path::Path;

use artifact::annotate::{AnnotateRequest, annotate_file};

/// The fixture `name` annotated with `testdata/metadata/METADATA`, written into `dir`.
pub fn annotated(dir: &Path, name: &str, metadata: &str) -> Vec<u8> {
    annotated_with(
        dir,
        name,
        &test_support::testdata_file(&format!("metadata/{metadata}")),
    )
}

/// The fixture `name` annotated with the metadata file at `metadata`, written into `dir`.
pub fn annotated_with(dir: &Path, name: &str, metadata: &Path) -> Vec<u8> {
    let module = test_support::write_fixture(dir, name);
    let output = dir.join(format!("{name}-annotated.wasm"));
    let request = AnnotateRequest {
        module,
        metadata: metadata.to_path_buf(),
        usage: None,
        output: output.clone(),
    };
    annotate_file(&request).unwrap_or_else(|err| panic!("annotating {name}: {err}"));
    std::fs::read(&output).unwrap_or_else(|err| panic!("reading {}: {err}", output.display()))
}
