//! Interop with the npm package `@sigstore/verify` (Sigstore's JavaScript verifier): a key-signed bundle v0.3
//! made by Palisade verifies fully offline, the key given through a key finder by its hint. Skipped, with a note
//! on stderr, when node or the packages are missing (`npm install --prefix signing/tests/interop`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use artifact::oci::Digest;
use signing::bundle;
use signing::keys::PrivateKey;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Fails the test, saying what to install, when the npm side is missing: it must not pass unrun.
fn require_node() {
    let modules = interop_dir().join("node_modules/@sigstore/verify");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        node && modules.exists(),
        "needs node and @sigstore/verify: npm ci --prefix signing/tests/interop"
    );
}

fn node_verify(bundle: &[u8], public_pem: &str) -> Result<String, String> {
    let dir = test_support::tempdir();
    let bundle_path = dir.path().join("bundle.json");
    let key_path = dir.path().join("cosign.pub");
    std::fs::write(&bundle_path, bundle).unwrap();
    std::fs::write(&key_path, public_pem).unwrap();
    let output = Command::new("node")
        .arg(interop_dir().join("verify_bundle.js"))
        .arg(&bundle_path)
        .arg(&key_path)
        .env("NODE_PATH", interop_dir().join("node_modules"))
        .output()
        .expect("running node");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

#[test]
fn key_signed_bundles_verify_with_sigstore_js() {
    require_node();
    let key = PrivateKey::generate().unwrap();
    let digest = Digest::sha256_of(b"a policy manifest");
    let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    let signed = bundle::sign(&key, &digest, &annotations);
    let out = node_verify(&signed.to_bytes(), &key.public_key().to_pem()).unwrap();
    assert_eq!(out, format!("{} {}", digest.hex(), key.public_key().hint()));

    // An attestation too.
    let attested = bundle::attest(
        &key,
        "registry.example/policies/p",
        &digest,
        "https://slsa.dev/provenance/v1",
        serde_json::json!({"buildDefinition": {}}),
    );
    node_verify(&attested.to_bytes(), &key.public_key().to_pem()).unwrap();

    // Another key: refused.
    let stranger = PrivateKey::generate().unwrap();
    assert!(node_verify(&signed.to_bytes(), &stranger.public_key().to_pem()).is_err());
    // A payload swapped for another statement (other annotations): refused.
    use base64::Engine as _;
    let forged = bundle::Statement::new(
        &digest,
        "https://sigstore.dev/cosign/sign/v1",
        &BTreeMap::from([("env".to_string(), "dev".to_string())]),
        None,
    );
    let mut tampered = signed.clone();
    tampered.dsse_envelope.as_mut().unwrap().payload =
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&forged).unwrap());
    assert!(node_verify(&tampered.to_bytes(), &key.public_key().to_pem()).is_err());
}
