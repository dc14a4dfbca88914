//! Sigstore bundles v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`), the layout cosign v3 writes by default:
//! a DSSE envelope (payload type `application/vnd.in-toto+json`) around an in-toto v1 statement whose subject is the
//! signed manifest digest, stored as an OCI 1.1 referrer of that manifest.
//!
//! Key-signed bundles carry `verificationMaterial.publicKey.hint` instead of a certificate; the `sigstore` crate
//! verifies only certificate-based bundles, so [`Bundle::verify_with_key`] is our own code on `p256`.
//!
//! To sign: [`sign`] (or [`attest`] for other predicates) makes a [`Bundle`]; [`referrer`] wraps it in the referrer
//! manifest to push (by digest) with its blobs. For registries without the referrers API, also update the
//! fallback index under [`referrers_tag`] with [`merge_referrers_index`].

use std::collections::BTreeMap;

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Blob;
use crate::error::{Result, SigningError};
use crate::keys::{PrivateKey, PublicKey};
use artifact::cosign::{
    BUNDLE_CONTENT_ANNOTATION, BUNDLE_CONTENT_DSSE, BUNDLE_PREDICATE_TYPE_ANNOTATION,
    COSIGN_SIGN_PREDICATE, IN_TOTO_JSON, IN_TOTO_STATEMENT_V1, SIGSTORE_BUNDLE_PREFIX,
    SIGSTORE_BUNDLE_V03,
};

/// A Sigstore bundle (v0.3), in its protobuf JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// Always [`SIGSTORE_BUNDLE_V03`] for bundles this crate writes; v0.1 and v0.2 are read too.
    pub media_type: String,
    /// The key hint or certificate, transparency log entries and timestamps.
    pub verification_material: VerificationMaterial,
    /// The signed content: a DSSE envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
    /// The signed content when it is a plain message signature (not used for policies; kept as read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<Value>,
}

/// `verificationMaterial`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    /// For key-signed bundles: which key (`hint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    /// For keyless bundles: the signing certificate (`rawBytes`, base64 DER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    /// Older bundles' certificate chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<Value>,
    /// Transparency log entries (kept as read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<Value>,
    /// RFC 3161 timestamps (kept as read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<Value>,
}

/// `verificationMaterial.publicKey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicKeyIdentifier {
    /// An opaque name of the key; cosign writes the base64 SHA-256 of its DER encoding ([`PublicKey::hint`]).
    #[serde(default)]
    pub hint: String,
}

/// A protobuf `bytes` field in JSON: `{"rawBytes": "<base64>"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// Base64 content.
    pub raw_bytes: String,
}

/// A DSSE envelope. Unknown fields are refused, so that no byte of a stored envelope can change unnoticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// The payload type, [`IN_TOTO_JSON`] (first, in the field order cosign's DSSE library writes).
    pub payload_type: String,
    /// The base64 payload (the in-toto statement JSON).
    pub payload: String,
    /// The signatures over the pre-authentication encoding; cosign writes exactly one.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// The key id; empty or absent in cosign's bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// The base64 ASN.1 DER ECDSA signature over [`pae`] of the payload.
    pub sig: String,
}

/// An in-toto v1 statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Always [`IN_TOTO_STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about: the policy manifest.
    pub subject: Vec<Subject>,
    /// The predicate type: [`COSIGN_SIGN_PREDICATE`] for signatures, another URI for attestations.
    pub predicate_type: String,
    /// The predicate; absent in cosign's signature statements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<Value>,
}

/// An in-toto resource descriptor (statement subject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    /// A name; cosign leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Digests by algorithm name (`sha256` → hex).
    pub digest: BTreeMap<String, String>,
    /// Annotations: where cosign v3 puts `cosign sign -a key=value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, Value>>,
}

impl Statement {
    /// A statement about `manifest_digest` with `predicate_type`, `annotations` on the subject and an optional
    /// predicate.
    pub fn new(
        manifest_digest: &Digest,
        predicate_type: &str,
        annotations: &BTreeMap<String, String>,
        predicate: Option<Value>,
    ) -> Statement {
        Statement {
            statement_type: IN_TOTO_STATEMENT_V1.to_string(),
            subject: vec![Subject {
                name: None,
                digest: BTreeMap::from([(
                    manifest_digest.algorithm().name().to_string(),
                    manifest_digest.hex().to_string(),
                )]),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            }],
            predicate_type: predicate_type.to_string(),
            predicate,
        }
    }

