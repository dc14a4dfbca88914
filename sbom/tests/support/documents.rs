//! Rendering an SBOM in both formats and checking each with its reference validator, for the test
//! files that read the documents back (included with `#[path]` by those that use it).

use std::path::Path;

use sbom::{Format, Sbom, creation_time, render};
use serde_json::Value;

/// Renders `sbom` in both formats into `dir` (`STEM.spdx.json`, `STEM.cdx.json`, created at
/// `SOURCE_DATE_EPOCH=1700000000`), validates both (SPDX also by the NTIA checker), and returns the parsed SPDX and CycloneDX
/// documents.
pub fn render_and_validate(dir: &Path, stem: &str, sbom: &Sbom) -> (Value, Value) {
    let created = creation_time(Some("1700000000")).unwrap_or_else(|err| panic!("{err}"));
    let mut parsed = Vec::new();
    for (format, extension) in [
        (Format::SpdxJson, "spdx.json"),
        (Format::CycloneDxJson, "cdx.json"),
    ] {
        let bytes = render(sbom, format, created).unwrap_or_else(|err| panic!("{err}"));
        let file = dir.join(format!("{stem}.{extension}"));
        std::fs::write(&file, &bytes).unwrap_or_else(|err| panic!("{err}"));
        match format {
            Format::SpdxJson => {
                test_support::validate_spdx(&file);
                // The NTIA checker reads it; what only the inputs can give (suppliers, versions of
                // toolchain entries) is asserted where the inputs have it.
                test_support::assert_ntia_provided(
                    &test_support::ntia_report(&file),
                    &[
                        "authorNameProvided",
                        "timestampProvided",
                        "dependencyRelationshipsProvided",
                        "componentNames",
                        "componentIdentifiers",
                    ],
                    stem,
                );
            }
            Format::CycloneDxJson => test_support::validate_cyclonedx(&file),
        }
        parsed.push(serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|err| panic!("{err}")));
    }
    let cyclonedx = parsed.pop().unwrap_or_default();
    let spdx = parsed.pop().unwrap_or_default();
    (spdx, cyclonedx)
}
