//! Cosign's simple-signing layout: the payload that names the signed manifest digest, its ECDSA signature, and the
//! signature image stored under the tag `sha256-<hex>.sig` beside the signed manifest (what Kubewarden reads).
//!
//! Signing is three steps for the caller: [`sign`] makes a [`Signature`]; [`merge`] adds it to the signature
//! manifest the registry has now (or to none) and returns every blob and the manifest to push; after pushing,
//! re-read the tag and call [`missing`] to detect a concurrent signer that overwrote it (then merge again).

use std::collections::BTreeMap;

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;

use crate::Blob;
use crate::error::{Result, SigningError};
use crate::keys::PrivateKey;
use artifact::cosign::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, RFC3161_TIMESTAMP_ANNOTATION,
    SIGNATURE_ANNOTATION, SIGSTORE_BUNDLE_V01, SIMPLE_SIGNING, SIMPLE_SIGNING_TYPE,
};

/// The simple-signing payload, field for field as cosign writes and reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// What the signature is about.
    pub critical: Critical,
    /// Free-form annotations (`cosign sign -a key=value`); `null` when there are none, as cosign writes.
    pub optional: Option<BTreeMap<String, Value>>,
}

/// The `critical` part of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository that was signed.
    pub identity: Identity,
    /// The manifest that was signed.
    pub image: Image,
    /// Always `cosign container image signature`.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Identity {
    /// The repository, without tag or digest (`ghcr.io/org/policy`), as cosign writes it.
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Image {
    /// The signed manifest's digest (`sha256:<hex>`).
    pub docker_manifest_digest: String,
}

impl Payload {
    /// The payload for `manifest_digest` in `docker_reference` (the repository, without tag or digest), with
    /// `annotations` as its `optional` part.
    pub fn new(
        docker_reference: &str,
        manifest_digest: &Digest,
        annotations: &BTreeMap<String, String>,
    ) -> Payload {
        let optional = if annotations.is_empty() {
            None
        } else {
            Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        Payload {
            critical: Critical {
                identity: Identity {
                    docker_reference: docker_reference.to_string(),
                },
                image: Image {
                    docker_manifest_digest: manifest_digest.to_string(),
                },
                type_name: SIMPLE_SIGNING_TYPE.to_string(),
            },
            optional,
        }
    }

    /// Parses a payload, checking its type and digest.
    pub fn parse(bytes: &[u8]) -> Result<Payload> {
        let payload: Payload = serde_json::from_slice(bytes).map_err(|e| {
            SigningError::MalformedPayload(format!(
                "expected cosign's JSON {{\"critical\": …, \"optional\": …}}: {e}"
            ))
        })?;
        if payload.critical.type_name != SIMPLE_SIGNING_TYPE {
            return Err(SigningError::MalformedPayload(format!(
                "critical.type is {:?}, expected {SIMPLE_SIGNING_TYPE:?}",
                payload.critical.type_name
            )));
        }
        payload.manifest_digest()?;
        Ok(payload)
    }

    /// The JSON bytes, compact, in cosign's field order (what gets signed and stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain strings and maps to a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The signed manifest digest.
    pub fn manifest_digest(&self) -> Result<Digest> {
        self.critical
            .image
            .docker_manifest_digest
            .parse()
            .map_err(|e| {
                SigningError::MalformedPayload(format!(
                    "critical.image.docker-manifest-digest: {e}"
                ))
            })
    }

    /// The `optional` annotations as strings (numbers and booleans as their JSON text, as cosign compares them).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.optional
            .iter()
            .flatten()
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

/// One simple-signing signature: the payload bytes (the layer blob) and the layer annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The payload, exactly as stored in the layer blob and as signed.
    pub payload: Vec<u8>,
    /// The base64 ASN.1 DER ECDSA signature over `payload`.
    pub signature: String,
    /// The signing certificate (PEM), for keyless signatures.
    pub certificate: Option<String>,
    /// The certificate chain (PEM), for keyless signatures.
    pub chain: Option<String>,
    /// The Rekor bundle (JSON), when the signature was logged.
    pub bundle: Option<String>,
    /// The RFC 3161 timestamp (JSON), when one was taken.
    pub rfc3161_timestamp: Option<String>,
}

impl Signature {
    /// The layer annotations cosign writes for this signature.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        annotations.insert(SIGNATURE_ANNOTATION.to_string(), self.signature.clone());
        for (key, value) in [
            (CERTIFICATE_ANNOTATION, &self.certificate),
            (CHAIN_ANNOTATION, &self.chain),
            (BUNDLE_ANNOTATION, &self.bundle),
            (RFC3161_TIMESTAMP_ANNOTATION, &self.rfc3161_timestamp),
        ] {
            if let Some(value) = value {
                annotations.insert(key.to_string(), value.clone());
            }
        }
        annotations
    }

