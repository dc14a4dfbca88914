//! Attestations: signed in-toto v1 statements about a policy manifest (an SBOM, provenance…), in a DSSE envelope,
//! stored both ways cosign does:
//! - the `sha256-<hex>.att` image (cosign before v3, what `cosign verify-attestation` reads by default): one layer
//!   per attestation, of type `application/vnd.dsse.envelope.v1+json`, whose blob is the envelope itself, with the
//!   `predicateType` annotation and an empty `dev.cosignproject.cosign/signature` (the signature is inside);
//! - a Sigstore bundle v0.3 referrer (cosign v3), the same envelope in a [`Bundle`].
//!
//! One signature serves both: [`sign`] makes the bundle, [`att_layer`] takes its envelope for the `.att` image.
//! [`check_envelope`] decides whether one stored envelope is a valid attestation of the manifest by a key.
//! [`registry`] does the registry I/O of `palisade attest` and `palisade verify-attestation`.

#[cfg(feature = "registry")]
pub mod registry;

use std::collections::BTreeMap;

use artifact::oci::Digest;
use artifact::oci::manifest::{Descriptor, ImageManifest};
use serde::Serialize;
use serde_json::Value;

use crate::Blob;
use crate::bundle::{Bundle, Envelope, Statement};
use crate::error::{Result, SigningError};
use crate::keys::PublicKey;
use artifact::cosign::{
    COSIGN_SIGN_PREDICATE, CYCLONEDX_PREDICATE, DSSE_ENVELOPE, PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION, SPDX_PREDICATE,
};

/// The predicate type URI a `--type` names: `spdx` (or cosign's `spdxjson`), `cyclonedx`, or a URI as it is.
pub fn predicate_type(name: &str) -> Result<String> {
    match name {
        "spdx" | "spdxjson" | "spdx-json" => Ok(SPDX_PREDICATE.to_string()),
        "cyclonedx" | "cyclonedx-json" => Ok(CYCLONEDX_PREDICATE.to_string()),
        uri if is_uri(uri) => Ok(uri.to_string()),
        other => Err(SigningError::PredicateType(other.to_string())),
    }
}

/// Whether `text` is an absolute URI: a scheme (a letter, then letters, digits, `+`, `-`, `.`), a colon, and more.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(char::is_whitespace)
}

/// Parses a predicate file: any JSON document.
pub fn parse_predicate(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| SigningError::MalformedPredicate(e.to_string()))
}

/// Signs an attestation of `manifest_digest` in `repository` (`registry/repository`) with `key`, the way
/// `cosign attest --key` does: a key-signed bundle whose envelope is also the `.att` layer ([`att_layer`]).
pub use crate::bundle::attest as sign;

/// The `.att` layer of an attestation: the envelope JSON (with the empty `keyid` cosign writes), media type
/// [`DSSE_ENVELOPE`], annotations `predicateType` and an empty [`SIGNATURE_ANNOTATION`].
pub fn att_layer(bundle: &Bundle) -> Result<Blob> {
    let mut envelope = bundle.envelope()?.clone();
    for signature in &mut envelope.signatures {
        signature.keyid.get_or_insert_with(String::new);
    }
    let predicate_type = envelope.statement()?.predicate_type;
    let content = envelope.to_bytes();
    let mut descriptor = Descriptor::of(DSSE_ENVELOPE, &content);
    descriptor.annotations = Some(BTreeMap::from([
        (PREDICATE_TYPE_ANNOTATION.to_string(), predicate_type),
        (SIGNATURE_ANNOTATION.to_string(), String::new()),
    ]));
    Ok(Blob {
        descriptor,
        content,
    })
}

/// The layers of an `.att` image that hold attestations (DSSE envelopes).
pub fn attestation_layers(manifest: &ImageManifest) -> Vec<&Descriptor> {
    manifest
        .layers
        .iter()
        .filter(|layer| layer.media_type == DSSE_ENVELOPE)
        .collect()
}

/// Whether a bundle's statement is an attestation rather than a plain signature (cosign v3 signs with the
/// predicate type [`COSIGN_SIGN_PREDICATE`]).
pub fn is_attestation(statement: &Statement) -> bool {
    statement.predicate_type != COSIGN_SIGN_PREDICATE
}

