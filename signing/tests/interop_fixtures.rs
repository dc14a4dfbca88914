//! Third-party vectors (testdata/signing, from sigstore-rs and cosign): keys written by cosign and sigstore-rs
//! load, signatures made by cosign verify, and unsupported keys fail with a clear message.

use std::path::PathBuf;

use signing::SigningError;
use signing::keys::{PrivateKey, PrivateKeyKind, PublicKey};
use signing::simple_signing::Payload;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/signing")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cosign_generated_key_loads_with_its_empty_password() {
    let pem = fixture("cosign-generated-empty-password.key");
    assert_eq!(
        PrivateKeyKind::of_pem(&pem).unwrap(),
        PrivateKeyKind::Encrypted
    );
    let key = PrivateKey::from_pem(&pem, b"").unwrap();
    let signature = key.sign(b"x");
    key.public_key().verify(b"x", &signature).unwrap();
    assert!(matches!(
        PrivateKey::from_pem(&pem, b"not-empty").unwrap_err(),
        SigningError::WrongPassword
    ));
}

#[test]
fn older_cosign_label_loads() {
    let pem = fixture("sigstore-rs-ecdsa-encrypted-password-123.key");
    PrivateKey::from_pem(&pem, b"123").unwrap();
}

#[test]
fn sigstore_rs_encrypted_pkcs8_and_public_keys_load() {
    // Three separate keys (the example files are not one pair).
    let encrypted = PrivateKey::from_pem(
        &fixture("sigstore-rs-p256-encrypted-password-password.key"),
        b"password",
    )
    .unwrap();
    let signature = encrypted.sign(b"m");
    encrypted.public_key().verify(b"m", &signature).unwrap();
    PrivateKey::from_pem(&fixture("sigstore-rs-p256-private.pem"), b"").unwrap();
    let public = PublicKey::from_pem(&fixture("sigstore-rs-p256-public.pem")).unwrap();
    // Our encoding of the public key is the same PEM text as the file's (modulo line endings).
    let ours = public.to_pem().replace("\r\n", "\n");
    let theirs = String::from_utf8(fixture("sigstore-rs-p256-public.pem")).unwrap();
    assert_eq!(ours.trim(), theirs.trim());
}

#[test]
fn unsupported_keys_say_what_they_are() {
    let err = PrivateKey::from_pem(
        &fixture("sigstore-rs-ed25519-encrypted-password-123.key"),
        b"123",
    )
    .unwrap_err();
    assert!(matches!(err, SigningError::UnsupportedKey(_)), "{err}");
    assert!(err.to_string().contains("Ed25519"), "{err}");
    let err = PrivateKey::from_pem(&fixture("sigstore-rs-rsa-private.key"), b"").unwrap_err();
    assert!(err.to_string().contains("\"RSA PRIVATE KEY\""), "{err}");
}

#[test]
fn cosign_simple_signing_signature_verifies() {
    let public = PublicKey::from_pem(&fixture("cosign-busybox.pub")).unwrap();
    let payload = fixture("cosign-busybox.payload.json");
    let signature = String::from_utf8(fixture("cosign-busybox.sig")).unwrap();
    public.verify_base64(&payload, &signature).unwrap();
    let parsed = Payload::parse(&payload).unwrap();
    assert_eq!(
        parsed.manifest_digest().unwrap().to_string(),
        "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b"
    );
    // Our payload for the same reference and digest is byte for byte cosign's.
    let ours = Payload::new(
        "registry-testing.svc.lan/busybox",
        &parsed.manifest_digest().unwrap(),
        &Default::default(),
    );
    assert_eq!(ours.to_bytes(), payload);
    // Flipping any byte of the payload breaks it.
    let mut altered = payload.clone();
    altered[20] ^= 1;
    assert!(public.verify_base64(&altered, &signature).is_err());
}

#[test]
fn cosign_v3_bundle_reads_and_its_dsse_signature_verifies() {
    use p256::pkcs8::der::{Decode as _, Encode as _};
    use signing::bundle::Bundle;

    let bundle = Bundle::parse(&fixture("cosign-v3-bundle.json")).unwrap();
    let statement = bundle.statement().unwrap();
    assert_eq!(
        statement.predicate_type,
        "https://sigstore.dev/cosign/sign/v1"
    );
    let digest: artifact::oci::Digest =
        "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172"
            .parse()
            .unwrap();
    assert!(statement.is_about(&digest));
    // Keyless: the signing key is the certificate's. Our PAE and signature check agree with cosign's.
    let certificate = bundle.certificate_der().unwrap().expect("a keyless bundle");
    let certificate = x509_cert::Certificate::from_der(&certificate).unwrap();
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let key = PublicKey::from_der(&spki).unwrap();
    assert_eq!(bundle.verify_with_key(&key, &digest).unwrap(), statement);
    let other: artifact::oci::Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    assert!(bundle.verify_with_key(&key, &other).is_err());
    // Our JSON model keeps everything cosign wrote (tlog entries, timestamps) when re-serialized.
    let original: serde_json::Value =
        serde_json::from_slice(&fixture("cosign-v3-bundle.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&bundle.to_bytes()).unwrap();
    assert_eq!(ours, original);
}

#[test]
fn sec1_keys_load_and_other_curves_are_named() {
    let sec1 = PrivateKey::from_pem(&fixture("generated-p256-sec1.pem"), b"").unwrap();
    assert_eq!(
        PrivateKeyKind::of_pem(&fixture("generated-p256-sec1.pem")).unwrap(),
        PrivateKeyKind::Sec1
    );
    let public = PublicKey::from_pem(&fixture("generated-p256-sec1.pub")).unwrap();
    assert_eq!(sec1.public_key(), public);

    let err = PrivateKey::from_pem(&fixture("generated-p384-private.pem"), b"").unwrap_err();
    assert!(matches!(err, SigningError::UnsupportedKey(_)), "{err}");
    assert!(err.to_string().contains("ECDSA P-384"), "{err}");
    let err = PublicKey::from_pem(&fixture("generated-p384-public.pem")).unwrap_err();
    assert!(err.to_string().contains("ECDSA P-384"), "{err}");
}
