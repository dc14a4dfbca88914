//! Moving a registry between storages (`palisade registry migrate`): a folder into Garage and PostgreSQL and back
//! into another folder gives the same tags, manifests, referrers and blobs; a second copy finds everything there;
//! content that does not hash to its digest stops the copy.

mod common;

use axum::http::StatusCode;
use common::{Client, OCI_INDEX, OCI_MANIFEST, Registry, SharedServers, sha256};
use registry_server::storage::{CopyReport, copy_all};
use serde_json::json;

/// A repository with two tagged images, an index of both, and a signature-like referrer; and a blob no manifest names.
async fn fill(registry: &Client) -> Vec<(String, String)> {
    let v1 = registry
        .push_image("team/app", "v1", &[b"layer one", b"shared layer"])
        .await;
    let v2 = registry
        .push_image("team/app", "v2", &[b"layer two", b"shared layer"])
        .await;
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            { "mediaType": OCI_MANIFEST, "digest": v1.0, "size": v1.1.len() },
            { "mediaType": OCI_MANIFEST, "digest": v2.0, "size": v2.1.len() },
        ],
    });
    let (index_digest, _) = registry
        .put_manifest("team/app", "multi", OCI_INDEX, &index)
        .await;
    let empty = registry.push_blob("team/app", b"{}").await;
    let signature = registry.push_blob("team/app", b"a signature").await;
    let referrer = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2 },
        "layers": [{ "mediaType": "application/octet-stream", "digest": signature, "size": 11 }],
        "subject": { "mediaType": OCI_MANIFEST, "digest": v1.0, "size": v1.1.len() },
    });
    let referrer_digest = sha256(&serde_json::to_vec(&referrer).unwrap());
    registry
        .put_manifest("team/app", &referrer_digest, OCI_MANIFEST, &referrer)
        .await;
    registry.push_blob("loose", b"named by nothing").await;
    vec![
        ("v1".into(), v1.0),
        ("v2".into(), v2.0),
        ("multi".into(), index_digest),
        (referrer_digest.clone(), referrer_digest),
    ]
}

/// Asserts that `target` answers like the filled source.
async fn assert_holds(target: &Client, references: &[(String, String)], v1: &str) {
    for (reference, digest) in references {
        let reply = target
            .get(&format!("/v2/team/app/manifests/{reference}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reference}");
        assert_eq!(sha256(&reply.body), *digest, "{reference}");
    }
    for layer in [
        b"layer one".as_slice(),
        b"layer two",
        b"shared layer",
        b"a signature",
    ] {
        let reply = target
            .get(&format!("/v2/team/app/blobs/{}", sha256(layer)))
            .await;
        assert_eq!(reply.body, layer);
    }
    let referrers = target
        .get(&format!("/v2/team/app/referrers/{v1}"))
        .await
        .json();
    assert_eq!(referrers["manifests"].as_array().unwrap().len(), 1);
    let tags = target.get("/v2/team/app/tags/list").await.json();
    assert_eq!(tags["tags"], json!(["multi", "v1", "v2"]));
}

#[tokio::test]
async fn a_folder_goes_to_shared_storage_and_back_unchanged() {
    let source = Registry::new();
    let references = fill(&source).await;
    let v1 = references[0].1.clone();
    let servers = SharedServers::start();
    let (shared, shared_client) = servers.replicas("migrated", 1).await.remove(0);

    let report = copy_all(&*source.storage, &*shared, |_| {}).await.unwrap();
    assert_eq!(report.repositories, 2, "team/app and loose");
    assert_eq!(report.tags, 3);
    assert_eq!(report.manifests, 4, "two images, the index, the referrer");
    assert_eq!(
        report.blobs, 5,
        "the `{{}}` config (of the images and the referrer), three layers, the signature"
    );
    assert_holds(&shared_client, &references, &v1).await;
    assert_eq!(
        shared_client
            .get(&format!("/v2/loose/blobs/{}", sha256(b"named by nothing")))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "what no manifest names is not copied"
    );

    let again = copy_all(&*source.storage, &*shared, |_| {}).await.unwrap();
    assert_eq!(
        again,
        CopyReport {
            blobs: 0,
            bytes: 0,
            blobs_already_there: 5,
            ..report.clone()
        },
        "a second copy (or one resumed) copies no blob twice"
    );

    let back = Registry::new();
    let report = copy_all(&*shared, &*back.storage, |_| {}).await.unwrap();
    assert_eq!(report.blobs, 5);
    assert_holds(&back, &references, &v1).await;
}

#[tokio::test]
async fn content_that_does_not_match_its_digest_stops_the_copy() {
    let source = Registry::new();
    source.push_image("app", "v1", &[b"original layer"]).await;
    let layer = sha256(b"original layer");
    std::fs::write(
        source
            .dir
            .path()
            .join("blobs/sha256")
            .join(&layer["sha256:".len()..]),
        b"tampered layer",
    )
    .unwrap();
    let target = Registry::new();
    let error = copy_all(&*source.storage, &*target.storage, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains(&layer), "{error}");
    assert_eq!(
        target.get("/v2/app/manifests/v1").await.status,
        StatusCode::NOT_FOUND,
        "no manifest without its blobs"
    );
}