/// Where an attestation was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layout", rename_all = "camelCase")]
pub enum Source {
    /// A layer of the `sha256-<hex>.att` image.
    AttestationTag {
        /// The layer (envelope) digest.
        layer: Digest,
    },
    /// A Sigstore bundle referrer.
    Referrer {
        /// The referrer manifest's digest.
        manifest: Digest,
        /// The bundle blob's digest, when the manifest could be read.
        #[serde(skip_serializing_if = "Option::is_none")]
        bundle: Option<Digest>,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::AttestationTag { layer } => write!(f, ".att layer {layer}"),
            Source::Referrer { manifest, .. } => write!(f, "bundle referrer {manifest}"),
        }
    }
}

/// One attestation found, and the outcome of checking it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    /// Where it was found.
    pub source: Source,
    /// The statement's predicate type, when the envelope could be read.
    pub predicate_type: Option<String>,
    /// Whether it verified: signature by one of the keys, about the manifest, of the predicate type asked for.
    pub verified: bool,
    /// The key that verified it ([`key_name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Why it did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The statement, when verified (its predicate is the attested document).
    #[serde(skip)]
    pub statement: Option<Statement>,
}

impl Checked {
    /// An attestation that could not even be read.
    pub fn unreadable(source: Source, reason: String) -> Checked {
        Checked {
            source,
            predicate_type: None,
            verified: false,
            signed_by: None,
            reason: Some(reason),
            statement: None,
        }
    }
}

/// The name of a key in reports, as `palisade verify` names it: `sha256:` and the first 16 hex digits of the
/// SHA-256 of its DER encoding.
pub fn key_name(key: &PublicKey) -> String {
    let fingerprint = key.fingerprint();
    format!("sha256:{}", fingerprint.get(..16).unwrap_or(&fingerprint))
}

