//! Attestations against a real registry-server on 127.0.0.1: cosign's `.att` layout field by field, the
//! bundle referrer verified by `@sigstore/verify`, appends that keep what was there, and a stored envelope
//! that fails once any byte of it changes.

use std::path::PathBuf;
use std::process::Command;

use artifact::cosign::{CYCLONEDX_PREDICATE, SPDX_PREDICATE};
use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Remote, RemoteOptions};
use serde_json::{Value, json};
use signing::attestation::registry::{attest, check};
use signing::config::VerificationConfig;
use signing::keys::PrivateKey;
use test_support::{RegistryServer, get_blob, get_manifest, put_blob, put_manifest};

const REPOSITORY: &str = "policies/pod-guard";

fn push_policy(host: &str) -> Digest {
    let module = b"\0asm\x01\0\0\0".to_vec();
    put_blob(host, REPOSITORY, b"{}");
    put_blob(host, REPOSITORY, &module);
    let manifest = ImageManifest::new(
        Descriptor::of(oci_types::WASM_CONFIG, b"{}"),
        vec![Descriptor::of(oci_types::WASM_LAYER, &module)],
    );
    put_manifest(
        host,
        REPOSITORY,
        Some("v1"),
        &serde_json::to_value(&manifest).unwrap(),
    )
    .parse()
    .unwrap()
}

fn reference(host: &str) -> RegistryRef {
    match format!("registry://{host}/{REPOSITORY}:v1").parse::<PolicyRef>() {
        Ok(PolicyRef::Registry(reference)) => reference,
        other => panic!("{other:?}"),
    }
}

fn remote() -> Remote {
    Remote::new(RemoteOptions {
        docker_config: DockerConfig::new(PathBuf::from("/nonexistent/docker/config.json")),
        sources: Sources::default(),
    })
}

fn spdx() -> Value {
    json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "pod-guard"})
}

fn att_manifest(host: &str, digest: &Digest) -> Value {
    let tag = format!("sha256-{}.att", digest.hex());
    serde_json::from_slice(&get_manifest(host, REPOSITORY, &tag)).unwrap()
}

fn blob(host: &str, digest: &str) -> Vec<u8> {
    get_blob(host, REPOSITORY, digest)
}

#[test]
fn the_att_image_is_cosigns_layout() {
    let registry = RegistryServer::start();
    let host = registry.host();
    let digest = push_policy(&host);
    let key = PrivateKey::generate().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let attested = runtime
        .block_on(attest(
            &remote(),
            &reference(&host),
            &key,
            SPDX_PREDICATE,
            spdx(),
            false,
        ))
        .unwrap();
    assert_eq!(attested.manifest_digest, digest);
    assert_eq!(
        attested.attestation_tag,
        format!("sha256-{}.att", digest.hex())
    );

    let manifest = att_manifest(&host, &digest);
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], oci_types::OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], oci_types::OCI_CONFIG);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    let layer = &layers[0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(
        layer["annotations"],
        json!({"dev.cosignproject.cosign/signature": "", "predicateType": SPDX_PREDICATE})
    );
    // The config lists the layer as cosign's image config does.
    let config: Value =
        serde_json::from_slice(&blob(&host, manifest["config"]["digest"].as_str().unwrap()))
            .unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], layer["digest"]);

    // The layer is the DSSE envelope itself, over an in-toto v1 statement about the policy, its fields in the
    // order cosign's DSSE library (go-securesystemslib) writes them.
    let bytes = blob(&host, layer["digest"].as_str().unwrap());
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"payloadType":"application/vnd.in-toto+json","payload":""#),
        "{text}"
    );
    assert!(
        text.contains(r#""signatures":[{"keyid":"","sig":""#),
        "{text}"
    );
    let envelope: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(envelope["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(envelope["signatures"][0]["keyid"], "");
    use base64::Engine as _;
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], SPDX_PREDICATE);
    assert_eq!(
        statement["subject"],
        json!([{"name": format!("{host}/{REPOSITORY}"), "digest": {"sha256": digest.hex()}}])
    );
    assert_eq!(statement["predicate"], spdx());
}

