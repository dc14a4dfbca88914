//! Trust roots for keyless (certificate-based) signatures, read from a file — never fetched: Sigstore's
//! `trusted_root.json` (certificate authorities, Rekor and CT log keys), a Sigstore `ClientTrustConfig` holding
//! one (kwctl's `--sigstore-trust-config` file), or a PEM bundle of CA certificates — and the keyless check of a
//! Sigstore bundle against one.
//!
//! A root read from a `trusted_root.json` or `ClientTrustConfig` checks Sigstore bundles with the one
//! [`SigstoreVerifier`] (chain, SCT, transparency log, timestamps, `validFor` windows); this module adds only
//! Kubewarden's identity rules (`genericIssuer`, `githubAction`).
//!
//! Still hand-written here, to be moved onto the same verifier: bundles checked against a PEM CA bundle (the
//! `sigstore` crate's verifier plus the Rekor signed entry timestamp, no `validFor` windows), and keyless
//! signatures of the `.sig` layout (cosign's certificate, chain and Rekor bundle annotations):
//! [`TrustRoot::verify_keyless_simple_signing`] checks the Rekor signed entry timestamp, the consistency of the
//! Rekor entry with the payload, signature and certificate, the chain to the trust root at the entry's
//! integrated time, and the signature with the certificate's key, but no SCT.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use sha2::Digest as _;
use sigstore::bundle::verify::{
    ArtifactDigest, PolicyError, VerificationPolicy, Verifier as BundleVerifier,
};
use sigstore::rekor::apis::configuration::Configuration as RekorConfiguration;
use sigstore::trust::ManualTrustRoot;
use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::config::{Requirement, Subject};
use crate::error::{Result, SigningError};
use crate::keys::PublicKey;
use crate::sigstore_verifier::{Signed, Signer, SigstoreVerifier};

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

/// Certificate authorities and transparency log keys that keyless signatures are checked against.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    /// CA certificates (DER): roots and intermediates.
    certificate_authorities: Vec<Vec<u8>>,
    /// Rekor keys (PKIX DER) by log id (base64 of the key's SHA-256, as in `logId.keyId`).
    rekor_keys: BTreeMap<String, Vec<u8>>,
    /// CT log keys (PKIX DER) by log id.
    ctlog_keys: BTreeMap<String, Vec<u8>>,
    /// The verifier of Sigstore bundles, for a root read from a `trusted_root.json` (a PEM CA bundle has none).
    sigstore: Option<Arc<SigstoreVerifier>>,
}

/// The media type of Sigstore's `ClientTrustConfig` (protobuf-specs), up to its version.
const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig";

/// Sigstore's `ClientTrustConfig`: a trusted root and a signing config (the service URLs, unused here).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientTrustConfigJson {
    media_type: Option<String>,
    #[serde(alias = "trusted_root")]
    trusted_root: Option<TrustedRootJson>,
}

