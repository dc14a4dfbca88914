//! The bad inputs and faults of issue 5, through the public API: each fails verification with a message naming
//! the check that failed, and none panics.

use std::collections::BTreeMap;

use artifact::cosign::SIGSTORE_BUNDLE_V03;
use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signing::SigningError;
use signing::bundle::{self, Bundle};
use signing::config::VerificationConfig;
use signing::keys::{PrivateKey, PublicKey};
use signing::simple_signing::{self, Signature};
use signing::verify::{Evidence, evaluate, verify};

struct Policy {
    manifest: Vec<u8>,
    digest: Digest,
    key: PrivateKey,
}

fn policy() -> Policy {
    let wasm = b"\0asm\x01\0\0\0";
    let manifest = ImageManifest::new(
        Descriptor::of(oci_types::WASM_CONFIG, b"{}"),
        vec![Descriptor::of(oci_types::WASM_LAYER, wasm)],
    );
    let manifest = serde_json::to_vec(&manifest).unwrap();
    Policy {
        digest: Digest::sha256_of(&manifest),
        manifest,
        key: PrivateKey::generate().unwrap(),
    }
}

fn config(key: &PublicKey, annotations: &[(&str, &str)]) -> VerificationConfig {
    let annotations = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    VerificationConfig::for_keys(&[key.to_pem()], &annotations).unwrap()
}

/// Verifies one simple-signing layer (descriptor as made for `signature`, content `blob`) and returns the error.
fn failure(
    p: &Policy,
    descriptor: &Descriptor,
    blob: &[u8],
    config: &VerificationConfig,
) -> String {
    let mut evidence = Evidence::new();
    evidence.add_simple_signing_layer(descriptor, blob);
    let report = evaluate("r/p", &p.digest, &evidence, config).unwrap();
    assert!(!report.verified);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["verified"], false);
    let err = verify("r/p", &p.digest, &p.manifest, &evidence, config).unwrap_err();
    assert!(matches!(err, SigningError::NotVerified { .. }));
    // The JSON report says the same as the error.
    assert!(err.to_string().contains(json["failure"].as_str().unwrap()));
    err.to_string()
}

fn sign(p: &Policy) -> Signature {
    simple_signing::sign(&p.key, "r/p", &p.digest, &BTreeMap::new())
}

#[test]
fn payload_altered() {
    let p = policy();
    let signature = sign(&p);
    // The payload is changed and its descriptor updated to match (an attacker controlling the registry).
    let mut altered = signature.clone();
    altered.payload = String::from_utf8(altered.payload)
        .unwrap()
        .replace("\"optional\":null", "\"optional\":{\"env\":\"prod\"}")
        .into_bytes();
    let message = failure(
        &p,
        &altered.descriptor(),
        &altered.payload,
        &config(&p.key.public_key(), &[]),
    );
    assert!(message.contains("signature check failed"), "{message}");
    // The payload changed without updating the descriptor: the layer digest check catches it first.
    let message = failure(
        &p,
        &signature.descriptor(),
        &altered.payload,
        &config(&p.key.public_key(), &[]),
    );
    assert!(message.contains("does not match its content"), "{message}");
}

#[test]
fn signature_bytes_flipped() {
    let p = policy();
    let mut signature = sign(&p);
    let mut der = BASE64.decode(&signature.signature).unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    signature.signature = BASE64.encode(&der);
    let message = failure(
        &p,
        &signature.descriptor(),
        &signature.payload,
        &config(&p.key.public_key(), &[]),
    );
    assert!(message.contains("signature check failed"), "{message}");
    signature.signature = "not base64!".into();
    let message = failure(
        &p,
        &signature.descriptor(),
        &signature.payload,
        &config(&p.key.public_key(), &[]),
    );
    assert!(message.contains("is not base64"), "{message}");
}

#[test]
fn signature_over_another_digest_is_a_replay() {
    let p = policy();
    let other = Digest::sha256_of(b"another policy's manifest");
    let replay = simple_signing::sign(&p.key, "r/p", &other, &BTreeMap::new());
    let message = failure(
        &p,
        &replay.descriptor(),
        &replay.payload,
        &config(&p.key.public_key(), &[]),
    );
    assert!(
        message.contains("a signature of another artifact"),
        "{message}"
    );
}