#[test]
fn appends_keep_every_attestation() {
    let registry = RegistryServer::start();
    let host = registry.host();
    let digest = push_policy(&host);
    let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let remote = remote();
    let reference = reference(&host);
    // Another tool's layer in the .att image is kept too.
    let foreign = Descriptor::of("application/vnd.example+json", b"kept");
    put_blob(&host, REPOSITORY, b"kept");
    put_blob(&host, REPOSITORY, b"{}");
    let existing = ImageManifest::new(
        Descriptor::of(oci_types::OCI_CONFIG, b"{}"),
        vec![foreign.clone()],
    );
    let tag = format!("sha256-{}.att", digest.hex());
    put_manifest(
        &host,
        REPOSITORY,
        Some(&tag),
        &serde_json::to_value(&existing).unwrap(),
    );
    for (i, key) in keys.iter().enumerate() {
        let predicate = json!({"bomFormat": "CycloneDX", "serialNumber": i});
        for _ in 0..2 {
            runtime
                .block_on(attest(
                    &remote,
                    &reference,
                    key,
                    CYCLONEDX_PREDICATE,
                    predicate.clone(),
                    false,
                ))
                .unwrap();
        }
    }
    let manifest = att_manifest(&host, &digest);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(
        layers.len(),
        4,
        "the foreign layer and one per key: {manifest}"
    );
    assert_eq!(layers[0]["digest"], foreign.digest.to_string());
    let public: Vec<_> = keys.iter().map(PrivateKey::public_key).collect();
    let report = runtime
        .block_on(check(&remote, &reference, &public, None))
        .unwrap();
    assert_eq!(report.attestations.len(), 3, "{report:#?}");
    assert!(
        report.attestations.iter().all(|a| a.verified),
        "{report:#?}"
    );
}

#[test]
fn a_stored_envelope_fails_once_any_byte_changes() {
    let registry = RegistryServer::start();
    let host = registry.host();
    let digest = push_policy(&host);
    let key = PrivateKey::generate().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let remote = remote();
    let reference = reference(&host);
    runtime
        .block_on(attest(
            &remote,
            &reference,
            &key,
            SPDX_PREDICATE,
            spdx(),
            false,
        ))
        .unwrap();
    let keys = [key.public_key()];
    let report = runtime
        .block_on(check(&remote, &reference, &keys, Some(SPDX_PREDICATE)))
        .unwrap();
    assert!(report.verified);

    let original = att_manifest(&host, &digest);
    let envelope = blob(&host, original["layers"][0]["digest"].as_str().unwrap());
    let tag = format!("sha256-{}.att", digest.hex());
    // Every third byte, each one a blob and a manifest pushed to the registry.
    for index in (0..envelope.len()).step_by(3) {
        let mut altered = envelope.clone();
        altered[index] ^= 0x01;
        let altered_digest = put_blob(&host, REPOSITORY, &altered);
        let mut manifest = original.clone();
        manifest["layers"][0]["digest"] = json!(altered_digest);
        manifest["layers"][0]["size"] = json!(altered.len());
        put_manifest(&host, REPOSITORY, Some(&tag), &manifest);
        let report = runtime
            .block_on(check(&remote, &reference, &keys, None))
            .unwrap();
        assert!(
            !report.verified,
            "byte {index} ({:?}) flipped and the attestation still verifies",
            altered[index] as char
        );
        assert_eq!(report.attestations.len(), 1);
    }
    // The original bytes verify again.
    put_manifest(&host, REPOSITORY, Some(&tag), &original);
    let report = runtime
        .block_on(check(&remote, &reference, &keys, None))
        .unwrap();
    assert!(report.verified);
}