/// What tells a JSON trust root file's form: its media type, and whether it wraps a trusted root.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonForm {
    media_type: Option<String>,
    #[serde(alias = "trusted_root")]
    trusted_root: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustedRootJson {
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<LogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
    #[serde(default)]
    ctlogs: Vec<LogJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogJson {
    public_key: Option<RawJson>,
    log_id: Option<KeyIdJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJson {
    raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    cert_chain: Option<ChainJson>,
}

#[derive(Deserialize)]
struct ChainJson {
    #[serde(default)]
    certificates: Vec<RawJson>,
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(text)
        .map_err(|e| SigningError::Config(format!("trust root: {field} is not base64: {e}")))
}

impl TrustRoot {
    /// Reads Sigstore's `trusted_root.json` (as `cosign verify --trusted-root` takes it).
    pub fn from_trusted_root_json(bytes: &[u8]) -> Result<TrustRoot> {
        let json: TrustedRootJson = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::Config(format!("trust root: not a Sigstore trusted_root.json: {e}"))
        })?;
        TrustRoot::from_trusted_root(json)?.with_sigstore(bytes)
    }

    /// Reads the trusted root of Sigstore's `ClientTrustConfig` (media type
    /// `application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`), the file kwctl's `--sigstore-trust-config`
    /// takes; its signing config (where to sign) does not matter to verification.
    pub fn from_client_trust_config_json(bytes: &[u8]) -> Result<TrustRoot> {
        let json: ClientTrustConfigJson = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::Config(format!("trust root: not a Sigstore ClientTrustConfig: {e}"))
        })?;
        if let Some(media_type) = &json.media_type
            && !media_type.starts_with(CLIENT_TRUST_CONFIG_MEDIA_TYPE)
        {
            return Err(SigningError::Config(format!(
                "trust root: mediaType is {media_type:?}, expected {CLIENT_TRUST_CONFIG_MEDIA_TYPE}.v0.1+json"
            )));
        }
        let trusted_root = json.trusted_root.ok_or_else(|| {
            SigningError::Config("trust root: the ClientTrustConfig has no trustedRoot".into())
        })?;
        TrustRoot::from_trusted_root(trusted_root)?.with_sigstore(bytes)
    }

    /// This root with the Sigstore bundle verifier of the same `trusted_root.json` or `ClientTrustConfig`.
    fn with_sigstore(self, bytes: &[u8]) -> Result<TrustRoot> {
        Ok(TrustRoot {
            sigstore: Some(Arc::new(SigstoreVerifier::from_trusted_root_json(bytes)?)),
            ..self
        })
    }

    fn from_trusted_root(json: TrustedRootJson) -> Result<TrustRoot> {
        if let Some(media_type) = &json.media_type
            && !media_type.starts_with("application/vnd.dev.sigstore.trustedroot")
        {
            return Err(SigningError::Config(format!(
                "trust root: mediaType is {media_type:?}, expected application/vnd.dev.sigstore.trustedroot+json"
            )));
        }
        let mut root = TrustRoot::default();
        for ca in &json.certificate_authorities {
            for certificate in ca.cert_chain.iter().flat_map(|c| c.certificates.iter()) {
                root.certificate_authorities
                    .push(decode("certificateAuthorities", &certificate.raw_bytes)?);
            }
        }
        for (logs, keys, name) in [
            (&json.tlogs, &mut root.rekor_keys, "tlogs"),
            (&json.ctlogs, &mut root.ctlog_keys, "ctlogs"),
        ] {
            for log in logs {
                if let (Some(key), Some(id)) = (&log.public_key, &log.log_id) {
                    keys.insert(id.key_id.clone(), decode(name, &key.raw_bytes)?);
                }
            }
        }
        if root.certificate_authorities.is_empty() {
            return Err(SigningError::Config(
                "trust root: no certificateAuthorities, so no keyless signature can be trusted"
                    .into(),
            ));
        }
        Ok(root)
    }

    /// Reads a PEM bundle of CA certificates (a private Fulcio, for instance). It has no Rekor or CT log keys.
    pub fn from_pem_bundle(bytes: &[u8]) -> Result<TrustRoot> {
        let blocks = pem::parse_many(bytes)
            .map_err(|e| SigningError::Config(format!("trust root: not PEM: {e}")))?;
        let certificate_authorities: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.into_contents())
            .collect();
        if certificate_authorities.is_empty() {
            return Err(SigningError::Config(
                "trust root: the PEM file has no CERTIFICATE blocks".into(),
            ));
        }
        Ok(TrustRoot {
            certificate_authorities,
            ..TrustRoot::default()
        })
    }

    /// Reads any of the three forms, told apart by content: JSON (first non-blank character `{`) is a
    /// `ClientTrustConfig` when its media type says so or it wraps a `trustedRoot`, else a `trusted_root.json`;
    /// anything else is a PEM bundle.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<TrustRoot> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return TrustRoot::from_pem_bundle(bytes);
        }
        let wrapped = serde_json::from_slice::<JsonForm>(bytes).is_ok_and(|form| {
            form.trusted_root.is_some()
                || form.media_type.is_some_and(|media_type| {
                    media_type.starts_with(CLIENT_TRUST_CONFIG_MEDIA_TYPE)
                })
        });
        if wrapped {
            TrustRoot::from_client_trust_config_json(bytes)
        } else {
            TrustRoot::from_trusted_root_json(bytes)
        }
    }

    fn manual(&self) -> ManualTrustRoot<'static> {
        ManualTrustRoot {
            fulcio_certs: self
                .certificate_authorities
                .iter()
                .map(|der| CertificateDer::from(der.clone()))
                .collect(),
            rekor_keys: self.rekor_keys.clone(),
            ctfe_keys: self.ctlog_keys.clone(),
        }
    }

    /// Checks a keyless Sigstore bundle (`bundle_json`) over `manifest_digest` (sha256) and that its certificate
    /// meets `identity`: with the [`SigstoreVerifier`] of a `trusted_root.json`, else (a PEM CA bundle) chain to
    /// this root at signing time, SCT, DSSE signature, Rekor entry consistency and signed entry timestamp.
    pub fn verify_keyless_bundle(
        &self,
        bundle_json: &[u8],
        manifest_digest: &artifact::oci::Digest,
        identity: &Identity,
    ) -> std::result::Result<(), String> {
        if let Some(sigstore) = &self.sigstore {
            let signed = Signed::Digest(manifest_digest);
            return sigstore
                .verify(signed, bundle_json, Signer::Identity(identity))
                .map(drop);
        }
        if manifest_digest.algorithm() != artifact::oci::Algorithm::Sha256 {
            return Err("keyless bundles are checked for sha256 digests only".into());
        }
        let digest: [u8; 32] = hex::decode(manifest_digest.hex())
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or("invalid digest")?;
        let bundle: sigstore::bundle::Bundle = serde_json::from_slice(bundle_json)
            .map_err(|e| format!("the bundle does not parse as a Sigstore bundle: {e}"))?;
        self.check_signed_entry_timestamp(bundle_json)?;
        let verifier = BundleVerifier::new(RekorConfiguration::default(), self.manual())
            .map_err(|e| format!("the trust root is unusable: {e}"))?;
        let future =
            verifier.verify_digest_with(ArtifactDigest::from(digest), bundle, identity, true);
        block_on(future).map_err(|e| format!("keyless verification failed: {e}"))
    }

    /// Verifies the Rekor signed entry timestamp (inclusion promise) of the bundle's one tlog entry with the
    /// trust root's Rekor key, so that the integrated time the certificate validity is checked against is
    /// authenticated.
    fn check_signed_entry_timestamp(&self, bundle_json: &[u8]) -> std::result::Result<(), String> {
        let value: serde_json::Value =
            serde_json::from_slice(bundle_json).map_err(|e| format!("not JSON: {e}"))?;
        let entries = value["verificationMaterial"]["tlogEntries"]
            .as_array()
            .ok_or(
                "no transparency log entry (tlogEntries): the signing time cannot be established",
            )?;
        let [entry] = entries.as_slice() else {
            return Err(format!(
                "{} transparency log entries, expected 1",
                entries.len()
            ));
        };
        let text = |v: &serde_json::Value, name: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or(format!("tlog entry: no {name}"))
        };
        let key_id = text(&entry["logId"]["keyId"], "logId.keyId")?;
        let key = self
            .rekor_keys
            .get(&key_id)
            .ok_or(format!("the Rekor log {key_id} is not in the trust root"))?;
        let set = text(
            &entry["inclusionPromise"]["signedEntryTimestamp"],
            "inclusionPromise",
        )?;
        let number = |v: &serde_json::Value, name: &str| -> std::result::Result<i64, String> {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_i64())
                .ok_or(format!("tlog entry: no {name}"))
        };
        let log_id_hex = hex::encode(BASE64.decode(&key_id).map_err(|e| e.to_string())?);
        // The canonical JSON Rekor signs: keys sorted, no spaces (serde_json's map is sorted).
        let payload = serde_json::to_vec(&serde_json::json!({
            "body": text(&entry["canonicalizedBody"], "canonicalizedBody")?,
            "integratedTime": number(&entry["integratedTime"], "integratedTime")?,
            "logID": log_id_hex,
            "logIndex": number(&entry["logIndex"], "logIndex")?,
        }))
        .map_err(|e| e.to_string())?;
        let key = PublicKey::from_der(key).map_err(|e| format!("Rekor key: {e}"))?;
        key.verify_base64(&payload, &set)
            .map_err(|e| format!("the Rekor signed entry timestamp does not verify: {e}"))
    }
}

