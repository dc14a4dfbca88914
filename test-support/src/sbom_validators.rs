//! The reference validators of SBOM documents, run by the sbom and CLI tests: the SPDX 2.3 validator,
//! the CycloneDX 1.6 JSON schema and the NTIA conformance checker (Python tools, from pip).

use std::path::{Path, PathBuf};
use std::process::Command;

/// How to install the validators.
const SPDX_INSTALL: &str = "pip install spdx-tools";
const CYCLONEDX_INSTALL: &str = "pip install 'cyclonedx-python-lib[json-validation]'";
const NTIA_INSTALL: &str = "pip install ntia-conformance-checker";

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

/// Validates a CycloneDX file against the 1.6 JSON schema (`validate_cyclonedx.py` beside this
/// crate's manifest); panics with the errors when invalid, and with the install command when the
/// library is missing.
pub fn validate_cyclonedx(file: &Path) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("validate_cyclonedx.py");
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

/// Asserts that the NTIA checker's `report` finds each of `elements` provided: a component element
/// (`componentNames`, `componentVersions`, `componentIdentifiers`…) for every component, a document
/// one (`authorNameProvided`, `timestampProvided`, `dependencyRelationshipsProvided`) as such.
/// `what` names the document in the message.
pub fn assert_ntia_provided(report: &serde_json::Value, elements: &[&str], what: &str) {
    for element in elements {
        let provided = if element.starts_with("component") {
            &report[element]["allProvided"]
        } else {
            &report[element]
        };
        assert_eq!(*provided, true, "{what}: {element}: {report}");
    }
}
