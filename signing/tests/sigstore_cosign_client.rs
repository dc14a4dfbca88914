//! Interop with the `sigstore` crate's cosign client — the code Kubewarden's kwctl and policy-server verify
//! policies with (`trusted_signature_layers` + `verify_constraints` with a `PublicKeyVerifier`) — against an
//! in-process registry-server on loopback:
//! - signatures Palisade makes (the `.sig` layout, merged) verify with it;
//! - signatures it makes (its signing API, `PrivateKeySigner` loading our encrypted key file) verify with Palisade.

use std::collections::{BTreeMap, HashMap};

use artifact::oci::manifest::{Descriptor, ImageManifest};
use artifact::oci::{Digest, media_types as oci_types};
use signing::config::VerificationConfig;
use signing::keys::{PrivateKey, generate};
use signing::simple_signing;
use signing::verify::{Evidence, verify};
use sigstore::cosign::constraint::{AnnotationMarker, Constraint, PrivateKeySigner};
use sigstore::cosign::verification_constraint::{
    AnnotationVerifier, PublicKeyVerifier, VerificationConstraint, VerificationConstraintVec,
};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, SignatureLayer, verify_constraints};
use sigstore::crypto::SigningScheme;
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};
use test_support::{RegistryServer, get_manifest, put_blob, put_manifest};
use zeroize::Zeroizing;

const REPOSITORY: &str = "policies/pod-privileged";

fn push_policy(host: &str) -> (Digest, Vec<u8>) {
    let module = b"\0asm\x01\0\0\0".to_vec();
    put_blob(host, REPOSITORY, b"{}");
    put_blob(host, REPOSITORY, &module);
    let manifest = ImageManifest::new(
        Descriptor::of(oci_types::WASM_CONFIG, b"{}"),
        vec![Descriptor::of(oci_types::WASM_LAYER, &module)],
    );
    let value = serde_json::to_value(&manifest).unwrap();
    let digest: Digest = put_manifest(host, REPOSITORY, Some("v1"), &value)
        .parse()
        .unwrap();
    let bytes = get_manifest(host, REPOSITORY, &digest.to_string());
    assert!(digest.matches(&bytes));
    (digest, bytes)
}

fn push_signatures(host: &str, image: &simple_signing::SignatureImage, tag: &str) {
    for blob in &image.blobs {
        put_blob(host, REPOSITORY, &blob.content);
    }
    put_manifest(
        host,
        REPOSITORY,
        Some(tag),
        &serde_json::from_slice(&image.manifest_bytes).unwrap(),
    );
}

fn get_blob(host: &str, digest: &Digest) -> Vec<u8> {
    let response =
        reqwest::blocking::get(format!("http://{host}/v2/{REPOSITORY}/blobs/{digest}")).unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().unwrap().to_vec()
}

fn sigstore_client() -> sigstore::cosign::Client {
    ClientBuilder::default()
        .with_oci_client_config(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        })
        .build()
        .unwrap()
}

async fn sigstore_layers(host: &str) -> Vec<SignatureLayer> {
    let reference: OciReference = format!("{host}/{REPOSITORY}:v1").parse().unwrap();
    let mut client = sigstore_client();
    client
        .trusted_signature_layers(&Auth::Anonymous, &reference)
        .await
        .unwrap()
}

