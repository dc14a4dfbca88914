//! Signatures attached to manifests under test, in both of cosign's layouts: a `.sig` image and a Sigstore bundle
//! referrer.

use artifact::cosign::signature_tag;
use artifact::oci::Digest;
use artifact::oci::manifest::Descriptor;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use signing::{bundle, simple_signing};

use super::{Client, OCI_MANIFEST};

/// Pushes a cosign `.sig` image of `repo` holding `signature`, under the `.sig` tag of `for_digest`.
pub async fn push_sig(
    registry: &Client,
    repo: &str,
    for_digest: &Digest,
    signature: &simple_signing::Signature,
) {
    let image = simple_signing::merge(None, std::slice::from_ref(signature)).unwrap();
    for blob in &image.blobs {
        registry.push_blob(repo, &blob.content).await;
    }
    let manifest: serde_json::Value = serde_json::from_slice(&image.manifest_bytes).unwrap();
    registry
        .put_manifest(repo, &signature_tag(for_digest), OCI_MANIFEST, &manifest)
        .await;
}

/// Attaches `signed` to the manifest `digest` (of `manifest_size` bytes) of `repo` as a referrer, its bytes as
/// `bundle::referrer` made them.
pub async fn push_bundle(
    registry: &Client,
    repo: &str,
    signed: &bundle::Bundle,
    digest: &Digest,
    manifest_size: usize,
) {
    let subject = Descriptor {
        media_type: OCI_MANIFEST.to_string(),
        digest: digest.clone(),
        size: manifest_size as u64,
        artifact_type: None,
        annotations: None,
        urls: None,
    };
    let referrer = bundle::referrer(signed, subject, None).unwrap();
    for blob in &referrer.blobs {
        registry.push_blob(repo, &blob.content).await;
    }
    let put = registry
        .send(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{}", referrer.manifest_digest),
            &[("content-type", OCI_MANIFEST)],
            Body::from(referrer.manifest_bytes.clone()),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
}
