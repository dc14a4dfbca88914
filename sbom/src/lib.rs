//! Software bills of materials for Wasm admission policies.
//!
//! A policy's SBOM is built from what the module tells about itself (its `io.kubewarden.metadata`
//! and `producers` sections, its digests, where it was pulled from) and, optionally, from the
//! lockfile of its source project. It is written as SPDX 2.3 JSON or CycloneDX 1.6 JSON.
//!
//! - [`model`]: the format-neutral description (the policy, its toolchain, its dependencies);
//! - [`lockfile`]: the dependencies of a source folder, one module per ecosystem;
//! - [`spdx`], [`cyclonedx`]: the two document formats ([`format`](mod@format) names them);
//!   [`conformance`]: the [`element`]s each component has or lacks by the NTIA minimum elements and
//!   CISA's FSCT3;
//! - [`attach`]: pushing an SBOM as an OCI 1.1 referrer of the policy; [`fetch`]: getting it back
//!   (verified: vouched for by an attestation); [`export`]: every policy's SBOM under a prefix, with an index.
//!
//! Output is deterministic when asked to be ([`Options::reproducible`]): the same inputs and creation
//! time give the same bytes, from any folder. Otherwise each document gets unique IDs.

pub mod attach;
pub mod binary;
pub mod conformance;
pub mod cyclonedx;
pub mod element;
pub mod error;
pub mod export;
pub mod fetch;
pub mod format;
pub mod lockfile;
pub mod model;
pub mod spdx;

use chrono::{DateTime, Utc};

pub use error::{Result, SbomError};
pub use format::{Format, TOOL_NAME, TOOL_VERSION};
pub use model::{Options, Origin, Sbom};

/// The creation time of a document: `SOURCE_DATE_EPOCH` (seconds since 1970) when given, the
/// current time otherwise; whole seconds either way.
pub fn creation_time(source_date_epoch: Option<&str>) -> Result<DateTime<Utc>> {
    let seconds = match source_date_epoch.map(str::trim) {
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| SbomError::SourceDateEpoch(text.to_string()))?,
        None => Utc::now().timestamp(),
    };
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| SbomError::SourceDateEpoch(seconds.to_string()))
}

/// Writes `sbom` in `format`, created at `created`: pretty JSON ending with a newline.
pub fn render(sbom: &Sbom, format: Format, created: DateTime<Utc>) -> Result<Vec<u8>> {
    let value = match format {
        Format::SpdxJson => spdx::document(sbom, created)?,
        Format::CycloneDxJson => cyclonedx::document(sbom, created)?,
    };
    let mut bytes = serde_json::to_vec_pretty(&value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_time_from_source_date_epoch() {
        let time = creation_time(Some("1700000000")).ok();
        assert_eq!(
            time.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            Some("2023-11-14T22:13:20Z".to_string())
        );
        assert!(matches!(
            creation_time(Some("yesterday")),
            Err(SbomError::SourceDateEpoch(_))
        ));
        let now = creation_time(None).ok();
        assert_eq!(now.map(|t| t.timestamp_subsec_nanos()), Some(0));
    }
}
