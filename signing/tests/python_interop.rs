//! Interop with an independent implementation of cosign's formats in Python (`cryptography`, `hashlib.scrypt`,
//! PyNaCl): tests/interop/cosign_format.py. Skipped, with a note on stderr, when python3 or those modules are
//! missing (`pip install cryptography pynacl`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use artifact::oci::Digest;
use signing::bundle;
use signing::config::VerificationConfig;
use signing::keys::{PrivateKey, PublicKey, generate};
use signing::simple_signing::{self, Signature};
use signing::verify::{Evidence, evaluate};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/cosign_format.py")
}

/// Fails the test, saying what to install, when the Python side is missing: it must not pass unrun.
fn require_python() {
    let ready = Command::new("python3")
        .args(["-c", "import cryptography, nacl"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "needs python3 with `cryptography` and `pynacl`: pip install cryptography pynacl"
    );
}

fn python(args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "python3 {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn digest() -> Digest {
    Digest::sha256_of(b"a policy manifest")
}

#[test]
fn our_encrypted_key_opens_with_scrypt_and_secretbox() {
    require_python();
    let dir = test_support::tempdir();
    let files = generate(b"correct horse").unwrap();
    let key = write(dir.path(), "cosign.key", files.private_pem.as_bytes());
    let public = python(&["decrypt-key", &key, "correct horse"]);
    assert_eq!(
        PublicKey::from_pem(public.as_bytes()).unwrap(),
        PublicKey::from_pem(files.public_pem.as_bytes()).unwrap()
    );
}

#[test]
fn our_simple_signing_signature_verifies_with_python_cryptography() {
    require_python();
    let dir = test_support::tempdir();
    let key = PrivateKey::generate().unwrap();
    let signature =
        simple_signing::sign(&key, "example.com/policies/p", &digest(), &BTreeMap::new());
    let public = write(dir.path(), "cosign.pub", key.public_key().to_pem());
    let payload = write(dir.path(), "payload.json", &signature.payload);
    let sig = write(dir.path(), "payload.sig", &signature.signature);
    assert_eq!(
        python(&["verify-sig", &public, &payload, &sig]).trim(),
        digest().to_string()
    );
}

#[test]
fn our_bundle_verifies_with_python_cryptography() {
    require_python();
    let dir = test_support::tempdir();
    let key = PrivateKey::generate().unwrap();
    let bundle = bundle::sign(&key, &digest(), &BTreeMap::new());
    let public = write(dir.path(), "cosign.pub", key.public_key().to_pem());
    let path = write(dir.path(), "bundle.json", bundle.to_bytes());
    assert_eq!(
        python(&["verify-dsse", &public, &path]).trim(),
        digest().hex()
    );
}

#[test]
fn a_python_made_key_and_signature_verify_with_palisade() {
    require_python();
    let dir = test_support::tempdir();
    let key = dir.path().join("py.key").to_string_lossy().into_owned();
    let public = dir.path().join("py.pub").to_string_lossy().into_owned();
    python(&["make-key", &key, &public, "pw"]);
    // The key file (scrypt N=65536, as current cosign writes) loads with the password.
    let private = PrivateKey::from_pem(&std::fs::read(&key).unwrap(), b"pw").unwrap();
    let public_pem = std::fs::read_to_string(&public).unwrap();
    assert_eq!(
        private.public_key(),
        PublicKey::from_pem(public_pem.as_bytes()).unwrap()
    );

    let out = dir.path().join("sig").to_string_lossy().into_owned();
    python(&[
        "sign",
        &key,
        "pw",
        "example.com/policies/p",
        &digest().to_string(),
        &out,
    ]);
    let signature = Signature {
        payload: std::fs::read(format!("{out}.payload")).unwrap(),
        signature: std::fs::read_to_string(format!("{out}.sig")).unwrap(),
        certificate: None,
        chain: None,
        bundle: None,
        rfc3161_timestamp: None,
    };
    let mut evidence = Evidence::new();
    evidence.add_simple_signing_layer(&signature.descriptor(), &signature.payload);
    let config = VerificationConfig::for_keys(&[public_pem], &BTreeMap::new()).unwrap();
    let report = evaluate("example.com/policies/p", &digest(), &evidence, &config).unwrap();
    assert!(report.verified, "{:?}", report.failure);
}
