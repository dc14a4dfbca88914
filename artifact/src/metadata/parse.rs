//! Reading and writing metadata documents: YAML (or JSON) files, and the compact JSON of the section.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::model::Metadata;
use crate::error::{ArtifactError, Result};

/// Keys Kubewarden once wrote and no longer reads: ignored without a word.
const LEGACY_KEYS: [&str; 1] = ["contextAware"];

/// A metadata file as a user wrote it, with what it left to defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFile {
    /// The metadata, defaults applied.
    pub metadata: Metadata,
    /// Whether the file sets `executionMode` itself (otherwise the module's exports may decide it).
    pub declares_execution_mode: bool,
    /// Keys the model does not know, as paths (`rules.0.operation`): ignored, as Kubewarden does,
    /// but worth a warning since they are often typos.
    pub ignored_keys: Vec<String>,
}

#[derive(Deserialize)]
struct DeclaredFields {
    #[serde(rename = "executionMode")]
    execution_mode: Option<IgnoredAny>,
}

impl MetadataFile {
    /// Parses a metadata document in YAML (JSON is YAML too).
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Err(ArtifactError::MetadataSyntax(
                "the document is empty; it needs at least `rules` and `mutating`".into(),
            ));
        }
        let mut ignored_keys = Vec::new();
        let metadata: Metadata =
            serde_ignored::deserialize(serde_norway::Deserializer::from_str(text), |path| {
                let path = path.to_string();
                if !LEGACY_KEYS.contains(&path.as_str()) {
                    ignored_keys.push(path);
                }
            })
            .map_err(|err| ArtifactError::MetadataSyntax(err.to_string()))?;
        let declared: DeclaredFields = serde_norway::from_str(text)
            .map_err(|err| ArtifactError::MetadataSyntax(err.to_string()))?;
        Ok(MetadataFile {
            metadata,
            declares_execution_mode: declared.execution_mode.is_some(),
            ignored_keys,
        })
    }
}

impl Metadata {
    /// Parses the JSON held in an `io.kubewarden.metadata` custom section.
    pub fn from_section_data(data: &[u8]) -> Result<Self> {
        serde_json::from_slice(data)
            .map_err(|err| ArtifactError::BadMetadataSection(err.to_string()))
    }

    /// The compact JSON stored in the custom section.
    pub fn to_section_data(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|err| ArtifactError::BadMetadataSection(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{ExecutionMode, Operation, PolicyType, ProtocolVersion};

    const MINIMAL: &str = "rules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: [pods]\n  operations: [CREATE]\nmutating: false\n";

    #[test]
    fn defaults_follow_kubewarden() {
        let file = MetadataFile::parse(MINIMAL).unwrap();
        let m = file.metadata;
        assert!(!file.declares_execution_mode);
        assert_eq!(m.execution_mode, ExecutionMode::KubewardenWapc);
        assert_eq!(m.policy_type, PolicyType::Kubernetes);
        assert!(m.background_audit);
        assert_eq!(m.protocol_version, None);
        assert_eq!(m.rules[0].operations, vec![Operation::Create]);
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let file =
            MetadataFile::parse(&format!("{MINIMAL}contextAware: true\nfutureField: 3\n")).unwrap();
        assert!(file.metadata.context_aware_resources.is_empty());
    }

    #[test]
    fn notices_a_declared_execution_mode() {
        let file = MetadataFile::parse(&format!("{MINIMAL}executionMode: opa\n")).unwrap();
        assert!(file.declares_execution_mode);
        assert_eq!(file.metadata.execution_mode, ExecutionMode::Opa);
    }

    #[test]
    fn errors_name_the_field() {
        let err = MetadataFile::parse(&MINIMAL.replace("CREATE", "PATCH")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("rules[0].operations[0]"), "{text}");
        assert!(text.contains("PATCH"), "{text}");

        let err = MetadataFile::parse(&MINIMAL.replace("mutating: false", "mutating: sometimes"))
            .unwrap_err();
        assert!(err.to_string().contains("mutating"), "{err}");
    }

    #[test]
    fn empty_document_is_refused() {
        let err = MetadataFile::parse("  \n").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn section_round_trip_is_compact_camel_case() {
        let mut m = MetadataFile::parse(MINIMAL).unwrap().metadata;
        m.protocol_version = Some(ProtocolVersion::V1);
        let data = m.to_section_data().unwrap();
        let text = std::str::from_utf8(&data).unwrap();
        assert!(!text.contains(' '), "not compact: {text}");
        assert!(
            text.starts_with(r#"{"protocolVersion":"v1","rules":[{"apiGroups":[""]"#),
            "{text}"
        );
        assert!(text.contains(r#""backgroundAudit":true,"executionMode":"kubewarden-wapc","policyType":"kubernetes","contextAwareResources":[]"#), "{text}");
        assert_eq!(Metadata::from_section_data(&data).unwrap(), m);
    }

    #[test]
    fn section_data_that_is_not_json_is_an_error() {
        let err = Metadata::from_section_data(b"{not json").unwrap_err();
        assert!(matches!(err, ArtifactError::BadMetadataSection(_)));
    }
}
