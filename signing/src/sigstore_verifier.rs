//! The one verifier of Sigstore bundles, built on the Sigstore project's `sigstore-verify` (which passes the
//! client conformance suite): message signatures and DSSE envelopes, bundle v0.1–v0.3, Rekor v1 (inclusion
//! promise, inclusion proof, signed checkpoint) and Rekor v2 (inclusion proof, checkpoint, RFC 3161
//! timestamps), SCTs, the `validFor` windows of every trust-root entry, certificate validity at the verified
//! time, and managed keys.
//!
//! Palisade adds only Kubewarden's rules on top: who must have signed ([`Identity`]: `genericIssuer` with URL
//! prefixes, `githubAction`), checked on the certificate the library verified.

use artifact::oci::{Algorithm, Digest};
use serde::Serialize;
use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, TrustedRoot};
use sigstore_verify::types::{Artifact, Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy};
use x509_cert::der::Decode as _;

use crate::error::{Result, SigningError};
use crate::identity::Identity;

/// Who must have made the signature: a managed key, or a keyless identity.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'a> {
    /// A public key (PKIX PEM: ECDSA, Ed25519 or RSA, as Sigstore clients sign with).
    KeyPem(&'a str),
    /// A Fulcio certificate for this identity, chained to the trust root.
    Identity(&'a Identity),
}

/// What was signed: the bytes, or only their digest (a policy manifest, or a file given by digest; for a DSSE
/// bundle, one of the statement's subjects).
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// The signed bytes.
    Bytes(&'a [u8]),
    /// The sha256 digest of the signed bytes.
    Digest(&'a Digest),
}

impl Signed<'_> {
    /// The sha256 digest of what was signed.
    pub fn digest(&self) -> Digest {
        match self {
            Signed::Bytes(bytes) => Digest::sha256_of(bytes),
            Signed::Digest(digest) => (*digest).clone(),
        }
    }
}

/// What a successful verification checked, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// The signing certificate chains to a certificate authority of the trust root and was valid when signed.
    pub certificate_chain: bool,
    /// The certificate's signed certificate timestamp verifies with a CT log of the trust root.
    pub certificate_timestamp: bool,
    /// The transparency-log entry is included in the log (inclusion proof and signed checkpoint, or the
    /// signed entry timestamp).
    pub transparency_log: bool,
    /// The certificate names the required identity.
    pub identity: bool,
    /// The authenticated signing times (Rekor integrated time, RFC 3161 timestamps), RFC 3339.
    pub verified_times: Vec<String>,
    /// The trust-root entries the bundle was checked with: `tlog <base URL>`, `ca <URI>`.
    pub trust_root_entries: Vec<String>,
}

impl Checked {
    /// Only the signature was checked (a key signature with no log entry or timestamp).
    pub fn signature_only() -> Checked {
        Checked {
            certificate_chain: false,
            certificate_timestamp: false,
            transparency_log: false,
            identity: false,
            verified_times: Vec::new(),
            trust_root_entries: Vec::new(),
        }
    }

    /// One line naming the checks that passed and the verified signing times.
    pub fn summary(&self) -> String {
        let checks = [
            (self.certificate_chain, "certificate chain"),
            (self.certificate_timestamp, "SCT"),
            (self.transparency_log, "transparency log"),
            (self.identity, "identity"),
        ];
        let mut line = std::iter::once("signature")
            .chain(
                checks
                    .iter()
                    .filter(|(done, _)| *done)
                    .map(|(_, name)| *name),
            )
            .collect::<Vec<_>>()
            .join(", ");
        if !self.verified_times.is_empty() {
            line.push_str(&format!("; signed at {}", self.verified_times.join(", ")));
        }
        line
    }
}

/// Sigstore bundle verification against one trusted root, read once.
pub struct SigstoreVerifier {
    verifier: sigstore_verify::Verifier,
    /// The trusted root, to name the entries a verification used.
    root: TrustedRoot,
}

impl std::fmt::Debug for SigstoreVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigstoreVerifier")
    }
}

