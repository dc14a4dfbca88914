//! Who must have made a keyless signature, by Kubewarden's rules (`genericIssuer` with URL prefixes,
//! `githubAction`), and what a Fulcio certificate says about its holder.

use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::config::{Requirement, Subject};

/// The OIDC issuer of GitHub Actions.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Fulcio's OIDC issuer extension (raw string, deprecated).
const ISSUER_V1_OID: &str = "1.3.6.1.4.1.57264.1.1";
/// Fulcio's OIDC issuer extension (DER UTF8String).
const ISSUER_V2_OID: &str = "1.3.6.1.4.1.57264.1.8";
/// Fulcio's GitHub workflow repository extension (raw `owner/repo`, deprecated).
const WORKFLOW_REPOSITORY_OID: &str = "1.3.6.1.4.1.57264.1.5";
/// Fulcio's source repository URI extension (DER UTF8String, `https://github.com/owner/repo`).
const SOURCE_REPOSITORY_URI_OID: &str = "1.3.6.1.4.1.57264.1.12";
/// The otherName type of Sigstore's username SANs.
const OTHERNAME_OID: &str = "1.3.6.1.4.1.57264.1.7";

/// Who must have signed, for a keyless signature: Kubewarden's `genericIssuer` and `githubAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The certificate's OIDC issuer, and its subject (SAN) equal to or under a URL prefix.
    Issuer {
        /// The OIDC issuer.
        issuer: String,
        /// The subject rule.
        subject: Subject,
    },
    /// A GitHub Actions workflow of this owner (and repository).
    GithubAction {
        /// The user or organization.
        owner: String,
        /// The repository, if only one.
        repo: Option<String>,
    },
}

impl Identity {
    /// The identity a keyless requirement names; `None` for a key requirement.
    pub fn of(requirement: &Requirement) -> Option<Identity> {
        match requirement {
            Requirement::PubKey { .. } => None,
            Requirement::GenericIssuer {
                issuer, subject, ..
            } => Some(Identity::Issuer {
                issuer: issuer.clone(),
                subject: subject.clone(),
            }),
            Requirement::GithubAction { owner, repo, .. } => Some(Identity::GithubAction {
                owner: owner.clone(),
                repo: repo.clone(),
            }),
        }
    }
}

fn extension<'a>(cert: &'a x509_cert::Certificate, oid: &str) -> Option<&'a [u8]> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// A Fulcio extension value: DER UTF8String (v2 extensions), else the raw bytes (v1 extensions).
fn extension_text(cert: &x509_cert::Certificate, oid: &str) -> Option<String> {
    let bytes = extension(cert, oid)?;
    match x509_cert::der::asn1::Utf8StringRef::from_der(bytes) {
        Ok(s) => Some(s.as_str().to_string()),
        Err(_) => String::from_utf8(bytes.to_vec()).ok(),
    }
}

/// The certificate's OIDC issuer.
pub fn certificate_issuer(cert: &x509_cert::Certificate) -> Option<String> {
    extension_text(cert, ISSUER_V2_OID).or_else(|| extension_text(cert, ISSUER_V1_OID))
}

/// The certificate's subject alternative names (emails, URIs, Sigstore usernames).
pub fn certificate_subjects(cert: &x509_cert::Certificate) -> Vec<String> {
    let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|name| match name {
            GeneralName::Rfc822Name(n) => Some(n.as_str().to_string()),
            GeneralName::UniformResourceIdentifier(n) => Some(n.as_str().to_string()),
            GeneralName::OtherName(n) if n.type_id.to_string() == OTHERNAME_OID => {
                std::str::from_utf8(n.value.value())
                    .ok()
                    .map(str::to_string)
            }
            _ => None,
        })
        .collect()
}

fn mismatch(field: &str, expected: &str, actual: &str) -> String {
    format!(
        "the certificate is not the required identity: its {field} is {actual:?}, required {expected}"
    )
}

impl Identity {
    /// Checks that `cert` (already verified) names this identity; the error names the field that differs.
    pub fn check(&self, cert: &x509_cert::Certificate) -> std::result::Result<(), String> {
        let issuer = certificate_issuer(cert).ok_or(
            "the certificate is not the required identity: it has no OIDC issuer extension",
        )?;
        match self {
            Identity::Issuer {
                issuer: expected,
                subject,
            } => {
                if &issuer != expected {
                    return Err(mismatch("OIDC issuer", expected, &issuer));
                }
                let subjects = certificate_subjects(cert);
                let met = subjects.iter().any(|s| match subject {
                    Subject::Equal(want) => s == want,
                    Subject::UrlPrefix(prefix) => s.starts_with(prefix.as_str()),
                });
                if !met {
                    let expected = match subject {
                        Subject::Equal(s) => s.clone(),
                        Subject::UrlPrefix(p) => format!("{p}…"),
                    };
                    return Err(mismatch("SubjectAltName", &expected, &subjects.join(", ")));
                }
                Ok(())
            }
            Identity::GithubAction { owner, repo } => {
                if issuer != GITHUB_ACTIONS_ISSUER {
                    return Err(mismatch("OIDC issuer", GITHUB_ACTIONS_ISSUER, &issuer));
                }
                let repository = extension_text(cert, WORKFLOW_REPOSITORY_OID)
                    .or_else(|| {
                        extension_text(cert, SOURCE_REPOSITORY_URI_OID)
                            .and_then(|u| u.strip_prefix("https://github.com/").map(str::to_string))
                    })
                    .ok_or(
                        "the certificate is not the required identity: it names no GitHub workflow repository",
                    )?;
                let (found_owner, found_repo) = repository
                    .split_once('/')
                    .unwrap_or((repository.as_str(), ""));
                let expected = match repo {
                    Some(repo) => format!("{owner}/{repo}"),
                    None => format!("{owner}/*"),
                };
                if found_owner != owner || repo.as_ref().is_some_and(|r| r != found_repo) {
                    return Err(mismatch(
                        "GitHub workflow repository",
                        &expected,
                        &repository,
                    ));
                }
                Ok(())
            }
        }
    }
}
