//! Trust roots for keyless (certificate-based) signatures, and who must have made one.
//!
//! A [`TrustRoot`] is Sigstore's `trusted_root.json` (certificate authorities, Rekor logs, CT logs, timestamp
//! authorities, each with its `validFor` window), read from a file — a bare trusted root as `cosign verify
//! --trusted-root` takes it, or a `ClientTrustConfig` holding one (kwctl's `--sigstore-trust-config` file) — or
//! the Sigstore public-good production root built into the library (never fetched), or fetched through a TUF
//! repository only when asked ([`TrustRoot::from_tuf`], in [`crate::tuf`]).
//!
//! Every keyless signature, in every layout, is checked by the one [`SigstoreVerifier`] of its root: Sigstore
//! bundles as they are, and the `.sig` layout's keyless layers as the bundle their annotations make
//! ([`Signature::to_sigstore_bundle`]). This module adds only Kubewarden's identity rules ([`Identity`]:
//! `genericIssuer` with URL prefixes, `githubAction`), checked on the certificate the verifier accepted.

use std::sync::Arc;

use artifact::cosign::{SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX, SIGSTORE_TRUSTED_ROOT_PREFIX};
use serde::Deserialize;
use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::config::{Requirement, Subject};
use crate::error::{Result, SigningError};
use crate::sigstore_verifier::{Checked, Signed, Signer, SigstoreVerifier};
use crate::simple_signing::Signature;

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

/// The certificate authorities, transparency logs and timestamp authorities keyless signatures are checked
/// against, with the verifier built from them (cheap to clone).
#[derive(Debug, Clone)]
pub struct TrustRoot {
    verifier: Arc<SigstoreVerifier>,
}

/// What tells a JSON trust root file's form: its media type, and whether it wraps a trusted root.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonForm {
    media_type: Option<String>,
    #[serde(alias = "trusted_root")]
    trusted_root: Option<serde_json::Value>,
}

impl TrustRoot {
    /// The Sigstore public-good production trusted root built into the library (never fetched).
    pub fn production() -> Result<TrustRoot> {
        Ok(TrustRoot {
            verifier: Arc::new(SigstoreVerifier::production()?),
        })
    }

    /// Reads Sigstore's `trusted_root.json` (as `cosign verify --trusted-root` takes it).
    pub fn from_trusted_root_json(bytes: &[u8]) -> Result<TrustRoot> {
        let root: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::TrustRoot(format!("not a Sigstore trusted_root.json: {e}"))
        })?;
        TrustRoot::from_trusted_root(root)
    }

    /// Reads the trusted root of Sigstore's `ClientTrustConfig` (media type
    /// `application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`), the file kwctl's `--sigstore-trust-config`
    /// takes; its signing config (where to sign) does not matter to verification.
    pub fn from_client_trust_config_json(bytes: &[u8]) -> Result<TrustRoot> {
        let json: JsonForm = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::TrustRoot(format!("not a Sigstore ClientTrustConfig: {e}"))
        })?;
        if let Some(media_type) = &json.media_type
            && !media_type.starts_with(SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX)
        {
            return Err(SigningError::TrustRoot(format!(
                "mediaType is {media_type:?}, expected {SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX}.v0.1+json"
            )));
        }
        match json.trusted_root {
            Some(root @ serde_json::Value::Object(_)) => TrustRoot::from_trusted_root(root),
            Some(_) => Err(SigningError::TrustRoot(
                "not a Sigstore ClientTrustConfig: its trustedRoot is not an object".into(),
            )),
            None => Err(SigningError::TrustRoot(
                "the ClientTrustConfig has no trustedRoot".into(),
            )),
        }
    }

    /// Reads either JSON form, told apart by content: a `ClientTrustConfig` when its media type says so or it
    /// wraps a `trustedRoot`, else a `trusted_root.json`. A PEM bundle of CA certificates is refused: it holds no
    /// transparency-log or timestamp-authority keys, so it cannot establish when a short-lived certificate
    /// signed.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TrustRoot> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(SigningError::TrustRoot(
                "not JSON. A PEM file of CA certificates is not enough to verify a keyless signature \
                 (it has no transparency-log or timestamp-authority keys to establish when it was signed): give a \
                 Sigstore trusted_root.json (`cosign trusted-root create` makes one from PEM files) or a \
                 ClientTrustConfig"
                    .into(),
            ));
        }
        let wrapped = serde_json::from_slice::<JsonForm>(bytes).is_ok_and(|form| {
            form.trusted_root.is_some()
                || form.media_type.is_some_and(|media_type| {
                    media_type.starts_with(SIGSTORE_CLIENT_TRUST_CONFIG_PREFIX)
                })
        });
        if wrapped {
            TrustRoot::from_client_trust_config_json(bytes)
        } else {
            TrustRoot::from_trusted_root_json(bytes)
        }
    }

    pub(crate) fn from_trusted_root(root: serde_json::Value) -> Result<TrustRoot> {
        let media_type = root.get("mediaType").and_then(serde_json::Value::as_str);
        if let Some(media_type) = media_type
            && !media_type.starts_with(SIGSTORE_TRUSTED_ROOT_PREFIX)
        {
            return Err(SigningError::TrustRoot(format!(
                "mediaType is {media_type:?}, expected {SIGSTORE_TRUSTED_ROOT_PREFIX}+json"
            )));
        }
        let authorities = root
            .get("certificateAuthorities")
            .and_then(serde_json::Value::as_array);
        if authorities.is_none_or(Vec::is_empty) {
            return Err(SigningError::TrustRoot(
                "no certificateAuthorities, so no keyless signature can be trusted".into(),
            ));
        }
        Ok(TrustRoot {
            verifier: Arc::new(SigstoreVerifier::from_trusted_root(root)?),
        })
    }

    /// The verifier of Sigstore bundles against this root.
    pub fn verifier(&self) -> &SigstoreVerifier {
        &self.verifier
    }

    /// Checks a keyless Sigstore bundle (`bundle_json`) over `manifest_digest` (sha256) and that its certificate
    /// meets `identity`.
    pub fn verify_keyless_bundle(
        &self,
        bundle_json: &[u8],
        manifest_digest: &artifact::oci::Digest,
        identity: &Identity,
    ) -> std::result::Result<Checked, String> {
        self.verifier.verify(
            Signed::Digest(manifest_digest),
            bundle_json,
            Signer::Identity(identity),
        )
    }

    /// Checks a keyless layer of the `.sig` layout (cosign's certificate, chain, Rekor bundle and RFC 3161
    /// timestamp annotations) as the Sigstore bundle they make, over the layer's payload, and that its
    /// certificate meets `identity`.
    pub fn verify_keyless_simple_signing(
        &self,
        signature: &Signature,
        identity: &Identity,
    ) -> std::result::Result<Checked, String> {
        let bundle = signature.to_sigstore_bundle()?;
        self.verifier.verify(
            Signed::Bytes(&signature.payload),
            &bundle,
            Signer::Identity(identity),
        )
    }
}

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
