//! Verification of a file against its Sigstore bundle (what `cosign sign-blob --bundle`, `cosign attest-blob`,
//! GitHub's artifact attestations and `palisade sign FILE` make): the bundle is checked by the trust root's
//! [`SigstoreVerifier`](crate::sigstore_verifier::SigstoreVerifier), and the Kubewarden verification config
//! decides who must have signed it and which signed annotations it must carry.

use artifact::oci::Digest;
use serde::Serialize;

use crate::bundle::Bundle;
use crate::config::{Requirement, VerificationConfig};
use crate::error::{Result, SigningError};
use crate::identity::Identity;
use crate::keys::PublicKey;
use crate::sigstore_verifier::{Checked, Signed, Signer};
use crate::trust::TrustRoot;
use crate::verify::{Group, Outcome, annotations_met, config_failures, grouped};

/// The outcome of one requirement for the file's bundle.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRequirement {
    /// `allOf` or `anyOf`.
    pub group: Group,
    /// The requirement, described.
    pub requirement: String,
    /// What was checked, when the bundle met the requirement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<Checked>,
    /// Why the bundle did not meet it (the check that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// The full outcome of verifying a file, passed or not (for `--output json` and messages).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// The file, as named.
    pub file: String,
    /// The file's sha256 digest.
    pub digest: Digest,
    /// The bundle, as named.
    pub bundle: String,
    /// One entry per requirement, `allOf` first.
    pub requirements: Vec<FileRequirement>,
    /// Whether the config is met.
    pub verified: bool,
    /// When not verified: which requirement failed and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl FileReport {
    /// The report when verified; otherwise [`SigningError::NotVerified`] naming the failed checks.
    pub fn into_verified(self) -> Result<FileReport> {
        match &self.failure {
            None => Ok(self),
            Some(reason) => Err(SigningError::NotVerified {
                reference: self.file.clone(),
                reason: reason.clone(),
            }),
        }
    }
}

/// Checks the file's bytes or digest (`signed`, named `file`) against the bundle `bundle_json` (named `bundle`)
/// for each requirement of `config`; a bundle that fails a check is in the report, never an error.
pub fn verify_file(
    file: &str,
    signed: Signed<'_>,
    bundle: &str,
    bundle_json: &[u8],
    config: &VerificationConfig,
    trust_root: &TrustRoot,
) -> FileReport {
    let requirements: Vec<FileRequirement> = grouped(config)
        .map(|(group, requirement)| {
            let outcome = check(signed, bundle_json, requirement, trust_root);
            FileRequirement {
                group,
                requirement: requirement.describe(),
                rejected: outcome.as_ref().err().cloned(),
                checked: outcome.ok(),
            }
        })
        .collect();
    let outcomes: Vec<Outcome<'_>> = requirements
        .iter()
        .map(|r| Outcome {
            group: r.group,
            requirement: &r.requirement,
            unmet: r.rejected.as_ref().map(|why| format!(" ({why})")),
        })
        .collect();
    let failures = config_failures(config, &outcomes);
    FileReport {
        file: file.to_string(),
        digest: signed.digest(),
        bundle: bundle.to_string(),
        verified: failures.is_empty(),
        failure: (!failures.is_empty()).then(|| failures.join("; ")),
        requirements,
    }
}

fn check(
    signed: Signed<'_>,
    bundle_json: &[u8],
    requirement: &Requirement,
    trust_root: &TrustRoot,
) -> std::result::Result<Checked, String> {
    let identity = Identity::of(requirement);
    let signer = match (requirement, &identity) {
        (Requirement::PubKey { key, .. }, _) => Signer::KeyPem(key),
        (_, Some(identity)) => Signer::Identity(identity),
        (_, None) => return Err("not a requirement a bundle can meet".into()),
    };
    let checked = match (requirement, Bundle::parse(bundle_json)) {
        (Requirement::PubKey { key, .. }, Ok(bundle)) if bundle.is_unlogged() => {
            check_unlogged(signed, &bundle, key)?
        }
        _ => trust_root.verifier().verify(signed, bundle_json, signer)?,
    };
    check_annotations(&signed.digest(), bundle_json, requirement)?;
    Ok(checked)
}

/// A DSSE bundle signed with a key and kept off the transparency log (no log entry, no timestamp: what
/// `palisade sign FILE` and `cosign attest-blob --tlog-upload=false` write). A key needs no signing time, so the
/// signature over the statement and the statement's subject are what there is to check; the Sigstore clients'
/// verifier refuses such bundles outright.
fn check_unlogged(
    signed: Signed<'_>,
    bundle: &Bundle,
    key: &str,
) -> std::result::Result<Checked, String> {
    let key = PublicKey::from_pem(key.as_bytes()).map_err(|e| e.to_string())?;
    bundle
        .verify_with_key(&key, &signed.digest())
        .map_err(|e| e.to_string())?;
    Ok(Checked::signature_only())
}

/// The requirement's annotations, among those the verified bundle's in-toto statement signs for the file (a
/// message-signature bundle signs none).
fn check_annotations(
    digest: &Digest,
    bundle_json: &[u8],
    requirement: &Requirement,
) -> std::result::Result<(), String> {
    let required = requirement.annotations();
    if required.is_empty() {
        return Ok(());
    }
    let signed = Bundle::parse(bundle_json)
        .and_then(|bundle| bundle.statement())
        .map(|statement| statement.annotations_of(digest))
        .map_err(|_| {
            "annotations are required, and only the in-toto statement of a DSSE bundle signs any"
                .to_string()
        })?;
    annotations_met(&required, &signed)
}
