//! Bad input and faults: each is refused with the spec's status and code, and leaves nothing partial behind.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use common::{Client, OCI_MANIFEST, Registry, SharedServers, on_both_storages, sha256, sha512};
use registry_server::Storage;
use serde_json::json;

/// No blob, blob link or staging file is left.
async fn assert_nothing_stored(registry: &Client) {
    let stored = registry.stored_blobs().await;
    assert!(stored.is_empty(), "{stored:?}");
}

async fn start_upload(registry: &Client, repo: &str) -> String {
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    reply.header("location").to_string()
}

async fn wrong_digest_is_refused_and_nothing_is_stored(registry: &Client) {
    let wrong = sha256(b"something else");
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={wrong}"),
            &[],
            Body::from("content"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "DIGEST_INVALID");
    assert!(
        reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&wrong)
    );

    let location = start_upload(registry, "r").await;
    let put = registry
        .send(
            Method::PUT,
            &format!("{location}?digest={wrong}"),
            &[],
            Body::from("content"),
        )
        .await;
    assert_eq!(put.code(), "DIGEST_INVALID");
    assert_nothing_stored(registry).await;
    assert_eq!(registry.upload_leftovers().await, Vec::<String>::new());
}

async fn digest_of_the_other_algorithm_is_refused(registry: &Client) {
    let content = b"content";
    let as_sha512_of_sha256 = format!("sha512:{}", &sha256(content)[7..].repeat(2));
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={as_sha512_of_sha256}"),
            &[],
            Body::from(&content[..]),
        )
        .await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
    let short = format!("sha512:{}", &sha512(content)[7..71]);
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={short}"),
            &[],
            Body::from(&content[..]),
        )
        .await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
    assert!(
        reply.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("128 hex characters")
    );
    for malformed in ["md5:0123", "sha256:ABC", "nothing"] {
        let reply = registry.get(&format!("/v2/r/blobs/{malformed}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{malformed}");
        assert_eq!(reply.code(), "DIGEST_INVALID");
    }
    assert_nothing_stored(registry).await;
}

async fn body_shorter_or_longer_than_declared(registry: &Client) {
    let digest = sha256(b"0123456789");
    for declared in ["20", "5"] {
        let reply = registry
            .send(
                Method::POST,
                &format!("/v2/r/blobs/uploads/?digest={digest}"),
                &[("content-length", declared)],
                Body::from("0123456789"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{declared}");
        assert_eq!(reply.code(), "SIZE_INVALID");
    }
    let location = start_upload(registry, "r").await;
    let reply = registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-19")],
            Body::from("0123456789"),
        )
        .await;
    assert_eq!(reply.code(), "SIZE_INVALID");
    let status = registry.get(&location).await;
    assert_eq!(
        status.header("range"),
        "0-0",
        "a refused chunk leaves the upload as it was"
    );
    let disagreeing = registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-9"), ("content-length", "4")],
            Body::from("0123456789"),
        )
        .await;
    assert_eq!(disagreeing.code(), "SIZE_INVALID");
    assert_nothing_stored(registry).await;
}

async fn out_of_order_and_malformed_chunks_answer_416_with_the_range(registry: &Client) {
    let location = start_upload(registry, "r").await;
    let first = registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-4")],
            Body::from("01234"),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    for range in ["10-14", "0-4", "3-7"] {
        let reply = registry
            .send(
                Method::PATCH,
                &location,
                &[("content-range", range)],
                Body::from("56789"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(reply.header("range"), "0-4");
        assert_eq!(reply.header("location"), location);
        assert_eq!(reply.code(), "BLOB_UPLOAD_INVALID");
    }
    let malformed = registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "five-nine")],
            Body::from("56789"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let next = registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "5-9")],
            Body::from("56789"),
        )
        .await;
    assert_eq!(next.status, StatusCode::ACCEPTED);
    let digest = sha256(b"0123456789");
    let put = registry
        .send(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
}

