//! `oci/v1/verify` and `oci/v2/verify`: whether an image's signatures meet the requirements a
//! policy sends, checked by the `signing` crate (both cosign layouts: `.sig` tag and bundle
//! referrers).
//!
//! The requests are Kubewarden's `SigstoreVerificationInputV1` (externally tagged:
//! `{"SigstorePubKeyVerify": {…}}`) and `SigstoreVerificationInputV2` (tagged by `type`:
//! `{"type": "SigstorePubKeyVerify", …}`). Public keys must all have signed (`allOf`); of a list
//! of keyless identities one is enough (`anyOf`), as Kubewarden does. The answer is
//! `{"is_trusted": true, "digest": "sha256:…"}`; a failed verification is a host error saying
//! which requirement failed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use signing::config::VerificationConfig;

use super::oci::Registry;
use super::oci::image_reference;
use super::payload;

/// The capability taking `SigstoreVerificationInputV1`.
pub const V1_VERIFY: &str = "oci/v1/verify";
/// The capability taking `SigstoreVerificationInputV2`.
pub const V2_VERIFY: &str = "oci/v2/verify";

type Annotations = Option<BTreeMap<String, String>>;

/// A keyless identity: the OIDC issuer and the exact subject.
#[derive(Debug, Deserialize)]
struct KeylessInfo {
    issuer: String,
    subject: String,
}

/// A keyless identity whose subject starts with a URL.
#[derive(Debug, Deserialize)]
struct KeylessPrefixInfo {
    issuer: String,
    url_prefix: String,
}

/// `SigstorePubKeyVerify`'s fields, the same in both input versions.
#[derive(Debug, Deserialize)]
struct PubKeyInput {
    image: String,
    pub_keys: Vec<String>,
    annotations: Annotations,
}

/// `SigstoreKeylessVerify`'s fields, the same in both input versions.
#[derive(Debug, Deserialize)]
struct KeylessInput {
    image: String,
    keyless: Vec<KeylessInfo>,
    annotations: Annotations,
}

/// `SigstoreVerificationInputV1`.
#[derive(Debug, Deserialize)]
enum InputV1 {
    #[serde(rename = "SigstorePubKeyVerify")]
    PubKey(PubKeyInput),
    #[serde(rename = "SigstoreKeylessVerify")]
    Keyless(KeylessInput),
}

/// `SigstoreVerificationInputV2`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum InputV2 {
    #[serde(rename = "SigstorePubKeyVerify")]
    PubKey(PubKeyInput),
    #[serde(rename = "SigstoreKeylessVerify")]
    Keyless(KeylessInput),
    #[serde(rename = "SigstoreKeylessPrefixVerify")]
    KeylessPrefix {
        image: String,
        keyless_prefix: Vec<KeylessPrefixInfo>,
        annotations: Annotations,
    },
    #[serde(rename = "SigstoreGithubActionsVerify")]
    GithubActions {
        image: String,
        owner: String,
        repo: Option<String>,
        annotations: Annotations,
    },
}

/// What to check: the image and a verification config in Kubewarden's format.
struct Check {
    image: String,
    config: Value,
}

fn with_annotations(mut requirement: Value, annotations: &Annotations) -> Value {
    if let Some(annotations) = annotations {
        requirement["annotations"] = json!(annotations);
    }
    requirement
}

impl From<PubKeyInput> for Check {
    fn from(input: PubKeyInput) -> Check {
        let all_of: Vec<Value> = input
            .pub_keys
            .into_iter()
            .map(|key| with_annotations(json!({"kind": "pubKey", "key": key}), &input.annotations))
            .collect();
        Check {
            image: input.image,
            config: json!({"apiVersion": "v1", "allOf": all_of}),
        }
    }
}

fn any_of(image: String, signatures: Vec<Value>) -> Check {
    Check {
        image,
        config: json!({"apiVersion": "v1", "anyOf": {"minimumMatches": 1, "signatures": signatures}}),
    }
}

impl From<KeylessInput> for Check {
    fn from(input: KeylessInput) -> Check {
        let signatures = input
            .keyless
            .into_iter()
            .map(|id| {
                with_annotations(
                    json!({"kind": "genericIssuer", "issuer": id.issuer, "subject": {"equal": id.subject}}),
                    &input.annotations,
                )
            })
            .collect();
        any_of(input.image, signatures)
    }
}

impl From<InputV1> for Check {
    fn from(input: InputV1) -> Check {
        match input {
            InputV1::PubKey(input) => input.into(),
            InputV1::Keyless(input) => input.into(),
        }
    }
}

