//! Kubewarden's verification config file, read as Kubewarden reads it (policy-fetcher's `VerificationConfigV1`):
//!
//! ```yaml
//! apiVersion: v1
//! allOf:                      # every requirement must be met
//!   - kind: pubKey
//!     owner: alice            # optional
//!     key: |
//!       -----BEGIN PUBLIC KEY-----
//!       …
//!       -----END PUBLIC KEY-----
//!     annotations:            # optional, must be in the signature
//!       env: prod
//! anyOf:                      # at least minimumMatches requirements must be met
//!   minimumMatches: 1         # default 1
//!   signatures:
//!     - kind: genericIssuer
//!       issuer: https://token.actions.githubusercontent.com
//!       subject:
//!         urlPrefix: https://github.com/kubewarden   # `/` is appended, as Kubewarden does
//!     - kind: githubAction
//!       owner: kubewarden     # mandatory
//!       repo: policy-server   # optional
//! ```
//!
//! Unknown fields and kinds are rejected; `apiVersion` must be `v1`; at least one of `allOf` and `anyOf` is needed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SigningError};
use crate::keys::PublicKey;

/// The only `apiVersion` Kubewarden defines.
pub const API_VERSION: &str = "v1";

/// A verification config (`apiVersion: v1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationConfig {
    /// Requirements that must all be met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_of: Option<Vec<Requirement>>,
    /// Requirements of which at least `minimumMatches` must be met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<AnyOf>,
}

/// `anyOf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnyOf {
    /// How many of `signatures` must be met; 1 when not given.
    #[serde(default = "default_minimum_matches")]
    pub minimum_matches: u8,
    /// The requirements.
    pub signatures: Vec<Requirement>,
}

fn default_minimum_matches() -> u8 {
    1
}

/// One signature requirement (`kind: …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum Requirement {
    /// A signature by a key (`kind: pubKey`).
    PubKey {
        /// Who owns the key (informational).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// The PKIX PEM public key.
        key: String,
        /// Annotations the signature must carry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<BTreeMap<String, String>>,
    },
    /// A keyless signature whose certificate has this issuer and subject (`kind: genericIssuer`).
    GenericIssuer {
        /// The OIDC issuer recorded in the certificate.
        issuer: String,
        /// The certificate subject.
        subject: Subject,
        /// Annotations the signature must carry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<BTreeMap<String, String>>,
    },
    /// A keyless signature made in GitHub Actions of this owner (and repository) (`kind: githubAction`).
    GithubAction {
        /// The GitHub user or organization.
        owner: String,
        /// The repository, if only one is trusted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo: Option<String>,
        /// Annotations the signature must carry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<BTreeMap<String, String>>,
    },
}

/// `genericIssuer.subject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Subject {
    /// The subject must be exactly this.
    Equal(String),
    /// The subject must start with this URL, which ends with `/` (added when missing, so that
    /// `https://github.com/kubewarden` does not match `https://github.com/kubewarden-malicious`).
    UrlPrefix(String),
}