#[test]
fn manifest_swapped_after_signing() {
    let p = policy();
    let signature = sign(&p);
    let mut evidence = Evidence::new();
    evidence.add_signature(&signature);
    let swapped = [p.manifest.as_slice(), b" "].concat();
    let err = verify(
        "r/p",
        &p.digest,
        &swapped,
        &evidence,
        &config(&p.key.public_key(), &[]),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("changed after the digest was resolved"),
        "{err}"
    );
}

#[test]
fn wrong_key_and_unmet_annotation() {
    let p = policy();
    let signature = simple_signing::sign(
        &p.key,
        "r/p",
        &p.digest,
        &BTreeMap::from([("env".to_string(), "dev".to_string())]),
    );
    let stranger = PrivateKey::generate().unwrap().public_key();
    let message = failure(
        &p,
        &signature.descriptor(),
        &signature.payload,
        &config(&stranger, &[]),
    );
    assert!(message.contains("signature check failed"), "{message}");
    let message = failure(
        &p,
        &signature.descriptor(),
        &signature.payload,
        &config(&p.key.public_key(), &[("env", "prod")]),
    );
    assert!(
        message.contains("annotation env is \"dev\", required \"prod\""),
        "{message}"
    );
    let message = failure(
        &p,
        &signature.descriptor(),
        &signature.payload,
        &config(&p.key.public_key(), &[("team", "a")]),
    );
    assert!(
        message.contains("annotation team=a is missing"),
        "{message}"
    );
}

#[test]
fn truncated_and_malformed_bundles() {
    let p = policy();
    let signed = bundle::sign(&p.key, &p.digest, &BTreeMap::new()).to_bytes();
    for (blob, expected) in [
        (signed[..signed.len() / 2].to_vec(), "truncated"),
        (
            b"{\"mediaType\":\"text/plain\"}".to_vec(),
            "not Sigstore bundle JSON",
        ),
        (
            serde_json::to_vec(&serde_json::json!({
                "mediaType": SIGSTORE_BUNDLE_V03, "verificationMaterial": {}
            }))
            .unwrap(),
            "has no dsseEnvelope",
        ),
    ] {
        let mut evidence = Evidence::new();
        evidence.add_bundle(None, &Descriptor::of(SIGSTORE_BUNDLE_V03, &blob), &blob);
        let err = verify(
            "r/p",
            &p.digest,
            &p.manifest,
            &evidence,
            &config(&p.key.public_key(), &[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains(expected), "{expected}: {err}");
    }
    assert!(Bundle::parse(&signed[..10]).is_err());
}

#[test]
fn malformed_keys_and_wrong_password() {
    let files = signing::keys::generate(b"right").unwrap();
    let err = PrivateKey::from_pem(files.private_pem.as_bytes(), b"wrong").unwrap_err();
    assert!(err.to_string().contains("wrong password"), "{err}");
    let truncated = &files.private_pem.as_bytes()[..files.private_pem.len() / 2];
    assert!(PrivateKey::from_pem(truncated, b"right").is_err());
    let err =
        PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
            .unwrap_err();
    assert!(err.to_string().contains("malformed key"), "{err}");
}

#[test]
fn a_registry_changing_the_signature_manifest_between_reads() {
    // What was fetched first is what is verified: evidence is a snapshot. A signer who pushed and then reads back
    // another manifest sees its signature missing and merges again.
    let p = policy();
    let mine = sign(&p);
    let theirs = simple_signing::sign(
        &PrivateKey::generate().unwrap(),
        "r/p",
        &p.digest,
        &BTreeMap::new(),
    );
    let pushed = simple_signing::merge(None, std::slice::from_ref(&mine)).unwrap();
    let concurrent = simple_signing::merge(None, std::slice::from_ref(&theirs)).unwrap();
    assert_eq!(
        simple_signing::missing(&concurrent.manifest, std::slice::from_ref(&mine)).len(),
        1
    );
    let retried = simple_signing::merge(Some(&concurrent.manifest), &[mine]).unwrap();
    assert_eq!(retried.manifest.layers.len(), 2);
    assert_eq!(retried.manifest.layers[0], concurrent.manifest.layers[0]);
    assert_ne!(pushed.manifest_digest, retried.manifest_digest);
}