    /// An attestation statement as `cosign attest` writes it: one subject named after the repository
    /// (`registry/repository`, no tag or digest), its sha256, no annotations, and the predicate.
    pub fn attestation(
        repository: &str,
        manifest_digest: &Digest,
        predicate_type: &str,
        predicate: Value,
    ) -> Statement {
        Statement {
            statement_type: IN_TOTO_STATEMENT_V1.to_string(),
            subject: vec![Subject {
                name: Some(repository.to_string()),
                digest: BTreeMap::from([(
                    manifest_digest.algorithm().name().to_string(),
                    manifest_digest.hex().to_string(),
                )]),
                annotations: None,
            }],
            predicate_type: predicate_type.to_string(),
            predicate: Some(predicate),
        }
    }

    /// Parses a statement and checks its type and that it has subjects with digests.
    pub fn parse(bytes: &[u8]) -> Result<Statement> {
        let statement: Statement = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::MalformedBundle(format!(
                "the DSSE payload is not an in-toto statement: {e}"
            ))
        })?;
        if statement.statement_type != IN_TOTO_STATEMENT_V1 {
            return Err(SigningError::MalformedBundle(format!(
                "statement _type is {:?}, expected {IN_TOTO_STATEMENT_V1:?}",
                statement.statement_type
            )));
        }
        if statement.subject.is_empty() {
            return Err(SigningError::MalformedBundle(
                "the statement has no subject".into(),
            ));
        }
        Ok(statement)
    }

    /// The subject digests, in the algorithms this project knows (others are ignored).
    pub fn subject_digests(&self) -> Vec<Digest> {
        self.subject
            .iter()
            .flat_map(|s| s.digest.iter())
            .filter_map(|(alg, hex)| format!("{alg}:{hex}").parse().ok())
            .collect()
    }

    /// Whether one subject is `digest`.
    pub fn is_about(&self, digest: &Digest) -> bool {
        self.subject_digests().contains(digest)
    }

    /// The annotations of the subject that is `digest` (as text, like simple-signing annotations).
    pub fn annotations_of(&self, digest: &Digest) -> BTreeMap<String, String> {
        self.subject
            .iter()
            .filter(|s| {
                s.digest.get(digest.algorithm().name()).map(String::as_str) == Some(digest.hex())
            })
            .flat_map(|s| s.annotations.iter().flatten())
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

/// The DSSE pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Signs `manifest_digest` the way `cosign sign --key` (v3, bundle format) does: a statement with predicate type
/// [`COSIGN_SIGN_PREDICATE`], `annotations` on its subject.
pub fn sign(
    key: &PrivateKey,
    manifest_digest: &Digest,
    annotations: &BTreeMap<String, String>,
) -> Bundle {
    sign_statement(
        key,
        &Statement::new(manifest_digest, COSIGN_SIGN_PREDICATE, annotations, None),
    )
}

/// Attests `manifest_digest` in `repository` with a predicate of `predicate_type` (an SBOM, provenance…), the way
/// `cosign attest --key` does (see [`Statement::attestation`]).
pub fn attest(
    key: &PrivateKey,
    repository: &str,
    manifest_digest: &Digest,
    predicate_type: &str,
    predicate: Value,
) -> Bundle {
    sign_statement(
        key,
        &Statement::attestation(repository, manifest_digest, predicate_type, predicate),
    )
}

/// Signs any statement into a key-signed bundle.
pub fn sign_statement(key: &PrivateKey, statement: &Statement) -> Bundle {
    let payload = serde_json::to_vec(statement).unwrap_or_default();
    let signature = key.sign(&pae(IN_TOTO_JSON, &payload));
    Bundle {
        media_type: SIGSTORE_BUNDLE_V03.to_string(),
        verification_material: VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: key.public_key().hint(),
            }),
            ..VerificationMaterial::default()
        },
        dsse_envelope: Some(Envelope {
            payload: BASE64.encode(&payload),
            payload_type: IN_TOTO_JSON.to_string(),
            signatures: vec![EnvelopeSignature {
                sig: BASE64.encode(signature),
                keyid: None,
            }],
        }),
        message_signature: None,
    }
}