impl Requirement {
    /// The annotations the signature must carry.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        match self {
            Requirement::PubKey { annotations, .. }
            | Requirement::GenericIssuer { annotations, .. }
            | Requirement::GithubAction { annotations, .. } => {
                annotations.clone().unwrap_or_default()
            }
        }
    }

    /// A one-line description for reports: the kind and what it names.
    pub fn describe(&self) -> String {
        let annotations = self.annotations();
        let suffix = if annotations.is_empty() {
            String::new()
        } else {
            format!(
                " with annotations {}",
                annotations
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let head = match self {
            Requirement::PubKey { owner, key, .. } => {
                let id = PublicKey::from_pem(key.as_bytes())
                    .map(|k| format!("sha256:{}", &k.fingerprint()[..16]))
                    .unwrap_or_else(|_| "invalid key".into());
                match owner {
                    Some(owner) => format!("pubKey {id} (owner {owner})"),
                    None => format!("pubKey {id}"),
                }
            }
            Requirement::GenericIssuer {
                issuer, subject, ..
            } => match subject {
                Subject::Equal(s) => format!("genericIssuer {issuer} subject = {s}"),
                Subject::UrlPrefix(s) => format!("genericIssuer {issuer} subject starts with {s}"),
            },
            Requirement::GithubAction { owner, repo, .. } => match repo {
                Some(repo) => format!("githubAction {owner}/{repo}"),
                None => format!("githubAction {owner}"),
            },
        };
        head + &suffix
    }
}

impl VerificationConfig {
    /// Parses the YAML (or JSON) text of a verification config file.
    pub fn from_yaml(text: &str) -> Result<VerificationConfig> {
        let mut value: serde_norway::Value = serde_norway::from_str(text)
            .map_err(|e| SigningError::Config(format!("not YAML: {e}")))?;
        let mapping = value.as_mapping_mut().ok_or_else(|| {
            SigningError::Config("expected a mapping with apiVersion, allOf and anyOf".into())
        })?;
        match mapping.remove("apiVersion") {
            None => {
                return Err(SigningError::Config(format!(
                    "missing `apiVersion: {API_VERSION}`"
                )));
            }
            Some(serde_norway::Value::String(v)) if v == API_VERSION => {}
            Some(other) => {
                return Err(SigningError::Config(format!(
                    "apiVersion {} is not supported: expected {API_VERSION}",
                    serde_norway::to_string(&other).unwrap_or_default().trim()
                )));
            }
        }
        let mut config: VerificationConfig =
            serde_norway::from_value(value).map_err(|e| SigningError::Config(e.to_string()))?;
        config.normalize()?;
        Ok(config)
    }

    /// The config as YAML, with `apiVersion: v1`.
    pub fn to_yaml(&self) -> String {
        // Through JSON, so that `subject` is written as a mapping (`urlPrefix: …`) and not as a YAML tag.
        let json = serde_json::to_value(self).unwrap_or_default();
        let body = serde_norway::to_string(&json).unwrap_or_default();
        format!("apiVersion: {API_VERSION}\n{body}")
    }

    /// A config requiring a signature by each of `public_keys` (PEM) carrying `annotations`: what
    /// `verify --key K [-a k=v]…` means.
    pub fn for_keys(
        public_keys: &[String],
        annotations: &BTreeMap<String, String>,
    ) -> Result<VerificationConfig> {
        let mut config = VerificationConfig {
            all_of: Some(
                public_keys
                    .iter()
                    .map(|key| Requirement::PubKey {
                        owner: None,
                        key: key.clone(),
                        annotations: (!annotations.is_empty()).then(|| annotations.clone()),
                    })
                    .collect(),
            ),
            any_of: None,
        };
        config.normalize()?;
        Ok(config)
    }

    /// A config met by a signature of any one of `public_keys` (PEM): whom a policy server trusts to sign its
    /// precompiled modules.
    pub fn for_any_key(public_keys: &[String]) -> Result<VerificationConfig> {
        let signatures = public_keys
            .iter()
            .map(|key| Requirement::PubKey {
                owner: None,
                key: key.clone(),
                annotations: None,
            })
            .collect();
        let mut config = VerificationConfig {
            all_of: None,
            any_of: Some(AnyOf {
                minimum_matches: 1,
                signatures,
            }),
        };
        config.normalize()?;
        Ok(config)
    }

    /// A config requiring every one of `requirements`: what `verify` flags (`--key`,
    /// `--certificate-identity`, `--github-owner`…) amount to.
    pub fn all_of(requirements: Vec<Requirement>) -> Result<VerificationConfig> {
        let mut config = VerificationConfig {
            all_of: Some(requirements),
            any_of: None,
        };
        config.normalize()?;
        Ok(config)
    }

    /// Every requirement, `allOf` ones first.
    pub fn requirements(&self) -> impl Iterator<Item = &Requirement> {
        self.all_of
            .iter()
            .flatten()
            .chain(self.any_of.iter().flat_map(|a| a.signatures.iter()))
    }

    fn normalize(&mut self) -> Result<()> {
        if self.all_of.as_ref().is_none_or(Vec::is_empty)
            && self.any_of.as_ref().is_none_or(|a| a.signatures.is_empty())
        {
            return Err(SigningError::Config(
                "no signature requirements: give allOf or anyOf (or both)".into(),
            ));
        }
        let groups = self
            .all_of
            .iter_mut()
            .flatten()
            .map(|r| ("allOf", r))
            .chain(
                self.any_of
                    .iter_mut()
                    .flat_map(|a| a.signatures.iter_mut())
                    .map(|r| ("anyOf", r)),
            );
        for (index, (group, requirement)) in groups.enumerate() {
            match requirement {
                Requirement::PubKey { key, .. } => {
                    PublicKey::from_pem(key.as_bytes()).map_err(|e| {
                        SigningError::Config(format!("{group} requirement {}: {e}", index + 1))
                    })?;
                }
                Requirement::GenericIssuer {
                    subject: Subject::UrlPrefix(prefix),
                    ..
                } => {
                    let Some((scheme, rest)) = prefix.split_once("://") else {
                        return Err(SigningError::Config(format!(
                            "{group} requirement {}: subject.urlPrefix {prefix:?} is not a URL",
                            index + 1
                        )));
                    };
                    if scheme.is_empty() || rest.is_empty() {
                        return Err(SigningError::Config(format!(
                            "{group} requirement {}: subject.urlPrefix {prefix:?} is not a URL",
                            index + 1
                        )));
                    }
                    if !prefix.ends_with('/') {
                        prefix.push('/');
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;

    fn key_pem() -> String {
        PrivateKey::generate().unwrap().public_key().to_pem()
    }

    fn indent(text: &str, spaces: usize) -> String {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(spaces)))
            .collect()
    }

    #[test]
    fn reads_kubewardens_documented_example() {
        let key = key_pem();
        let text = format!(
            r#"---
apiVersion: v1

allOf:
  - kind: githubAction
    owner: kubewarden   # mandatory
    repo: policy-server # optional
    annotations:  # optional
      env: prod

anyOf: # at least `anyOf.minimumMatches` are required to match
  minimumMatches: 2 # default is 1
  signatures:
  - kind: pubKey
    owner: alice # optional
    key: | # mandatory
{}    annotations:  # optional
      env: prod
  - kind: genericIssuer
    issuer: https://github.com/login/oauth
    subject:
      equal: alice@example.com
  - kind: genericIssuer
    issuer: https://token.actions.githubusercontent.com
    subject:
      urlPrefix: https://github.com/bob # <- it will be post-fixed with `/` for security reasons
"#,
            indent(&key, 9)
        );
        let config = VerificationConfig::from_yaml(&text).unwrap();
        let all_of = config.all_of.as_ref().unwrap();
        assert_eq!(
            all_of[0],
            Requirement::GithubAction {
                owner: "kubewarden".into(),
                repo: Some("policy-server".into()),
                annotations: Some(BTreeMap::from([("env".into(), "prod".into())])),
            }
        );
        let any_of = config.any_of.as_ref().unwrap();
        assert_eq!(any_of.minimum_matches, 2);
        assert_eq!(any_of.signatures.len(), 3);
        assert_eq!(
            any_of.signatures[2],
            Requirement::GenericIssuer {
                issuer: "https://token.actions.githubusercontent.com".into(),
                subject: Subject::UrlPrefix("https://github.com/bob/".into()),
                annotations: None,
            }
        );
        assert_eq!(config.requirements().count(), 4);
        // Round trip through our own YAML.
        assert_eq!(
            VerificationConfig::from_yaml(&config.to_yaml()).unwrap(),
            config
        );
    }

    #[test]
    fn minimum_matches_defaults_to_one() {
        let text = "apiVersion: v1\nanyOf:\n  signatures:\n    - kind: githubAction\n      owner: kubewarden\n";
        let config = VerificationConfig::from_yaml(text).unwrap();
        assert_eq!(config.any_of.unwrap().minimum_matches, 1);
    }

    #[test]
    fn rejects_what_kubewarden_rejects() {
        for (text, expected) in [
            ("allOf: []", "missing `apiVersion: v1`"),
            (
                "apiVersion: v2\nallOf: []",
                "apiVersion v2 is not supported",
            ),
            ("apiVersion: v1\n", "no signature requirements"),
            (
                "apiVersion: v1\nallOf: []\nnoneOf: []",
                "unknown field `noneOf`",
            ),
            (
                "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: https://x\n",
                "missing field `subject`",
            ),
            (
                "apiVersion: v1\nallOf:\n  - kind: url\n    url: https://x\n",
                "unknown variant `url`",
            ),
            (
                "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: k\n    extra: 1\n",
                "unknown field `extra`",
            ),
            (
                "apiVersion: v1\nallOf:\n  - kind: pubKey\n    key: nonsense\n",
                "allOf requirement 1: malformed key",
            ),
            (
                "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: i\n    subject:\n      urlPrefix: github.com\n",
                "is not a URL",
            ),
            ("[1, 2]", "expected a mapping"),
            ("a: [", "not YAML"),
        ] {
            let err = VerificationConfig::from_yaml(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn keys_and_annotations_make_an_all_of_config() {
        let key = key_pem();
        let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let config =
            VerificationConfig::for_keys(std::slice::from_ref(&key), &annotations).unwrap();
        let requirement = &config.all_of.as_ref().unwrap()[0];
        assert_eq!(requirement.annotations(), annotations);
        assert!(
            requirement.describe().starts_with("pubKey sha256:"),
            "{}",
            requirement.describe()
        );
        assert!(
            requirement
                .describe()
                .ends_with("with annotations env=prod")
        );
        assert!(VerificationConfig::for_keys(&[], &annotations).is_err());
    }
}