impl SigstoreVerifier {
    /// Verifies against the Sigstore public-good production trusted root embedded in the library (never
    /// fetched).
    pub fn production() -> Result<SigstoreVerifier> {
        let root = serde_json::from_str(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
            .map_err(|e| SigningError::TrustRoot(format!("the built-in root: {e}")))?;
        SigstoreVerifier::from_trusted_root(root)
    }

    /// Verifies against a Sigstore trusted root (the JSON of a `trusted_root.json`).
    pub fn from_trusted_root(root: serde_json::Value) -> Result<SigstoreVerifier> {
        let invalid = SigningError::TrustRoot;
        let root: TrustedRoot = serde_json::from_value(root)
            .map_err(|e| invalid(format!("not a Sigstore trusted root: {e}")))?;
        let verifier =
            sigstore_verify::Verifier::new(&root).map_err(|e| invalid(format!("unusable: {e}")))?;
        Ok(SigstoreVerifier { verifier, root })
    }

    /// Verifies `bundle_json` over `signed` and that `signer` made it; the error names the check that failed.
    pub fn verify(
        &self,
        signed: Signed<'_>,
        bundle_json: &[u8],
        signer: Signer<'_>,
    ) -> std::result::Result<Checked, String> {
        let artifact = match signed {
            Signed::Bytes(bytes) => Artifact::from_blob(bytes),
            Signed::Digest(digest) => {
                let sha256: [u8; 32] = (digest.algorithm() == Algorithm::Sha256)
                    .then(|| hex::decode(digest.hex()).ok())
                    .flatten()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| format!("{digest}: only sha256 digests can be verified"))?;
                Artifact::from(Sha256Hash::new(sha256))
            }
        };
        let text = std::str::from_utf8(bundle_json)
            .map_err(|_| "the bundle is not UTF-8 JSON".to_string())?;
        let bundle = Bundle::from_json(text)
            .map_err(|e| format!("the bundle does not parse as a Sigstore bundle: {e}"))?;
        let (result, identity) = match signer {
            Signer::KeyPem(pem_text) => {
                let key = DerPublicKey::from_pem(pem_text)
                    .map_err(|e| format!("the public key is unusable: {e}"))?;
                let policy = PublicKeyVerificationPolicy::new(key);
                let result = self
                    .verifier
                    .verify(artifact, &bundle, &policy)
                    .map_err(|e| e.to_string())?;
                (result, false)
            }
            Signer::Identity(identity) => {
                let result = self
                    .verifier
                    .verify(artifact, &bundle, &VerificationPolicy::any_identity())
                    .map_err(|e| e.to_string())?;
                let der = bundle
                    .signing_certificate()
                    .ok_or("no certificate: not a keyless signature")?;
                let certificate = x509_cert::Certificate::from_der(der.as_bytes())
                    .map_err(|e| format!("malformed signing certificate: {e}"))?;
                identity.check(&certificate)?;
                (result, true)
            }
        };
        Ok(Checked {
            certificate_chain: result.certificate_verified(),
            certificate_timestamp: result.sct_verified(),
            transparency_log: result.tlog_verified(),
            identity,
            verified_times: result
                .verified_timestamps()
                .iter()
                .map(ToString::to_string)
                .collect(),
            trust_root_entries: self.entries_used(&bundle),
        })
    }

    /// The trust-root entries a verified bundle names: the transparency logs of its entries (by log id) and the
    /// certificate authority whose certificate issued its signing certificate (by name).
    fn entries_used(&self, bundle: &Bundle) -> Vec<String> {
        let mut entries: Vec<String> = bundle
            .verification_material
            .tlog_entries
            .iter()
            .filter_map(|entry| {
                self.root
                    .tlogs
                    .iter()
                    .find(|log| log.log_id == entry.log_id)
            })
            .map(|log| format!("tlog {}", log.base_url))
            .collect();
        let parse = |der: &[u8]| x509_cert::Certificate::from_der(der).ok();
        let issuer = bundle
            .signing_certificate()
            .and_then(|der| parse(der.as_bytes()))
            .map(|leaf| leaf.tbs_certificate().issuer().clone());
        if let Some(issuer) = issuer {
            let authority = self.root.certificate_authorities.iter().find(|authority| {
                authority.cert_chain.certificates.iter().any(|certificate| {
                    parse(certificate.raw_bytes.as_bytes())
                        .is_some_and(|ca| ca.tbs_certificate().subject() == &issuer)
                })
            });
            entries.extend(authority.map(|authority| format!("ca {}", authority.uri)));
        }
        entries
    }
}