impl Bundle {
    /// Parses a bundle (the referrer's layer blob), checking its media type.
    pub fn parse(bytes: &[u8]) -> Result<Bundle> {
        let bundle: Bundle = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::MalformedBundle(format!(
                "not Sigstore bundle JSON (truncated or another format?): {e}"
            ))
        })?;
        if !bundle.media_type.starts_with(SIGSTORE_BUNDLE_PREFIX) {
            return Err(SigningError::MalformedBundle(format!(
                "mediaType is {:?}, expected {SIGSTORE_BUNDLE_V03:?}",
                bundle.media_type
            )));
        }
        Ok(bundle)
    }

    /// The JSON bytes to store as the referrer's layer.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The DSSE envelope; an error for message-signature bundles.
    pub fn envelope(&self) -> Result<&Envelope> {
        self.dsse_envelope.as_ref().ok_or_else(|| {
            SigningError::MalformedBundle(
                "the bundle has no dsseEnvelope (only DSSE bundles sign policies)".into(),
            )
        })
    }

    /// The DSSE payload bytes (the statement JSON).
    pub fn payload(&self) -> Result<Vec<u8>> {
        self.envelope()?.payload()
    }

    /// The in-toto statement, checking the envelope's payload type.
    pub fn statement(&self) -> Result<Statement> {
        self.envelope()?.statement()
    }

    /// What the signature is over: the PAE of the payload.
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        self.envelope()?.signed_bytes()
    }

    /// The one DSSE signature, DER-decoded from base64.
    pub fn signature_der(&self) -> Result<Vec<u8>> {
        self.envelope()?.signature_der()
    }

    /// The key hint, for key-signed bundles.
    pub fn key_hint(&self) -> Option<&str> {
        self.verification_material
            .public_key
            .as_ref()
            .map(|k| k.hint.as_str())
    }

    /// The signing certificate's DER, for keyless bundles.
    pub fn certificate_der(&self) -> Result<Option<Vec<u8>>> {
        match &self.verification_material.certificate {
            None => Ok(None),
            Some(raw) => BASE64.decode(&raw.raw_bytes).map(Some).map_err(|e| {
                SigningError::MalformedBundle(format!(
                    "verificationMaterial.certificate is not base64: {e}"
                ))
            }),
        }
    }

    /// Whether the bundle carries no evidence of when it was signed: no transparency-log entry and no RFC 3161
    /// timestamp (a key signature kept off the log).
    pub fn is_unlogged(&self) -> bool {
        let material = &self.verification_material;
        let timestamps = material
            .timestamp_verification_data
            .as_ref()
            .and_then(|data| data["rfc3161Timestamps"].as_array())
            .is_some_and(|list| !list.is_empty());
        material.tlog_entries.is_empty() && !timestamps
    }

    /// Verifies a key-signed bundle: the DSSE signature over the PAE with `key`, and that the statement is about
    /// `manifest_digest`. Returns the statement.
    pub fn verify_with_key(&self, key: &PublicKey, manifest_digest: &Digest) -> Result<Statement> {
        self.envelope()?.verify_with_key(key, manifest_digest)
    }
}

impl Envelope {
    /// Parses an envelope stored on its own (cosign's `.att` layer), refusing unknown fields.
    pub fn parse(bytes: &[u8]) -> Result<Envelope> {
        serde_json::from_slice(bytes).map_err(|e| {
            SigningError::MalformedBundle(format!(
                "not a DSSE envelope (truncated or altered?): {e}"
            ))
        })
    }

    /// The JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The payload bytes (the statement JSON).
    pub fn payload(&self) -> Result<Vec<u8>> {
        BASE64.decode(&self.payload).map_err(|e| {
            SigningError::MalformedBundle(format!("dsseEnvelope.payload is not base64: {e}"))
        })
    }

    /// The in-toto statement, checking the payload type.
    pub fn statement(&self) -> Result<Statement> {
        if self.payload_type != IN_TOTO_JSON {
            return Err(SigningError::MalformedBundle(format!(
                "dsseEnvelope.payloadType is {:?}, expected {IN_TOTO_JSON:?}",
                self.payload_type
            )));
        }
        Statement::parse(&self.payload()?)
    }