    /// The layer descriptor of this signature in the signature manifest.
    pub fn descriptor(&self) -> Descriptor {
        let mut descriptor = Descriptor::of(SIMPLE_SIGNING, &self.payload);
        descriptor.annotations = Some(self.annotations());
        descriptor
    }

    /// Reads a signature from a layer of a signature manifest and its blob, checking the blob's digest and size
    /// against the descriptor and the layer's media type.
    pub fn from_layer(descriptor: &Descriptor, blob: &[u8]) -> Result<Signature> {
        if descriptor.media_type != SIMPLE_SIGNING {
            return Err(SigningError::MalformedManifest(format!(
                "layer {} has media type {:?}, expected {SIMPLE_SIGNING:?}",
                descriptor.digest, descriptor.media_type
            )));
        }
        if !descriptor.digest.matches(blob) || descriptor.size != blob.len() as u64 {
            return Err(SigningError::LayerDigestMismatch {
                digest: descriptor.digest.to_string(),
            });
        }
        let annotations = descriptor.annotations.clone().unwrap_or_default();
        let signature = annotations
            .get(SIGNATURE_ANNOTATION)
            .cloned()
            .ok_or_else(|| {
                SigningError::MalformedManifest(format!(
                    "layer {} has no {SIGNATURE_ANNOTATION} annotation",
                    descriptor.digest
                ))
            })?;
        Ok(Signature {
            payload: blob.to_vec(),
            signature,
            certificate: annotations.get(CERTIFICATE_ANNOTATION).cloned(),
            chain: annotations.get(CHAIN_ANNOTATION).cloned(),
            bundle: annotations.get(BUNDLE_ANNOTATION).cloned(),
            rfc3161_timestamp: annotations.get(RFC3161_TIMESTAMP_ANNOTATION).cloned(),
        })
    }

    /// The parsed payload.
    pub fn parsed_payload(&self) -> Result<Payload> {
        Payload::parse(&self.payload)
    }

    /// The Sigstore bundle (v0.1, a message signature over the payload) that this keyless layer's annotations
    /// make, so that the one Sigstore verifier checks it: the certificate and chain, the Rekor bundle as the log
    /// entry with its inclusion promise, and the RFC 3161 timestamp. The error names the annotation that is
    /// missing or malformed.
    pub fn to_sigstore_bundle(&self) -> std::result::Result<Vec<u8>, String> {
        let certificate = self
            .certificate
            .as_deref()
            .ok_or("no certificate: not a keyless signature")?;
        let certificates = [Some(certificate), self.chain.as_deref()]
            .into_iter()
            .flatten()
            .map(|text| pem::parse_many(text.as_bytes()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                format!(
                    "the {CERTIFICATE_ANNOTATION} or {CHAIN_ANNOTATION} annotation is not PEM: {e}"
                )
            })?
            .into_iter()
            .flatten()
            .filter(|block| block.tag() == "CERTIFICATE")
            .map(|block| serde_json::json!({"rawBytes": BASE64.encode(block.contents())}))
            .collect::<Vec<_>>();
        let tlog_entries = match &self.bundle {
            Some(text) => vec![rekor_bundle_entry(text)?],
            None => Vec::new(),
        };
        let timestamps = match &self.rfc3161_timestamp {
            Some(text) => {
                let value: Value = serde_json::from_str(text).map_err(|e| {
                    format!("the {RFC3161_TIMESTAMP_ANNOTATION} annotation is not JSON: {e}")
                })?;
                let token = value["SignedRFC3161Timestamp"].as_str().ok_or(format!(
                    "the {RFC3161_TIMESTAMP_ANNOTATION} annotation has no SignedRFC3161Timestamp"
                ))?;
                vec![serde_json::json!({"signedTimestamp": token})]
            }
            None => Vec::new(),
        };
        let bundle = serde_json::json!({
            "mediaType": SIGSTORE_BUNDLE_V01,
            "verificationMaterial": {
                "x509CertificateChain": {"certificates": certificates},
                "tlogEntries": tlog_entries,
                "timestampVerificationData": {"rfc3161Timestamps": timestamps},
            },
            "messageSignature": {
                "messageDigest": {
                    "algorithm": "SHA2_256",
                    "digest": BASE64.encode(sha2::Sha256::digest(&self.payload)),
                },
                "signature": self.signature.trim(),
            },
        });
        serde_json::to_vec(&bundle).map_err(|e| e.to_string())
    }