/// What a keyless simple-signing layer carries: the signed payload, the signature and cosign's annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessLayer {
    /// The payload (the layer blob), as signed.
    pub payload: Vec<u8>,
    /// The base64 signature (`dev.cosignproject.cosign/signature`).
    pub signature: String,
    /// The signing certificate PEM (`dev.sigstore.cosign/certificate`).
    pub certificate: String,
    /// The chain PEM (`dev.sigstore.cosign/chain`), untrusted intermediates.
    pub chain: Option<String>,
    /// The Rekor bundle JSON (`dev.sigstore.cosign/bundle`).
    pub rekor_bundle: Option<String>,
}

/// The OID of the code-signing extended key usage, DER content octets (1.3.6.1.5.5.7.3.3).
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

fn pem_certificates(text: &str) -> std::result::Result<Vec<Vec<u8>>, String> {
    let blocks = pem::parse_many(text.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
    Ok(blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect())
}

impl TrustRoot {
    /// Checks a keyless simple-signing layer and returns its certificate for the identity check: the Rekor
    /// signed entry timestamp with the trust root's Rekor key, the Rekor entry naming this payload, signature
    /// and certificate, the certificate chaining to the trust root (code signing) at the entry's integrated
    /// time, and the signature with the certificate's key.
    pub fn verify_keyless_simple_signing(
        &self,
        layer: &KeylessLayer,
    ) -> std::result::Result<x509_cert::Certificate, String> {
        let [certificate_der] = pem_certificates(&layer.certificate)
            .map_err(|e| format!("the certificate annotation: {e}"))?
            .try_into()
            .map_err(|_| {
                "the certificate annotation must hold exactly one certificate".to_string()
            })?;
        let rekor_bundle = layer.rekor_bundle.as_deref().ok_or(
            "no Rekor bundle (dev.sigstore.cosign/bundle): the signing time cannot be established",
        )?;
        let bundle: serde_json::Value = serde_json::from_str(rekor_bundle)
            .map_err(|e| format!("the Rekor bundle is not JSON: {e}"))?;
        let entry = &bundle["Payload"];
        let text = |v: &serde_json::Value, name: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or(format!("Rekor bundle: no {name}"))
        };
        let log_id = text(&entry["logID"], "Payload.logID")?;
        let key_id =
            BASE64.encode(hex::decode(&log_id).map_err(|e| format!("Rekor bundle: logID: {e}"))?);
        let key = self
            .rekor_keys
            .get(&key_id)
            .ok_or(format!("the Rekor log {log_id} is not in the trust root"))?;
        let integrated_time = entry["integratedTime"]
            .as_i64()
            .ok_or("Rekor bundle: no Payload.integratedTime")?;
        let body = text(&entry["body"], "Payload.body")?;
        let payload = serde_json::to_vec(&serde_json::json!({
            "body": body,
            "integratedTime": integrated_time,
            "logID": log_id,
            "logIndex": entry["logIndex"].as_i64().ok_or("Rekor bundle: no Payload.logIndex")?,
        }))
        .map_err(|e| e.to_string())?;
        PublicKey::from_der(key)
            .map_err(|e| format!("Rekor key: {e}"))?
            .verify_base64(
                &payload,
                &text(&bundle["SignedEntryTimestamp"], "SignedEntryTimestamp")?,
            )
            .map_err(|e| format!("the Rekor signed entry timestamp does not verify: {e}"))?;

        // The entry must be about this payload, signature and certificate.
        let body: serde_json::Value = BASE64
            .decode(&body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("the Rekor entry body is not base64 JSON")?;
        let kind = body["kind"].as_str().unwrap_or_default();
        if kind != "hashedrekord" && kind != "rekord" {
            return Err(format!(
                "the Rekor entry is a {kind:?}, expected hashedrekord or rekord"
            ));
        }
        let spec = &body["spec"];
        let payload_hash = hex::encode(sha2::Sha256::digest(&layer.payload));
        if spec["data"]["hash"]["value"].as_str() != Some(payload_hash.as_str()) {
            return Err("the Rekor entry is about another payload".into());
        }
        let signature = BASE64
            .decode(layer.signature.trim())
            .map_err(|e| format!("the signature is not base64: {e}"))?;
        let logged_signature = spec["signature"]["content"]
            .as_str()
            .and_then(|s| BASE64.decode(s).ok());
        if logged_signature.as_deref() != Some(signature.as_slice()) {
            return Err("the Rekor entry holds another signature".into());
        }
        let logged_certificate = spec["signature"]["publicKey"]["content"]
            .as_str()
            .and_then(|s| BASE64.decode(s).ok())
            .and_then(|pem_text| String::from_utf8(pem_text).ok())
            .and_then(|pem_text| pem_certificates(&pem_text).ok());
        if logged_certificate.as_deref() != Some(std::slice::from_ref(&certificate_der)) {
            return Err("the Rekor entry holds another certificate".into());
        }

        // The chain, at the time the entry was integrated.
        let time = u64::try_from(integrated_time).map_err(|_| "negative integratedTime")?;
        let anchors = self
            .certificate_authorities
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                    .map(|a| a.to_owned())
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| format!("a trust root certificate is unusable: {e}"))?;
        let intermediates: Vec<CertificateDer<'static>> = match &layer.chain {
            Some(chain) => pem_certificates(chain)
                .map_err(|e| format!("the chain annotation: {e}"))?
                .into_iter()
                .map(CertificateDer::from)
                .collect(),
            None => Vec::new(),
        };
        let leaf = CertificateDer::from(certificate_der.as_slice());
        let end_entity = webpki::EndEntityCert::try_from(&leaf)
            .map_err(|e| format!("the certificate does not parse: {e:?}"))?;
        end_entity
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                &intermediates,
                rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(time)),
                webpki::KeyUsage::required(EKU_CODE_SIGNING),
                None,
                None,
            )
            .map_err(|e| {
                format!(
                    "the certificate does not chain to the trust root for code signing at the signing time ({integrated_time}): {e:?}"
                )
            })?;

        // The signature, with the certificate's key.
        let certificate = x509_cert::Certificate::from_der(&certificate_der)
            .map_err(|e| format!("the certificate does not parse: {e}"))?;
        let spki =
            x509_cert::der::Encode::to_der(certificate.tbs_certificate().subject_public_key_info())
                .map_err(|e| e.to_string())?;
        PublicKey::from_der(&spki)
            .map_err(|e| format!("the certificate's key: {e}"))?
            .verify(&layer.payload, &signature)
            .map_err(|e| e.to_string())?;
        Ok(certificate)
    }
}