    /// What the signature is over: the PAE of the payload.
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        Ok(pae(&self.payload_type, &self.payload()?))
    }

    /// The one signature, DER-decoded from base64.
    pub fn signature_der(&self) -> Result<Vec<u8>> {
        let [signature] = self.signatures.as_slice() else {
            return Err(SigningError::MalformedBundle(format!(
                "the DSSE envelope has {} signatures, expected exactly 1",
                self.signatures.len()
            )));
        };
        BASE64.decode(&signature.sig).map_err(|e| {
            SigningError::MalformedSignature(format!("the DSSE signature is not base64: {e}"))
        })
    }

    /// Verifies the signature over the PAE with `key`, and that the statement is about `manifest_digest`.
    /// Returns the statement.
    pub fn verify_with_key(&self, key: &PublicKey, manifest_digest: &Digest) -> Result<Statement> {
        let statement = self.statement()?;
        key.verify(&self.signed_bytes()?, &self.signature_der()?)?;
        if !statement.is_about(manifest_digest) {
            return Err(SigningError::BadSignature(format!(
                "the statement is about {} and not about {manifest_digest} (a signature of another artifact)",
                statement
                    .subject_digests()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(statement)
    }
}

/// What to push to attach an artifact (a bundle, a precompiled module) as a referrer: the blobs, then the manifest
/// by its digest.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// The referrer manifest.
    pub manifest: ImageManifest,
    /// Its JSON, the bytes to push (media type [`oci_types::OCI_MANIFEST`]), by digest.
    pub manifest_bytes: Vec<u8>,
    /// The digest of `manifest_bytes`: push the manifest under this reference.
    pub manifest_digest: Digest,
    /// The empty config and the bundle blob.
    pub blobs: Vec<Blob>,
}

impl Referrer {
    /// The descriptor of this referrer as a referrers index lists it (with `artifactType` and annotations).
    pub fn index_descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: oci_types::OCI_MANIFEST.to_string(),
            digest: self.manifest_digest.clone(),
            size: self.manifest_bytes.len() as u64,
            artifact_type: self.manifest.artifact_type.clone(),
            annotations: self.manifest.annotations.clone(),
            urls: None,
        }
    }
}

/// The referrer manifest of `bundle` for the manifest `subject` (its media type, digest and size): empty config,
/// `artifactType` and layer of the bundle type, and cosign's annotations. `created` (RFC 3339), when given, is
/// recorded as `org.opencontainers.image.created` as cosign does.
pub fn referrer(bundle: &Bundle, subject: Descriptor, created: Option<&str>) -> Result<Referrer> {
    let statement = bundle.statement()?;
    if !statement.is_about(&subject.digest) {
        return Err(SigningError::MalformedBundle(format!(
            "the bundle's statement is not about the subject {}",
            subject.digest
        )));
    }
    let content = bundle.to_bytes();
    let config = Descriptor::of(oci_types::OCI_EMPTY, oci_types::EMPTY_JSON);
    let layer = Descriptor::of(SIGSTORE_BUNDLE_V03, &content);
    let mut annotations = BTreeMap::from([
        (
            BUNDLE_CONTENT_ANNOTATION.to_string(),
            BUNDLE_CONTENT_DSSE.to_string(),
        ),
        (
            BUNDLE_PREDICATE_TYPE_ANNOTATION.to_string(),
            statement.predicate_type.clone(),
        ),
    ]);
    if let Some(created) = created {
        annotations.insert(
            artifact::oci::policy::CREATED_ANNOTATION.to_string(),
            created.to_string(),
        );
    }
    let mut manifest = ImageManifest::new(config.clone(), vec![layer.clone()]);
    manifest.artifact_type = Some(SIGSTORE_BUNDLE_V03.to_string());
    manifest.subject = Some(Descriptor {
        artifact_type: None,
        annotations: None,
        urls: None,
        ..subject
    });
    manifest.annotations = Some(annotations);
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| SigningError::MalformedManifest(format!("cannot serialize: {e}")))?;
    Ok(Referrer {
        manifest_digest: Digest::sha256_of(&manifest_bytes),
        manifest,
        manifest_bytes,
        blobs: vec![
            Blob {
                descriptor: config,
                content: oci_types::EMPTY_JSON.to_vec(),
            },
            Blob {
                descriptor: layer,
                content,
            },
        ],
    })
}