    /// The DER signature bytes.
    pub fn signature_der(&self) -> Result<Vec<u8>> {
        BASE64.decode(self.signature.trim()).map_err(|e| {
            SigningError::MalformedSignature(format!("{SIGNATURE_ANNOTATION} is not base64: {e}"))
        })
    }
}

/// The transparency-log entry of a Sigstore bundle made from cosign's Rekor bundle annotation
/// (`{"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex", "logID"}}`).
fn rekor_bundle_entry(text: &str) -> std::result::Result<Value, String> {
    let malformed = |what: &str| format!("the {BUNDLE_ANNOTATION} annotation: {what}");
    let bundle: Value =
        serde_json::from_str(text).map_err(|e| malformed(&format!("not JSON: {e}")))?;
    let entry = &bundle["Payload"];
    let body_text = entry["body"]
        .as_str()
        .ok_or_else(|| malformed("no Payload.body"))?;
    let body: Value = BASE64
        .decode(body_text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| malformed("Payload.body is not base64 JSON"))?;
    let number = |name: &str| {
        entry[name]
            .as_i64()
            .map(|n| n.to_string())
            .ok_or_else(|| malformed(&format!("no Payload.{name}")))
    };
    let log_id = entry["logID"]
        .as_str()
        .and_then(|id| hex::decode(id).ok())
        .ok_or_else(|| malformed("Payload.logID is not hex"))?;
    Ok(serde_json::json!({
        "logIndex": number("logIndex")?,
        "logId": {"keyId": BASE64.encode(log_id)},
        "kindVersion": {"kind": body["kind"], "version": body["apiVersion"]},
        "integratedTime": number("integratedTime")?,
        "inclusionPromise": {
            "signedEntryTimestamp": bundle["SignedEntryTimestamp"]
                .as_str()
                .ok_or_else(|| malformed("no SignedEntryTimestamp"))?,
        },
        "canonicalizedBody": body_text,
    }))
}

/// Signs `manifest_digest` in `docker_reference` (the repository, without tag or digest) with `key`, with
/// `annotations` in the payload's `optional` part, the way `cosign sign --key` does.
pub fn sign(
    key: &PrivateKey,
    docker_reference: &str,
    manifest_digest: &Digest,
    annotations: &BTreeMap<String, String>,
) -> Signature {
    let payload = Payload::new(docker_reference, manifest_digest, annotations).to_bytes();
    let signature = BASE64.encode(key.sign(&payload));
    Signature {
        payload,
        signature,
        certificate: None,
        chain: None,
        bundle: None,
        rfc3161_timestamp: None,
    }
}

/// Parses a signature manifest fetched from the `.sig` tag.
pub fn parse_manifest(bytes: &[u8]) -> Result<ImageManifest> {
    let manifest: ImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| SigningError::MalformedManifest(format!("not an OCI image manifest: {e}")))?;
    if manifest.schema_version != 2 {
        return Err(SigningError::MalformedManifest(format!(
            "schemaVersion is {}, expected 2",
            manifest.schema_version
        )));
    }
    Ok(manifest)
}

/// The layers of a signature manifest that hold simple-signing signatures: the blobs to fetch for verification.
pub fn signature_layers(manifest: &ImageManifest) -> Vec<&Descriptor> {
    manifest
        .layers
        .iter()
        .filter(|layer| layer.media_type == SIMPLE_SIGNING)
        .collect()
}

/// What to push to store signatures: blobs first, then the manifest under [`signature_tag`].
#[derive(Debug, Clone)]
pub struct SignatureImage {
    /// The merged manifest.
    pub manifest: ImageManifest,
    /// The manifest's JSON, the bytes to push (media type [`oci_types::OCI_MANIFEST`]).
    pub manifest_bytes: Vec<u8>,
    /// The digest of `manifest_bytes`.
    pub manifest_digest: Digest,
    /// The blobs to push before the manifest (the config and the new signatures' payloads); a blob the registry
    /// already has can be skipped.
    pub blobs: Vec<Blob>,
    /// How many of the given signatures were new (0: the manifest already had them all; nothing needs pushing).
    pub added: usize,
}

/// The config blob cosign writes for a signature image: an image config whose `rootfs.diff_ids` list the layers.
fn config_blob(layers: &[Descriptor]) -> Vec<u8> {
    let created = "0001-01-01T00:00:00Z";
    let config = serde_json::json!({
        "architecture": "",
        "created": created,
        "history": layers.iter().map(|_| serde_json::json!({"created": created})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(),
        },
        "config": {},
    });
    serde_json::to_vec(&config).unwrap_or_default()
}