/// Checks one stored envelope: signed (DSSE PAE) by one of `keys`, its statement about `manifest_digest`, of
/// `wanted` predicate type when given. `hint` is the bundle's key hint, if any: a bundle naming another key is not
/// by that key.
pub fn check_envelope(
    source: Source,
    envelope: &Envelope,
    hint: Option<&str>,
    keys: &[PublicKey],
    manifest_digest: &Digest,
    wanted: Option<&str>,
) -> Checked {
    let statement = match envelope.statement() {
        Ok(statement) => statement,
        Err(e) => return Checked::unreadable(source, e.to_string()),
    };
    let mut checked = Checked {
        source,
        predicate_type: Some(statement.predicate_type.clone()),
        verified: false,
        signed_by: None,
        reason: None,
        statement: None,
    };
    if let Some(wanted) = wanted
        && statement.predicate_type != wanted
    {
        checked.reason = Some(format!(
            "predicate type {}, not the {wanted} asked for",
            statement.predicate_type
        ));
        return checked;
    }
    let mut reasons = Vec::new();
    for key in keys {
        if let Some(hint) = hint
            && !hint.is_empty()
            && hint != key.hint()
        {
            reasons.push(format!(
                "the bundle names another key (hint {hint}) than {}",
                key_name(key)
            ));
            continue;
        }
        match envelope.verify_with_key(key, manifest_digest) {
            Ok(statement) => {
                checked.verified = true;
                checked.signed_by = Some(key_name(key));
                checked.reason = None;
                checked.statement = Some(statement);
                return checked;
            }
            Err(e) => reasons.push(e.to_string()),
        }
    }
    if keys.is_empty() {
        reasons.push("no key to check it with".to_string());
    }
    checked.reason = Some(reasons.join("; "));
    checked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;
    use artifact::cosign::IN_TOTO_JSON;

    fn digest() -> Digest {
        Digest::sha256_of(b"policy manifest")
    }

    fn spdx() -> Value {
        serde_json::json!({"spdxVersion": "SPDX-2.3", "name": "pod-guard"})
    }

    #[test]
    fn predicate_types_are_cosigns() {
        assert_eq!(predicate_type("spdx").unwrap(), "https://spdx.dev/Document");
        assert_eq!(
            predicate_type("spdxjson").unwrap(),
            "https://spdx.dev/Document"
        );
        assert_eq!(
            predicate_type("cyclonedx").unwrap(),
            "https://cyclonedx.org/bom"
        );
        assert_eq!(
            predicate_type("https://slsa.dev/provenance/v1").unwrap(),
            "https://slsa.dev/provenance/v1"
        );
        for bad in ["sbom", "", "1http://x", "https:", "a b:c"] {
            let err = predicate_type(bad).unwrap_err();
            assert!(
                matches!(err, SigningError::PredicateType(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_att_layer_is_cosigns() {
        let key = PrivateKey::generate().unwrap();
        let bundle = sign(&key, "r.example/p", &digest(), SPDX_PREDICATE, spdx());
        let layer = att_layer(&bundle).unwrap();
        assert_eq!(layer.descriptor.media_type, DSSE_ENVELOPE);
        assert!(layer.descriptor.digest.matches(&layer.content));
        let annotations = layer.descriptor.annotations.clone().unwrap();
        assert_eq!(annotations[PREDICATE_TYPE_ANNOTATION], SPDX_PREDICATE);
        assert_eq!(annotations[SIGNATURE_ANNOTATION], "");
        let json: Value = serde_json::from_slice(&layer.content).unwrap();
        assert_eq!(json["payloadType"], IN_TOTO_JSON);
        assert_eq!(json["signatures"][0]["keyid"], "");
        assert!(json["signatures"][0]["sig"].is_string());
        let statement = Envelope::parse(&layer.content)
            .unwrap()
            .statement()
            .unwrap();
        assert_eq!(statement.subject[0].name.as_deref(), Some("r.example/p"));
        assert_eq!(statement.predicate, Some(spdx()));
        let manifest = ImageManifest::new(
            Descriptor::of("application/vnd.oci.image.config.v1+json", b"{}"),
            vec![layer.descriptor.clone()],
        );
        assert_eq!(attestation_layers(&manifest).len(), 1);
    }

    #[test]
    fn checks_key_subject_and_type() {
        let key = PrivateKey::generate().unwrap();
        let bundle = sign(&key, "r.example/p", &digest(), SPDX_PREDICATE, spdx());
        let envelope = bundle.envelope().unwrap();
        let source = Source::AttestationTag { layer: digest() };
        let keys = [key.public_key()];
        let ok = check_envelope(
            source.clone(),
            envelope,
            bundle.key_hint(),
            &keys,
            &digest(),
            Some(SPDX_PREDICATE),
        );
        assert!(ok.verified, "{:?}", ok.reason);
        assert_eq!(ok.signed_by, Some(key_name(&key.public_key())));
        assert_eq!(ok.statement.unwrap().predicate, Some(spdx()));

        let other_type = check_envelope(
            source.clone(),
            envelope,
            None,
            &keys,
            &digest(),
            Some(CYCLONEDX_PREDICATE),
        );
        assert!(!other_type.verified);
        assert!(other_type.reason.unwrap().contains("not the"));

        let other_digest = Digest::sha256_of(b"another policy");
        let replayed = check_envelope(source.clone(), envelope, None, &keys, &other_digest, None);
        assert!(replayed.reason.unwrap().contains("not about"));

        let stranger = [PrivateKey::generate().unwrap().public_key()];
        let wrong_key = check_envelope(
            source.clone(),
            envelope,
            bundle.key_hint(),
            &stranger,
            &digest(),
            None,
        );
        assert!(!wrong_key.verified);
        assert!(wrong_key.reason.unwrap().contains("another key"));
        let wrong_key = check_envelope(source, envelope, None, &stranger, &digest(), None);
        assert!(!wrong_key.verified);
    }

    #[test]
    fn every_byte_of_the_envelope_counts() {
        let key = PrivateKey::generate().unwrap();
        let bundle = sign(&key, "r.example/p", &digest(), SPDX_PREDICATE, spdx());
        let content = att_layer(&bundle).unwrap().content;
        let keys = [key.public_key()];
        for index in 0..content.len() {
            let mut altered = content.clone();
            altered[index] ^= 0x01;
            let verified = Envelope::parse(&altered).is_ok_and(|envelope| {
                check_envelope(
                    Source::AttestationTag { layer: digest() },
                    &envelope,
                    None,
                    &keys,
                    &digest(),
                    None,
                )
                .verified
            });
            assert!(!verified, "byte {index} flipped and still verified");
        }
    }

    #[test]
    fn plain_signatures_are_not_attestations() {
        let key = PrivateKey::generate().unwrap();
        let signature = crate::bundle::sign(&key, &digest(), &BTreeMap::new());
        assert!(!is_attestation(&signature.statement().unwrap()));
        let attestation = sign(&key, "r/p", &digest(), SPDX_PREDICATE, spdx());
        assert!(is_attestation(&attestation.statement().unwrap()));
    }
}