impl From<InputV2> for Check {
    fn from(input: InputV2) -> Check {
        match input {
            InputV2::PubKey(input) => input.into(),
            InputV2::Keyless(input) => input.into(),
            InputV2::KeylessPrefix {
                image,
                keyless_prefix,
                annotations,
            } => {
                let signatures = keyless_prefix
                    .into_iter()
                    .map(|id| {
                        with_annotations(
                            json!({"kind": "genericIssuer", "issuer": id.issuer, "subject": {"urlPrefix": id.url_prefix}}),
                            &annotations,
                        )
                    })
                    .collect();
                any_of(image, signatures)
            }
            InputV2::GithubActions {
                image,
                owner,
                repo,
                annotations,
            } => {
                let mut requirement = json!({"kind": "githubAction", "owner": owner});
                if let Some(repo) = repo {
                    requirement["repo"] = json!(repo);
                }
                Check {
                    image,
                    config: json!({"apiVersion": "v1", "allOf": [with_annotations(requirement, &annotations)]}),
                }
            }
        }
    }
}

/// `oci/v1/verify`.
pub fn v1(registry: &Registry, payload: &[u8]) -> Result<Vec<u8>, String> {
    let input: InputV1 = payload::parse(
        payload,
        "SigstorePubKeyVerify or SigstoreKeylessVerify (SigstoreVerificationInputV1)",
    )?;
    check(registry, input.into())
}

/// `oci/v2/verify`.
pub fn v2(registry: &Registry, payload: &[u8]) -> Result<Vec<u8>, String> {
    let input: InputV2 = payload::parse(
        payload,
        "a SigstoreVerificationInputV2 whose `type` is SigstorePubKeyVerify, SigstoreKeylessVerify, \
         SigstoreKeylessPrefixVerify or SigstoreGithubActionsVerify",
    )?;
    check(registry, input.into())
}

fn check(registry: &Registry, check: Check) -> Result<Vec<u8>, String> {
    let reference = image_reference(&check.image)?;
    let config = VerificationConfig::from_yaml(&check.config.to_string())
        .map_err(|err| format!("the verification request: {err}"))?;
    let (remote, trust_root) = (registry.remote.clone(), registry.trust_root.clone());
    let checked = super::blocking::run(async move {
        signing::registry::check(&remote, &reference, &config, trust_root.as_ref()).await
    })?
    .map_err(|err| format!("verifying {}: {err}", check.image))?;
    let report = checked.report;
    if !report.verified {
        return Err(format!(
            "verification of {} failed: {}",
            check.image,
            report
                .failure
                .as_deref()
                .unwrap_or("the requirements are not met")
        ));
    }
    payload::answer(&json!({
        "is_trusted": true,
        "digest": report.manifest_digest.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_of(check: &Check) -> Result<VerificationConfig, String> {
        VerificationConfig::from_yaml(&check.config.to_string()).map_err(|err| err.to_string())
    }

    #[test]
    fn v1_and_v2_requests_become_verification_configs() -> Result<(), String> {
        let v1: InputV1 = serde_json::from_str(
            r#"{"SigstoreKeylessVerify":{"image":"ghcr.io/a/b:1","keyless":[{"issuer":"https://issuer","subject":"me@example.com"}],"annotations":{"env":"prod"}}}"#,
        )
        .map_err(|err| err.to_string())?;
        let config = config_of(&v1.into())?;
        let any_of = config.any_of.ok_or("keyless identities are anyOf")?;
        assert_eq!(any_of.minimum_matches, 1);
        assert_eq!(any_of.signatures.len(), 1);
        assert_eq!(
            any_of.signatures[0]
                .annotations()
                .get("env")
                .map(String::as_str),
            Some("prod")
        );

        let v2: InputV2 = serde_json::from_str(
            r#"{"type":"SigstoreGithubActionsVerify","image":"ghcr.io/a/b:1","owner":"kubewarden","repo":null,"annotations":null}"#,
        )
        .map_err(|err| err.to_string())?;
        let config = config_of(&v2.into())?;
        assert_eq!(config.all_of.map(|all| all.len()), Some(1));

        let prefix: InputV2 = serde_json::from_str(
            r#"{"type":"SigstoreKeylessPrefixVerify","image":"i.io/a","keyless_prefix":[{"issuer":"https://i","url_prefix":"https://github.com/org"}],"annotations":null}"#,
        )
        .map_err(|err| err.to_string())?;
        assert!(config_of(&prefix.into())?.any_of.is_some());
        Ok(())
    }

    #[test]
    fn bad_requests_are_host_errors() {
        let registry = Registry::default();
        assert!(
            v1(&registry, br#"{"type":"SigstorePubKeyVerify"}"#)
                .is_err_and(|err| err.contains("SigstoreVerificationInputV1"))
        );
        assert!(
            v2(
                &registry,
                br#"{"type":"SigstoreTeleport","image":"a.io/b"}"#
            )
            .is_err_and(|err| err.contains("malformed request"))
        );
        // No keys: nothing to verify against, refused before reaching the registry.
        assert!(
            v2(
                &registry,
                br#"{"type":"SigstorePubKeyVerify","image":"a.io/b","pub_keys":[],"annotations":null}"#
            )
            .is_err_and(|err| err.contains("no signature requirements"))
        );
    }
}
