//! `crypto/v1/is_certificate_trusted`: whether a certificate is within its validity period and,
//! when a chain is given, chains to its last certificate (the root) through the others.
//!
//! Request (Kubewarden's `CertificateVerificationRequest`): `{"cert": {"encoding": "Pem"|"Der",
//! "data": [bytes]}, "cert_chain": [certificates, intermediates first, root last] | null,
//! "not_after": "RFC 3339 time" | null}`. Without a chain the certificate is trusted as it is;
//! without `not_after` its expiry is checked against now. Answer: `{"trusted": bool,
//! "reason": "…"}`; a certificate that cannot be read is a host error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};
use x509_cert::der::Decode as _;

use super::payload;

/// The capability's name.
pub const IS_CERTIFICATE_TRUSTED: &str = "crypto/v1/is_certificate_trusted";

/// How a certificate's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Encoding {
    Pem,
    Der,
}

/// A certificate as the SDKs send it: the bytes as a JSON array of numbers.
#[derive(Debug, Deserialize)]
struct Certificate {
    encoding: Encoding,
    data: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct Request {
    cert: Certificate,
    #[serde(default)]
    cert_chain: Option<Vec<Certificate>>,
    #[serde(default)]
    not_after: Option<String>,
}

#[derive(Debug, Serialize)]
struct Response {
    trusted: bool,
    reason: String,
}

fn der_of(certificate: &Certificate) -> Result<Vec<u8>, String> {
    match certificate.encoding {
        Encoding::Der => Ok(certificate.data.clone()),
        Encoding::Pem => {
            let block = pem::parse(&certificate.data)
                .map_err(|err| format!("the certificate is not PEM: {err}"))?;
            if block.tag() != "CERTIFICATE" {
                return Err(format!(
                    "the PEM block is a {}, not a CERTIFICATE",
                    block.tag()
                ));
            }
            Ok(block.into_contents())
        }
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

/// Answers `crypto/v1/is_certificate_trusted`.
pub fn is_certificate_trusted(payload: &[u8]) -> Result<Vec<u8>, String> {
    let request: Request = payload::parse(
        payload,
        "{cert: {encoding: Pem|Der, data: [bytes]}, cert_chain, not_after}",
    )?;
    let verdict = verdict(&request)?;
    payload::answer(&match verdict {
        None => Response {
            trusted: true,
            reason: String::new(),
        },
        Some(reason) => Response {
            trusted: false,
            reason,
        },
    })
}

/// `None` when trusted, else why not.
fn verdict(request: &Request) -> Result<Option<String>, String> {
    let leaf = der_of(&request.cert)?;
    let parsed = x509_cert::Certificate::from_der(&leaf)
        .map_err(|err| format!("the certificate does not parse: {err}"))?;
    let validity = parsed.tbs_certificate().validity();
    let now = SystemTime::now();
    let at = match &request.not_after {
        Some(text) => humantime::parse_rfc3339_weak(text)
            .map_err(|err| format!("not_after {text:?} is not an RFC 3339 time: {err}"))?,
        None => now,
    };
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    if not_before > now {
        return Ok(Some(format!(
            "the certificate is not valid before {}",
            humantime::format_rfc3339_seconds(not_before)
        )));
    }
    if not_after < at {
        return Ok(Some(format!(
            "the certificate expired at {}",
            humantime::format_rfc3339_seconds(not_after)
        )));
    }
    let Some(chain) = request
        .cert_chain
        .as_deref()
        .filter(|chain| !chain.is_empty())
    else {
        return Ok(None);
    };
    let chain = chain
        .iter()
        .map(der_of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("cert_chain: {err}"))?;
    let (root, intermediates) = chain.split_last().ok_or("cert_chain is empty")?;
    let root = CertificateDer::from(root.as_slice());
    let anchors = [webpki::anchor_from_trusted_cert(&root)
        .map_err(|err| format!("the root of cert_chain is unusable: {err:?}"))?];
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let leaf = CertificateDer::from(leaf.as_slice());
    let end_entity = webpki::EndEntityCert::try_from(&leaf)
        .map_err(|err| format!("the certificate does not parse: {err:?}"))?;
    let checked = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(unix_seconds(at.min(not_after)))),
        AnyUsage,
        None,
        None,
    );
    Ok(checked
        .err()
        .map(|err| format!("the certificate does not chain to the given root: {err:?}")))
}

/// Kubewarden does not restrict the certificate's extended key usage.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _usages: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ask(request: Value) -> Result<Value, String> {
        let answer = is_certificate_trusted(request.to_string().as_bytes())?;
        serde_json::from_slice(&answer).map_err(|err| err.to_string())
    }

    fn pem(text: &str) -> Value {
        json!({"encoding": "Pem", "data": text.as_bytes()})
    }

    /// A CA and a leaf it signed, made with rcgen's defaults (valid 1975–4096).
    fn ca_and_leaf() -> (String, String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap_or_else(|err| panic!("key: {err}"));
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::new()).unwrap_or_else(|err| panic!("params: {err}"));
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params
            .self_signed(&ca_key)
            .unwrap_or_else(|err| panic!("CA: {err}"));
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap_or_else(|err| panic!("key: {err}"));
        let leaf = rcgen::CertificateParams::new(vec!["policy.example".into()])
            .and_then(|params| params.signed_by(&leaf_key, &issuer))
            .unwrap_or_else(|err| panic!("leaf: {err}"));
        let other_key = rcgen::KeyPair::generate().unwrap_or_else(|err| panic!("key: {err}"));
        let mut other_params =
            rcgen::CertificateParams::new(Vec::new()).unwrap_or_else(|err| panic!("params: {err}"));
        other_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let other = other_params
            .self_signed(&other_key)
            .unwrap_or_else(|err| panic!("other CA: {err}"));
        (ca.pem(), leaf.pem(), other.pem())
    }

    #[test]
    fn a_leaf_is_trusted_by_its_ca_and_not_by_another() -> Result<(), String> {
        let (ca, leaf, other) = ca_and_leaf();
        let trusted =
            ask(json!({"cert": pem(&leaf), "cert_chain": [pem(&ca)], "not_after": null}))?;
        assert_eq!(trusted, json!({"trusted": true, "reason": ""}));
        let alone = ask(json!({"cert": pem(&leaf)}))?;
        assert_eq!(alone["trusted"], true);
        let foreign = ask(json!({"cert": pem(&leaf), "cert_chain": [pem(&other)]}))?;
        assert_eq!(foreign["trusted"], false);
        assert!(
            foreign["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("does not chain")),
            "{foreign}"
        );
        let late = ask(json!({"cert": pem(&leaf), "not_after": "4097-01-01T00:00:00Z"}))?;
        assert_eq!(late["trusted"], false);
        assert!(
            late["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("expired")),
            "{late}"
        );
        Ok(())
    }

    #[test]
    fn unreadable_certificates_are_host_errors() {
        assert!(
            ask(json!({"cert": {"encoding": "Pem", "data": b"garbage"}}))
                .is_err_and(|err| err.contains("not PEM"))
        );
        assert!(
            ask(json!({"cert": {"encoding": "Der", "data": [1, 2, 3]}}))
                .is_err_and(|err| err.contains("does not parse"))
        );
        assert!(
            ask(json!({"cert": {"encoding": "Base64", "data": []}}))
                .is_err_and(|err| err.contains("malformed request"))
        );
    }
}