/// Polls a future that does no I/O (the offline bundle verifier) to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
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

fn mismatch(extension: &str, expected: String, actual: String) -> PolicyError {
    PolicyError::ExtensionCheckFailed {
        extension: extension.to_string(),
        expected,
        actual,
    }
}

impl VerificationPolicy for Identity {
    fn verify(&self, cert: &x509_cert::Certificate) -> std::result::Result<(), PolicyError> {
        let issuer = certificate_issuer(cert).ok_or(PolicyError::ExtensionNotFound)?;
        match self {
            Identity::Issuer {
                issuer: expected,
                subject,
            } => {
                if &issuer != expected {
                    return Err(mismatch("OIDC issuer", expected.clone(), issuer));
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
                    return Err(mismatch("SubjectAltName", expected, subjects.join(", ")));
                }
                Ok(())
            }
            Identity::GithubAction { owner, repo } => {
                if issuer != GITHUB_ACTIONS_ISSUER {
                    return Err(mismatch(
                        "OIDC issuer",
                        GITHUB_ACTIONS_ISSUER.into(),
                        issuer,
                    ));
                }
                let repository = extension_text(cert, WORKFLOW_REPOSITORY_OID)
                    .or_else(|| {
                        extension_text(cert, SOURCE_REPOSITORY_URI_OID)
                            .and_then(|u| u.strip_prefix("https://github.com/").map(str::to_string))
                    })
                    .ok_or(PolicyError::ExtensionNotFound)?;
                let (found_owner, found_repo) = repository
                    .split_once('/')
                    .unwrap_or((repository.as_str(), ""));
                let expected = match repo {
                    Some(repo) => format!("{owner}/{repo}"),
                    None => format!("{owner}/*"),
                };
                if found_owner != owner || repo.as_ref().is_some_and(|r| r != found_repo) {
                    return Err(mismatch("GitHub workflow repository", expected, repository));
                }
                Ok(())
            }
        }
    }
}