/// Whether a descriptor of a referrers index (from the API or the fallback tag) is a Sigstore bundle.
pub fn is_bundle_referrer(descriptor: &Descriptor) -> bool {
    descriptor.artifact_type.as_deref() == Some(SIGSTORE_BUNDLE_V03)
}

/// The bundle layer of a referrer manifest: the blob to fetch for verification.
pub fn bundle_layer(manifest: &ImageManifest) -> Result<&Descriptor> {
    let mut layers = manifest
        .layers
        .iter()
        .filter(|l| l.media_type.starts_with(SIGSTORE_BUNDLE_PREFIX));
    match (layers.next(), layers.next()) {
        (Some(layer), None) => Ok(layer),
        (None, _) => Err(SigningError::MalformedManifest(format!(
            "the referrer has no {SIGSTORE_BUNDLE_V03} layer"
        ))),
        (Some(_), Some(_)) => Err(SigningError::MalformedManifest(
            "the referrer has more than one bundle layer".into(),
        )),
    }
}

/// An OCI image index, as the referrers API and the fallback tag return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// [`oci_types::OCI_INDEX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The listed manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageIndex {
    /// Parses an index (the referrers API answer or the fallback tag's content).
    pub fn parse(bytes: &[u8]) -> Result<ImageIndex> {
        serde_json::from_slice(bytes)
            .map_err(|e| SigningError::MalformedManifest(format!("not an OCI image index: {e}")))
    }
}