async fn put_without_digest_and_unknown_sessions(registry: &Client) {
    let location = start_upload(registry, "r").await;
    let reply = registry
        .send(Method::PUT, &location, &[], Body::from("x"))
        .await;
    assert_eq!(reply.code(), "DIGEST_INVALID");
    for bad in [
        "/v2/r/blobs/uploads/0123456789abcdef0123456789abcdef",
        "/v2/r/blobs/uploads/x",
    ] {
        let reply = registry.get(bad).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(reply.code(), "BLOB_UPLOAD_UNKNOWN");
    }
    let traversal = registry.get("/v2/r/blobs/uploads/..%2F..%2Fetc").await;
    assert_eq!(traversal.status, StatusCode::NOT_FOUND);
    let elsewhere = location.replace("/v2/r/", "/v2/other/");
    assert_eq!(
        registry.get(&elsewhere).await.code(),
        "BLOB_UPLOAD_UNKNOWN",
        "a session belongs to its repository"
    );
}

async fn manifests_that_are_not_json_unknown_or_incomplete(registry: &Client) {
    let put = |body: Vec<u8>, content_type: &'static str| {
        let registry = &registry;
        async move {
            registry
                .send(
                    Method::PUT,
                    "/v2/m/manifests/v1",
                    &[("content-type", content_type)],
                    Body::from(body),
                )
                .await
        }
    };
    let not_json = put(b"{not json".to_vec(), OCI_MANIFEST).await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.code(), "MANIFEST_INVALID");

    let config = registry.push_blob("m", b"{}").await;
    let manifest = |layer: String| {
        json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
            "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": 1 }],
        })
    };
    let unknown_type = put(
        serde_json::to_vec(&manifest(config.clone())).unwrap(),
        "application/vnd.example+json",
    )
    .await;
    assert_eq!(unknown_type.code(), "MANIFEST_INVALID");
    assert!(
        unknown_type.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("application/vnd.oci.image.manifest.v1+json")
    );

    let missing = sha256(b"never pushed");
    let incomplete = put(
        serde_json::to_vec(&manifest(missing.clone())).unwrap(),
        OCI_MANIFEST,
    )
    .await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    assert_eq!(incomplete.code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(incomplete.json()["errors"][0]["detail"]["digest"], missing);

    let bytes = serde_json::to_vec(&manifest(config.clone())).unwrap();
    let wrong_digest = registry
        .send(
            Method::PUT,
            &format!("/v2/m/manifests/{}", sha256(b"other")),
            &[("content-type", OCI_MANIFEST)],
            Body::from(bytes),
        )
        .await;
    assert_eq!(wrong_digest.code(), "DIGEST_INVALID");
    assert!(
        registry.get("/v2/m/tags/list").await.json()["tags"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn oversized_manifest_is_refused(registry: &Client) {
    let huge = vec![b' '; 5 * 1024 * 1024];
    let reply = registry
        .send(
            Method::PUT,
            "/v2/m/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            Body::from(huge),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.code(), "SIZE_INVALID");
}

async fn invalid_names_are_refused(registry: &Client) {
    let long = "a".repeat(300);
    for name in ["a/../b", "..", "Upper", "a//b", long.as_str(), "a__-b"] {
        let reply = registry.get(&format!("/v2/{name}/tags/list")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(reply.code(), "NAME_INVALID", "{name}");
        let upload = registry
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(upload.code(), "NAME_INVALID", "{name}");
    }
    let bad_tag = registry.get("/v2/ok/manifests/-tag").await;
    assert_eq!(bad_tag.status, StatusCode::BAD_REQUEST);
    assert_nothing_stored(registry).await;
    assert_eq!(registry.upload_leftovers().await, Vec::<String>::new());
}

async fn client_disconnecting_mid_upload_leaves_the_session_as_it_was(registry: &Client) {
    let location = start_upload(registry, "r").await;
    registry
        .send(Method::PATCH, &location, &[], Body::from("first "))
        .await;
    let broken = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"half of a chunk")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ]);
    let reply = registry
        .send(Method::PATCH, &location, &[], Body::from_stream(broken))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(registry.get(&location).await.header("range"), "0-5");
    let digest = sha256(b"first second");
    let put = registry
        .send(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            Body::from("second"),
        )
        .await;
    assert_eq!(
        put.status,
        StatusCode::CREATED,
        "the upload resumes after the broken chunk"
    );

    let broken = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ]);
    let monolithic = registry
        .send(
            Method::POST,
            &format!("/v2/r/blobs/uploads/?digest={}", sha256(b"partial!")),
            &[],
            Body::from_stream(broken),
        )
        .await;
    assert_eq!(monolithic.code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(registry.staging_leftovers().await, Vec::<String>::new());
    assert_eq!(
        registry
            .get(&format!("/v2/r/blobs/{}", sha256(b"partial!")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn uploads_survive_a_restart() {
    let mut registry = Registry::new();
    let location = start_upload(&registry, "r").await;
    registry
        .send(
            Method::PATCH,
            &location,
            &[("content-range", "0-5")],
            Body::from("before"),
        )
        .await;
    registry.restart();
    assert_eq!(registry.get(&location).await.header("range"), "0-5");
    let digest = sha256(b"before after");
    let put = registry
        .send(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[("content-range", "6-11")],
            Body::from(" after"),
        )
        .await;
    assert_eq!(
        put.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&put.body)
    );
    assert_eq!(
        registry.get(&format!("/v2/r/blobs/{digest}")).await.body,
        b"before after"
    );
}

#[tokio::test]
async fn abandoned_uploads_expire() {
    let registry = Registry::new();
    let location = start_upload(&registry, "r").await;
    registry
        .send(Method::PATCH, &location, &[], Body::from("abandoned"))
        .await;
    let storage = &registry.storage;
    assert_eq!(
        storage
            .expire_uploads(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(storage.expire_uploads(Duration::ZERO).await.unwrap(), 1);
    assert_eq!(registry.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert!(registry.files().is_empty(), "{:?}", registry.files());
}

async fn concurrent_pushes_of_one_blob_and_one_tag(registry: &Client) {
    let content = vec![42u8; 1 << 20];
    let mut tasks = Vec::new();
    for i in 0..8 {
        let registry = registry.clone();
        let content = content.clone();
        tasks.push(tokio::spawn(async move {
            let digest = registry.push_blob("c", &content).await;
            let layer = format!("layer {i}");
            registry
                .push_image("c", "latest", &[content.as_slice(), layer.as_bytes()])
                .await;
            digest
        }));
    }
    let mut manifests = std::collections::HashSet::new();
    for task in tasks {
        manifests.insert(task.await.unwrap());
    }
    assert_eq!(manifests.len(), 1);
    let blob = registry
        .get(&format!("/v2/c/blobs/{}", sha256(&content)))
        .await;
    assert_eq!(blob.body, content);
    let tagged = registry.get("/v2/c/manifests/latest").await;
    assert_eq!(tagged.status, StatusCode::OK);
    assert_eq!(sha256(&tagged.body), tagged.header("docker-content-digest"));
    assert_eq!(registry.staging_leftovers().await, Vec::<String>::new());
}

async fn concurrent_chunks_on_one_session_apply_one_at_a_time(registry: &Client) {
    let location = start_upload(registry, "r").await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let registry = registry.clone();
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            registry
                .send(
                    Method::PATCH,
                    &location,
                    &[("content-range", "0-3")],
                    Body::from("abcd"),
                )
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::RANGE_NOT_SATISFIABLE)
            .count(),
        3
    );
    assert_eq!(registry.get(&location).await.header("range"), "0-3");
}

#[tokio::test]
async fn a_session_left_without_data_by_a_crash_is_unknown_and_expires() {
    let registry = Registry::new();
    let location = start_upload(&registry, "r").await;
    let id = location.rsplit('/').next().unwrap();
    std::fs::remove_file(registry.dir.path().join("uploads").join(id).join("data")).unwrap();
    let mut registry = registry;
    registry.restart();
    let reply = registry.get(&location).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.code(), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(
        registry
            .storage
            .expire_uploads(Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert!(registry.files().is_empty(), "{:?}", registry.files());
}

on_both_storages!(
    wrong_digest_is_refused_and_nothing_is_stored,
    digest_of_the_other_algorithm_is_refused,
    body_shorter_or_longer_than_declared,
    out_of_order_and_malformed_chunks_answer_416_with_the_range,
    put_without_digest_and_unknown_sessions,
    manifests_that_are_not_json_unknown_or_incomplete,
    oversized_manifest_is_refused,
    invalid_names_are_refused,
    client_disconnecting_mid_upload_leaves_the_session_as_it_was,
    concurrent_pushes_of_one_blob_and_one_tag,
    concurrent_chunks_on_one_session_apply_one_at_a_time,
);