fn same_layer(a: &Descriptor, b: &Descriptor) -> bool {
    a.digest == b.digest && a.media_type == b.media_type && a.annotations == b.annotations
}

/// Merges `signatures` into the signature manifest `existing` (the one at the `.sig` tag now, if any): every
/// layer of `existing` is kept, in order, whatever its kind; each new signature is appended unless an identical
/// layer (same payload, same annotations) is there already.
pub fn merge(existing: Option<&ImageManifest>, signatures: &[Signature]) -> Result<SignatureImage> {
    merge_layers(existing, &layers_of(signatures))
}

/// The signatures of `signatures` that `manifest` does not hold: after pushing, re-read the `.sig` tag; if this is
/// not empty another signer replaced the manifest in between, so [`merge`] into what is there now and push again.
pub fn missing<'a>(manifest: &ImageManifest, signatures: &'a [Signature]) -> Vec<&'a Signature> {
    signatures
        .iter()
        .filter(|s| {
            let descriptor = s.descriptor();
            !manifest.layers.iter().any(|l| same_layer(l, &descriptor))
        })
        .collect()
}

/// Each signature as the layer (descriptor with annotations) and blob it is stored as.
pub fn layers_of(signatures: &[Signature]) -> Vec<Blob> {
    signatures
        .iter()
        .map(|s| Blob {
            descriptor: s.descriptor(),
            content: s.payload.clone(),
        })
        .collect()
}

/// Merges layers (descriptor with annotations, and content) into the cosign signature-image manifest `existing`
/// (`.sig` or `.att`): every layer of `existing` is kept, in order, whatever its kind; each new layer is appended
/// unless an identical one (same digest, media type and annotations) is there already. The config lists every
/// layer, as cosign writes it.
pub fn merge_layers(existing: Option<&ImageManifest>, new: &[Blob]) -> Result<SignatureImage> {
    let mut layers: Vec<Descriptor> = existing.map(|m| m.layers.clone()).unwrap_or_default();
    let mut blobs = Vec::new();
    let mut added = 0;
    for layer in new {
        if layers.iter().any(|l| same_layer(l, &layer.descriptor)) {
            continue;
        }
        if !blobs
            .iter()
            .any(|b: &Blob| b.descriptor.digest == layer.descriptor.digest)
        {
            blobs.push(layer.clone());
        }
        layers.push(layer.descriptor.clone());
        added += 1;
    }
    let config = config_blob(&layers);
    let config_descriptor = Descriptor::of(oci_types::OCI_CONFIG, &config);
    let mut manifest = ImageManifest::new(config_descriptor.clone(), layers);
    if let Some(existing) = existing {
        manifest.annotations = existing.annotations.clone();
        manifest.subject = existing.subject.clone();
    }
    blobs.insert(
        0,
        Blob {
            descriptor: config_descriptor,
            content: config,
        },
    );
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| SigningError::MalformedManifest(format!("cannot serialize: {e}")))?;
    Ok(SignatureImage {
        manifest_digest: Digest::sha256_of(&manifest_bytes),
        manifest,
        manifest_bytes,
        blobs,
        added,
    })
}

