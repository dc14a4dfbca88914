//! The registry's trust policy: per repository prefix, whether tags must be vouched for by a trusted signer before
//! clients see them (`enforce`) or are only checked and reported (`audit`), and against which Kubewarden verification
//! config (and Sigstore trust root, for keyless signatures).

use std::path::PathBuf;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use signing::config::VerificationConfig;
use signing::trust::TrustRoot;

use crate::errors::{RegistryError, Result};

/// What the registry does with the tags of a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustMode {
    /// A tag is published only once a signature satisfies the policy; until then it waits, invisible.
    Enforce,
    /// Everything is visible; each result is reported.
    Audit,
}

impl TrustMode {
    /// `enforce` or `audit`.
    pub fn name(self) -> &'static str {
        match self {
            TrustMode::Enforce => "enforce",
            TrustMode::Audit => "audit",
        }
    }
}

/// One `trust:` entry of the registry's configuration file.
///
/// ```yaml
/// trust:
///   - prefix: trusted/
///     mode: enforce                      # or audit
///     verification_config: /etc/palisade/verification-config.yml   # Kubewarden's format
///     trust_root: /etc/palisade/trusted_root.json                  # optional, for keyless signatures
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustEntry {
    /// The repositories it covers: those whose name starts with it (the longest matching prefix wins).
    pub prefix: String,
    /// `enforce` or `audit`.
    pub mode: TrustMode,
    /// Kubewarden's verification config (keys, keyless identities, annotations, `allOf`/`anyOf`).
    pub verification_config: PathBuf,
    /// A Sigstore trusted root (or client trust config) for keyless signatures; without it keyless requirements
    /// are never met.
    #[serde(default)]
    pub trust_root: Option<PathBuf>,
}

/// A loaded `trust:` entry.
#[derive(Debug)]
pub struct TrustRule {
    /// The prefix it covers.
    pub prefix: String,
    /// `enforce` or `audit`.
    pub mode: TrustMode,
    /// What a signature must satisfy.
    pub config: VerificationConfig,
    /// For keyless signatures.
    pub trust_root: Option<TrustRoot>,
}

/// Every loaded rule.
#[derive(Debug, Default)]
pub struct TrustPolicy {
    rules: Vec<TrustRule>,
    /// A digest of every entry and the files it names: what the hub's catalog records its verdicts under, so that
    /// they are made again when the policy changes.
    fingerprint: String,
}

impl TrustPolicy {
    /// Reads each entry's files; an unreadable or invalid file is a configuration error naming it.
    pub fn load(entries: &[TrustEntry]) -> Result<TrustPolicy> {
        let mut rules = Vec::new();
        let mut fingerprint = Sha256::new();
        for entry in entries {
            if rules.iter().any(|r: &TrustRule| r.prefix == entry.prefix) {
                return Err(RegistryError::Config(format!(
                    "trust: the prefix {:?} has two entries",
                    entry.prefix
                )));
            }
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|e| {
                    RegistryError::Config(format!(
                        "trust: cannot read {} (prefix {:?}): {e}",
                        path.display(),
                        entry.prefix
                    ))
                })
            };
            let invalid = |path: &PathBuf, e: signing::SigningError| {
                RegistryError::Config(format!(
                    "trust: {} (prefix {:?}): {e}",
                    path.display(),
                    entry.prefix
                ))
            };
            let config_bytes = read(&entry.verification_config)?;
            let root_bytes = entry.trust_root.as_ref().map(read).transpose()?;
            for part in [
                entry.prefix.as_bytes(),
                entry.mode.name().as_bytes(),
                &config_bytes,
                root_bytes.as_deref().unwrap_or_default(),
            ] {
                fingerprint.update((part.len() as u64).to_be_bytes());
                fingerprint.update(part);
            }
            let text = String::from_utf8(config_bytes).map_err(|_| {
                RegistryError::Config(format!(
                    "trust: {} is not UTF-8 text",
                    entry.verification_config.display()
                ))
            })?;
            let config = VerificationConfig::from_yaml(&text)
                .map_err(|e| invalid(&entry.verification_config, e))?;
            let trust_root = match (&entry.trust_root, root_bytes) {
                (Some(path), Some(bytes)) => {
                    Some(TrustRoot::from_file_bytes(&bytes).map_err(|e| invalid(path, e))?)
                }
                _ => None,
            };
            rules.push(TrustRule {
                prefix: entry.prefix.clone(),
                mode: entry.mode,
                config,
                trust_root,
            });
        }
        let fingerprint = if rules.is_empty() {
            String::new()
        } else {
            hex::encode(fingerprint.finalize())
        };
        Ok(TrustPolicy { rules, fingerprint })
    }

    /// A digest of the policy (empty without rules): equal for equal policies, different when any entry or file
    /// changes.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The rule of `repository`: the entry with the longest prefix it starts with.
    pub fn rule_for(&self, repository: &str) -> Option<&TrustRule> {
        self.rules
            .iter()
            .filter(|rule| repository.starts_with(&rule.prefix))
            .max_by_key(|rule| rule.prefix.len())
    }

    /// Whether no prefix has a rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some prefix is in `enforce` mode (so that tags may wait).
    pub fn enforces(&self) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.mode == TrustMode::Enforce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, mode: TrustMode) -> TrustRule {
        TrustRule {
            prefix: prefix.to_string(),
            mode,
            config: VerificationConfig::for_keys(
                &[include_str!("../../../testdata/signing/generated-p256-sec1.pub").to_string()],
                &Default::default(),
            )
            .unwrap(),
            trust_root: None,
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        let policy = TrustPolicy {
            rules: vec![
                rule("trusted/", TrustMode::Audit),
                rule("trusted/core/", TrustMode::Enforce),
            ],
            fingerprint: String::new(),
        };
        assert_eq!(
            policy.rule_for("trusted/core/a").map(|r| r.mode),
            Some(TrustMode::Enforce)
        );
        assert_eq!(
            policy.rule_for("trusted/other").map(|r| r.mode),
            Some(TrustMode::Audit)
        );
        assert!(policy.rule_for("elsewhere/a").is_none());
    }
}