fn key_verifier(pem: &str) -> Box<dyn VerificationConstraint> {
    Box::new(PublicKeyVerifier::new(pem.as_bytes(), &SigningScheme::default()).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn palisade_signatures_verify_with_the_sigstore_cosign_client() {
    let registry = tokio::task::spawn_blocking(RegistryServer::start)
        .await
        .unwrap();
    let host = registry.host();
    let (digest, _) = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || push_policy(&host))
            .await
            .unwrap()
    };
    let docker_reference = format!("{host}/{REPOSITORY}");
    let alice = PrivateKey::generate().unwrap();
    let bob = PrivateKey::generate().unwrap();
    let prod = BTreeMap::from([("env".to_string(), "prod".to_string())]);

    // Alice signs; then Bob signs, merging into what the registry has.
    let first = simple_signing::sign(&alice, &docker_reference, &digest, &prod);
    let image = simple_signing::merge(None, &[first]).unwrap();
    let tag = artifact::cosign::signature_tag(&digest);
    {
        let (host, image, tag) = (host.clone(), image.clone(), tag.clone());
        tokio::task::spawn_blocking(move || push_signatures(&host, &image, &tag))
            .await
            .unwrap();
    }
    let second = simple_signing::sign(&bob, &docker_reference, &digest, &BTreeMap::new());
    {
        let (host, tag) = (host.clone(), tag.clone());
        tokio::task::spawn_blocking(move || {
            let existing =
                simple_signing::parse_manifest(&get_manifest(&host, REPOSITORY, &tag)).unwrap();
            let merged = simple_signing::merge(Some(&existing), &[second]).unwrap();
            assert_eq!(merged.manifest.layers.len(), 2);
            push_signatures(&host, &merged, &tag);
        })
        .await
        .unwrap();
    }

    let layers = sigstore_layers(&host).await;
    assert_eq!(layers.len(), 2, "both signatures are read");

    // Kubewarden's path: key (and annotations) constraints.
    let alice_prod: VerificationConstraintVec = vec![
        key_verifier(&alice.public_key().to_pem()),
        Box::new(AnnotationVerifier {
            annotations: prod.clone(),
        }),
    ];
    verify_constraints(&layers, alice_prod.iter()).unwrap();
    let bob_only: VerificationConstraintVec = vec![key_verifier(&bob.public_key().to_pem())];
    verify_constraints(&layers, bob_only.iter()).unwrap();
    // A key nobody signed with is refused.
    let stranger = PrivateKey::generate().unwrap();
    let nobody: VerificationConstraintVec = vec![key_verifier(&stranger.public_key().to_pem())];
    assert!(verify_constraints(&layers, nobody.iter()).is_err());
    drop(registry);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigstore_signatures_verify_with_palisade() {
    let registry = tokio::task::spawn_blocking(RegistryServer::start)
        .await
        .unwrap();
    let host = registry.host();
    let (digest, manifest_bytes) = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || push_policy(&host))
            .await
            .unwrap()
    };

    // Our key file, loaded by sigstore's signer with its password.
    let files = generate(b"s3cret").unwrap();
    let signer = PrivateKeySigner::new_with_raw(
        Zeroizing::new(files.private_pem.as_bytes().to_vec()),
        Zeroizing::new(b"s3cret".to_vec()),
        &SigningScheme::default(),
    )
    .unwrap();
    let marker = AnnotationMarker::new(HashMap::from([("env".to_string(), "prod".to_string())]));
    let reference: OciReference = format!("{host}/{REPOSITORY}:v1").parse().unwrap();
    let mut layer = SignatureLayer::new_unsigned(&reference, &digest.to_string()).unwrap();
    assert!(marker.add_constraint(&mut layer).unwrap());
    assert!(signer.add_constraint(&mut layer).unwrap());
    let mut client = sigstore_client();
    let (signature_reference, _) = client
        .triangulate(&reference, &Auth::Anonymous)
        .await
        .unwrap();
    client
        .push_signature(None, &Auth::Anonymous, &signature_reference, vec![layer])
        .await
        .unwrap();

    // Palisade fetches what sigstore pushed and verifies it.
    let tag = artifact::cosign::signature_tag(&digest);
    let evidence = {
        let host = host.clone();
        tokio::task::spawn_blocking(move || {
            let manifest =
                simple_signing::parse_manifest(&get_manifest(&host, REPOSITORY, &tag)).unwrap();
            let mut evidence = Evidence::new();
            for layer in simple_signing::signature_layers(&manifest) {
                evidence.add_simple_signing_layer(layer, &get_blob(&host, &layer.digest));
            }
            evidence
        })
        .await
        .unwrap()
    };
    assert_eq!(evidence.signatures().len(), 1);
    let prod = BTreeMap::from([("env".to_string(), "prod".to_string())]);
    let config =
        VerificationConfig::for_keys(std::slice::from_ref(&files.public_pem), &prod).unwrap();
    let verified = verify(
        &reference.to_string(),
        &digest,
        &manifest_bytes,
        &evidence,
        &config,
    )
    .unwrap();
    assert_eq!(verified.manifest_digest(), &digest);
    let staging = BTreeMap::from([("env".to_string(), "staging".to_string())]);
    let config = VerificationConfig::for_keys(&[files.public_pem], &staging).unwrap();
    assert!(verify("r", &digest, &manifest_bytes, &evidence, &config).is_err());
    drop(registry);
}