/// Adds `referrer` to the fallback referrers index (`existing`, the content of [`referrers_tag`] if any), keeping
/// every entry; returns the index bytes to push under that tag.
pub fn merge_referrers_index(existing: Option<&[u8]>, referrer: &Descriptor) -> Result<Vec<u8>> {
    let mut index = match existing {
        Some(bytes) => ImageIndex::parse(bytes)?,
        None => ImageIndex {
            schema_version: 2,
            media_type: Some(oci_types::OCI_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: None,
        },
    };
    if !index.manifests.iter().any(|m| m.digest == referrer.digest) {
        index.manifests.push(referrer.clone());
    }
    serde_json::to_vec(&index)
        .map_err(|e| SigningError::MalformedManifest(format!("cannot serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::sha256_of(b"policy manifest")
    }

    #[test]
    fn pae_matches_the_dsse_specification() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let key = PrivateKey::generate().unwrap();
        let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let bundle = sign(&key, &digest(), &annotations);
        let bytes = bundle.to_bytes();
        let parsed = Bundle::parse(&bytes).unwrap();
        assert_eq!(parsed, bundle);
        assert_eq!(parsed.key_hint(), Some(key.public_key().hint().as_str()));
        let statement = parsed
            .verify_with_key(&key.public_key(), &digest())
            .unwrap();
        assert_eq!(statement.predicate_type, COSIGN_SIGN_PREDICATE);
        assert_eq!(statement.annotations_of(&digest()), annotations);

        let other = Digest::sha256_of(b"another policy");
        let err = parsed
            .verify_with_key(&key.public_key(), &other)
            .unwrap_err();
        assert!(err.to_string().contains("not about"), "{err}");
        let stranger = PrivateKey::generate().unwrap().public_key();
        assert!(parsed.verify_with_key(&stranger, &digest()).is_err());
    }

    #[test]
    fn json_shape_is_the_protobuf_json() {
        let key = PrivateKey::generate().unwrap();
        let value: Value =
            serde_json::from_slice(&sign(&key, &digest(), &BTreeMap::new()).to_bytes()).unwrap();
        assert_eq!(value["mediaType"], SIGSTORE_BUNDLE_V03);
        assert!(value["verificationMaterial"]["publicKey"]["hint"].is_string());
        assert_eq!(value["dsseEnvelope"]["payloadType"], IN_TOTO_JSON);
        assert!(value["dsseEnvelope"]["signatures"][0]["sig"].is_string());
        let payload = BASE64
            .decode(value["dsseEnvelope"]["payload"].as_str().unwrap())
            .unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["_type"], IN_TOTO_STATEMENT_V1);
        assert_eq!(statement["subject"][0]["digest"]["sha256"], digest().hex());
        assert!(statement.get("predicate").is_none());
    }

    #[test]
    fn tampering_is_detected() {
        let key = PrivateKey::generate().unwrap();
        let bundle = sign(&key, &digest(), &BTreeMap::new());
        // Payload replaced by a statement about the same digest with other annotations.
        let mut altered = bundle.clone();
        let forged = Statement::new(
            &digest(),
            COSIGN_SIGN_PREDICATE,
            &BTreeMap::from([("x".into(), "y".into())]),
            None,
        );
        altered.dsse_envelope.as_mut().unwrap().payload =
            BASE64.encode(serde_json::to_vec(&forged).unwrap());
        assert!(matches!(
            altered
                .verify_with_key(&key.public_key(), &digest())
                .unwrap_err(),
            SigningError::BadSignature(_)
        ));
        // Payload type changed: the PAE differs, and the type is refused.
        let mut altered = bundle.clone();
        altered.dsse_envelope.as_mut().unwrap().payload_type = "text/plain".into();
        assert!(
            altered
                .verify_with_key(&key.public_key(), &digest())
                .is_err()
        );
        // Two signatures: refused.
        let mut altered = bundle.clone();
        let sig = altered.dsse_envelope.as_ref().unwrap().signatures[0].clone();
        altered.dsse_envelope.as_mut().unwrap().signatures.push(sig);
        let err = altered
            .verify_with_key(&key.public_key(), &digest())
            .unwrap_err();
        assert!(err.to_string().contains("exactly 1"), "{err}");
        // Truncated JSON.
        let bytes = bundle.to_bytes();
        let err = Bundle::parse(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn attestations_carry_their_predicate() {
        let key = PrivateKey::generate().unwrap();
        let bundle = attest(
            &key,
            "registry.example/policies/p",
            &digest(),
            "https://spdx.dev/Document",
            serde_json::json!({"spdxVersion": "SPDX-2.3"}),
        );
        let statement = bundle
            .verify_with_key(&key.public_key(), &digest())
            .unwrap();
        assert_eq!(statement.predicate_type, "https://spdx.dev/Document");
        assert_eq!(statement.predicate.unwrap()["spdxVersion"], "SPDX-2.3");
        assert_eq!(
            statement.subject[0].name.as_deref(),
            Some("registry.example/policies/p")
        );
        assert_eq!(statement.subject[0].annotations, None);
    }

    #[test]
    fn referrer_manifest_is_cosigns_layout() {
        let key = PrivateKey::generate().unwrap();
        let subject = Descriptor::of(oci_types::OCI_MANIFEST, b"policy manifest");
        let bundle = sign(&key, &subject.digest, &BTreeMap::new());
        let referrer = referrer(&bundle, subject.clone(), Some("2026-11-25T00:00:00Z")).unwrap();
        let m = &referrer.manifest;
        assert_eq!(m.artifact_type.as_deref(), Some(SIGSTORE_BUNDLE_V03));
        assert_eq!(m.config.media_type, oci_types::OCI_EMPTY);
        assert_eq!(
            m.config.digest.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m.config.size, 2);
        assert_eq!(m.subject.as_ref().unwrap().digest, subject.digest);
        let annotations = m.annotations.as_ref().unwrap();
        assert_eq!(annotations[BUNDLE_CONTENT_ANNOTATION], "dsse-envelope");
        assert_eq!(
            annotations[BUNDLE_PREDICATE_TYPE_ANNOTATION],
            COSIGN_SIGN_PREDICATE
        );
        assert_eq!(bundle_layer(m).unwrap().media_type, SIGSTORE_BUNDLE_V03);
        assert!(referrer.manifest_digest.matches(&referrer.manifest_bytes));
        assert!(is_bundle_referrer(&referrer.index_descriptor()));

        let other = Descriptor::of(oci_types::OCI_MANIFEST, b"another");
        assert!(super::referrer(&bundle, other, None).is_err());

        let index = merge_referrers_index(None, &referrer.index_descriptor()).unwrap();
        let again = merge_referrers_index(Some(&index), &referrer.index_descriptor()).unwrap();
        assert_eq!(ImageIndex::parse(&again).unwrap().manifests.len(), 1);
    }
}
