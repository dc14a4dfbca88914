//! What the hub shows of a digest's trust: the result against its prefix's rule and who vouched for it.

use serde::{Deserialize, Serialize};
use signing::verify::Report;

use super::rules::TrustRule;

/// A digest checked against the rule of its repository's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The prefix whose rule it was checked against.
    pub prefix: String,
    /// `enforce` or `audit`.
    pub mode: String,
    /// Whether its signatures satisfy the rule.
    pub verified: bool,
    /// The requirements its signatures met, each naming the signer: `pubKey sha256:…` (a key's fingerprint) or
    /// `genericIssuer ISSUER subject = IDENTITY`.
    pub signers: Vec<String>,
    /// When the signatures that met the rule were made, as a transparency log or timestamp authority vouches for it
    /// (RFC 3339); empty for key signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_at: Vec<String>,
    /// Why the signatures fall short, when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Verdict {
    /// The verdict of `report`, made under `rule`.
    pub fn of(rule: &TrustRule, report: Report) -> Verdict {
        Verdict {
            prefix: rule.prefix.clone(),
            mode: rule.mode.name().to_string(),
            verified: report.verified,
            signers: report
                .requirements
                .iter()
                .filter(|r| r.is_met())
                .map(|r| r.requirement.clone())
                .collect(),
            signed_at: report
                .requirements
                .iter()
                .filter(|r| r.is_met())
                .flat_map(|r| r.signed_at.iter().cloned())
                .collect(),
            failure: report.failure,
        }
    }
}
