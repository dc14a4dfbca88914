//! Shared helpers of the integration tests: annotated fixtures and the reference validators.

use std::path::{Path, PathBuf};
use std::process::Command;

use artifact::annotate::{AnnotateRequest, annotate_file};

/// How to install the validators the tests run.
const SPDX_INSTALL: &str = "pip install spdx-tools";
const CYCLONEDX_INSTALL: &str = "pip install 'cyclonedx-python-lib[json-validation]'";
const NTIA_INSTALL: &str = "pip install ntia-conformance-checker";

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

/// Runs `pyspdxtools -i FILE`; panics with its output when the document is invalid, and with the
/// install command when the tool is missing.
pub fn validate_spdx(file: &Path) {
    let output = Command::new("pyspdxtools")
        .arg("-i")
        .arg(file)
        .output()
        .unwrap_or_else(|err| {
            panic!("pyspdxtools (the SPDX reference validator) cannot run ({err}): install it with `{SPDX_INSTALL}`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stdout.contains("invalid") && !stderr.contains("Traceback"),
        "pyspdxtools rejects {}:\n{stdout}\n{stderr}",
        file.display()
    );
}

/// Validates a CycloneDX file against the 1.6 JSON schema; panics with the errors when invalid,
/// and with the install command when the library is missing.
pub fn validate_cyclonedx(file: &Path) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/validate_cyclonedx.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(file)
        .output()
        .unwrap_or_else(|err| {
            panic!("python3 cannot run ({err}): install python3 and `{CYCLONEDX_INSTALL}`")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "the CycloneDX validator is missing: install it with `{CYCLONEDX_INSTALL}` ({stderr})"
        ),
        _ => panic!(
            "the CycloneDX 1.6 schema rejects {}:\n{stderr}",
            file.display()
        ),
    }
}

/// Runs `ntia-checker` (NTIA minimum elements) on an SPDX file and returns its JSON report; panics
/// with the install command when the tool is missing.
pub fn ntia_report(file: &Path) -> serde_json::Value {
    let output = Command::new("ntia-checker")
        .args(["--output", "json", "--quiet"])
        .arg(file)
        .output()
        .unwrap_or_else(|err| {
            panic!("ntia-checker cannot run ({err}): install it with `{NTIA_INSTALL}`")
        });
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "ntia-checker gave no JSON report for {} ({err}):\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