/// The layers of `layers` that `manifest` does not hold (see [`missing`]).
pub fn missing_layers<'a>(manifest: &ImageManifest, layers: &'a [Blob]) -> Vec<&'a Blob> {
    layers
        .iter()
        .filter(|layer| {
            !manifest
                .layers
                .iter()
                .any(|l| same_layer(l, &layer.descriptor))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"
            .parse()
            .unwrap()
    }

    #[test]
    fn payload_is_byte_for_byte_cosigns() {
        let bytes = Payload::new(
            "registry-testing.svc.lan/busybox",
            &digest(),
            &BTreeMap::new(),
        )
        .to_bytes();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"registry-testing.svc.lan/busybox"},"image":{"docker-manifest-digest":"sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"},"type":"cosign container image signature"},"optional":null}"#
        );
        let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let payload = Payload::new("r/p", &digest(), &annotations);
        let text = String::from_utf8(payload.to_bytes()).unwrap();
        assert!(text.ends_with(r#""optional":{"env":"prod"}}"#), "{text}");
        assert_eq!(
            Payload::parse(text.as_bytes()).unwrap().annotations(),
            annotations
        );
    }

    #[test]
    fn parse_rejects_other_types_and_bad_digests() {
        let mut payload = Payload::new("r/p", &digest(), &BTreeMap::new());
        payload.critical.type_name = "something else".into();
        let err = Payload::parse(&payload.to_bytes()).unwrap_err();
        assert!(err.to_string().contains("critical.type"), "{err}");
        let mut payload = Payload::new("r/p", &digest(), &BTreeMap::new());
        payload.critical.image.docker_manifest_digest = "sha256:abc".into();
        let err = Payload::parse(&payload.to_bytes()).unwrap_err();
        assert!(err.to_string().contains("docker-manifest-digest"), "{err}");
        assert!(Payload::parse(b"{").is_err());
    }

    #[test]
    fn non_string_annotations_compare_as_text() {
        let payload = Payload::parse(
            br#"{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"},"type":"cosign container image signature"},"optional":{"n":1,"b":true}}"#,
        )
        .unwrap();
        assert_eq!(payload.annotations()["n"], "1");
        assert_eq!(payload.annotations()["b"], "true");
    }

    #[test]
    fn merge_appends_dedupes_and_keeps_everything() {
        let key = PrivateKey::generate().unwrap();
        let first = sign(&key, "r/p", &digest(), &BTreeMap::new());
        let image = merge(None, std::slice::from_ref(&first)).unwrap();
        assert_eq!(image.added, 1);
        assert_eq!(image.manifest.layers.len(), 1);
        assert_eq!(image.blobs.len(), 2, "config and payload");
        assert_eq!(image.manifest.config.media_type, oci_types::OCI_CONFIG);
        assert_eq!(
            image.manifest.media_type.as_deref(),
            Some(oci_types::OCI_MANIFEST)
        );
        assert!(image.manifest_digest.matches(&image.manifest_bytes));

        // Signing the same payload again with the same key makes the same signature (RFC 6979's
        // deterministic nonces), so a second `sign` adds nothing.
        let resigned = sign(&key, "r/p", &digest(), &BTreeMap::new());
        assert_eq!(resigned, first);
        let again = merge(Some(&image.manifest), std::slice::from_ref(&resigned)).unwrap();
        assert_eq!(again.added, 0);
        assert_eq!(again.manifest.layers, image.manifest.layers);

        // A second signature over the same payload (another key): kept beside the first.
        let other = PrivateKey::generate().unwrap();
        let second = sign(&other, "r/p", &digest(), &BTreeMap::new());
        assert_eq!(second.payload, first.payload);
        let merged = merge(Some(&image.manifest), std::slice::from_ref(&second)).unwrap();
        assert_eq!(merged.added, 1);
        assert_eq!(merged.manifest.layers.len(), 2);
        assert_eq!(merged.manifest.layers[0], image.manifest.layers[0]);
        assert!(missing(&merged.manifest, &[first.clone(), second.clone()]).is_empty());
        assert_eq!(
            missing(&image.manifest, &[first, second.clone()]),
            vec![&second]
        );

        // The config lists every layer.
        let config: Value = serde_json::from_slice(&merged.blobs[0].content).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

        // Layers read back as the signatures they were made from.
        let layer = &merged.manifest.layers[1];
        let read = Signature::from_layer(layer, &second.payload).unwrap();
        assert_eq!(read, second);
    }

    #[test]
    fn merge_keeps_foreign_layers() {
        let foreign = Descriptor::of("application/vnd.example+json", b"x");
        let existing = ImageManifest::new(
            Descriptor::of(oci_types::OCI_CONFIG, b"{}"),
            vec![foreign.clone()],
        );
        let key = PrivateKey::generate().unwrap();
        let merged = merge(
            Some(&existing),
            &[sign(&key, "r/p", &digest(), &BTreeMap::new())],
        )
        .unwrap();
        assert_eq!(merged.manifest.layers[0], foreign);
        assert_eq!(signature_layers(&merged.manifest).len(), 1);
    }

    #[test]
    fn from_layer_checks_content_and_annotations() {
        let key = PrivateKey::generate().unwrap();
        let signature = sign(&key, "r/p", &digest(), &BTreeMap::new());
        let descriptor = signature.descriptor();
        let err = Signature::from_layer(&descriptor, b"other bytes").unwrap_err();
        assert!(
            matches!(err, SigningError::LayerDigestMismatch { .. }),
            "{err}"
        );
        let mut bare = descriptor.clone();
        bare.annotations = None;
        let err = Signature::from_layer(&bare, &signature.payload).unwrap_err();
        assert!(
            err.to_string()
                .contains("no dev.cosignproject.cosign/signature"),
            "{err}"
        );
        let mut other = descriptor;
        other.media_type = "application/octet-stream".into();
        assert!(Signature::from_layer(&other, &signature.payload).is_err());
    }
}