/// The bundle referrer, as stored, verifies with `@sigstore/verify` (the npm package Sigstore's JavaScript
/// clients use), offline with the key; like the other npm interop test it needs `npm ci --prefix
/// signing/tests/interop`.
#[test]
fn the_bundle_referrer_verifies_with_sigstore_js() {
    let interop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        node && interop.join("node_modules/@sigstore/verify").exists(),
        "needs node and @sigstore/verify: npm ci --prefix signing/tests/interop"
    );
    let registry = RegistryServer::start();
    let host = registry.host();
    let digest = push_policy(&host);
    let key = PrivateKey::generate().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let attested = runtime
        .block_on(attest(
            &remote(),
            &reference(&host),
            &key,
            SPDX_PREDICATE,
            spdx(),
            true,
        ))
        .unwrap();
    let referrer = attested.referrer.unwrap();
    let manifest: Value =
        serde_json::from_slice(&get_manifest(&host, REPOSITORY, &referrer.to_string())).unwrap();
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        manifest["annotations"]["dev.sigstore.bundle.predicateType"],
        SPDX_PREDICATE
    );
    assert_eq!(manifest["subject"]["digest"], digest.to_string());
    let bundle = blob(&host, manifest["layers"][0]["digest"].as_str().unwrap());

    let dir = test_support::tempdir();
    let bundle_path = dir.path().join("bundle.json");
    let key_path = dir.path().join("cosign.pub");
    std::fs::write(&bundle_path, &bundle).unwrap();
    std::fs::write(&key_path, key.public_key().to_pem()).unwrap();
    let run = |bundle: &std::path::Path| {
        Command::new("node")
            .arg(interop.join("verify_bundle.js"))
            .arg(bundle)
            .arg(&key_path)
            .env("NODE_PATH", interop.join("node_modules"))
            .output()
            .unwrap()
    };
    let output = run(&bundle_path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{} {}", digest.hex(), key.public_key().hint())
    );
    // The `.att` layer's envelope, as stored, in a bundle of its own: the same DSSE, verified by sigstore-js.
    let att = att_manifest(&host, &digest);
    let envelope: Value =
        serde_json::from_slice(&blob(&host, att["layers"][0]["digest"].as_str().unwrap())).unwrap();
    let wrapped = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": key.public_key().hint()}},
        "dsseEnvelope": envelope,
    });
    let wrapped_path = dir.path().join("att-bundle.json");
    std::fs::write(&wrapped_path, serde_json::to_vec(&wrapped).unwrap()).unwrap();
    let output = run(&wrapped_path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same envelope, one payload byte flipped: refused by sigstore-js too.
    let mut value: Value = serde_json::from_slice(&bundle).unwrap();
    let payload = value["dsseEnvelope"]["payload"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = payload.replacen('e', "f", 1);
    assert_ne!(flipped, payload);
    value["dsseEnvelope"]["payload"] = json!(flipped);
    std::fs::write(&bundle_path, serde_json::to_vec(&value).unwrap()).unwrap();
    assert!(!run(&bundle_path).status.success());
}

#[test]
fn an_attestation_is_not_a_signature() {
    let registry = RegistryServer::start();
    let host = registry.host();
    push_policy(&host);
    let key = PrivateKey::generate().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(attest(
            &remote(),
            &reference(&host),
            &key,
            SPDX_PREDICATE,
            spdx(),
            true,
        ))
        .unwrap();
    let config = VerificationConfig::for_keys(
        &[key.public_key().to_pem()],
        &std::collections::BTreeMap::new(),
    )
    .unwrap();
    let checked = runtime
        .block_on(signing::registry::check(
            &remote(),
            &reference(&host),
            &config,
            None,
        ))
        .unwrap();
    let err = checked.verified.unwrap_err().to_string();
    assert!(
        checked.report.signatures_found == 0,
        "the .att image and the attestation bundle are not signatures: {err}"
    );
}
