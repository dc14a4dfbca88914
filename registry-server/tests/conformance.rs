//! Every endpoint of the OCI Distribution Spec v1.1, with its status codes and headers, through `oneshot`: each case
//! runs on the local folder and on shared storage (Garage and PostgreSQL, started by the test).

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{
    Client, OCI_INDEX, OCI_MANIFEST, Registry, SharedServers, on_both_storages, sha256, sha512,
};
use serde_json::json;

async fn base_endpoint_answers_ok(registry: &Client) {
    for path in ["/v2/", "/v2"] {
        let reply = registry.get(path).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.header("docker-distribution-api-version"),
            "registry/2.0"
        );
    }
    assert_eq!(
        registry.get("/v2/a/unknown/x").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn monolithic_push_then_get_head_range_delete(registry: &Client) {
    let content = b"hello, registry";
    let digest = sha256(content);
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/a/b/blobs/uploads/?digest={digest}"),
            &[],
            Body::from(&content[..]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("location"), format!("/v2/a/b/blobs/{digest}"));
    assert_eq!(reply.header("docker-content-digest"), digest);

    let got = registry.get(&format!("/v2/a/b/blobs/{digest}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, content);
    assert_eq!(got.header("docker-content-digest"), digest);
    assert_eq!(got.header("content-length"), content.len().to_string());

    let head = registry
        .send(
            Method::HEAD,
            &format!("/v2/a/b/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), content.len().to_string());

    let part = registry
        .send(
            Method::GET,
            &format!("/v2/a/b/blobs/{digest}"),
            &[("range", "bytes=7-")],
            Body::empty(),
        )
        .await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, b"registry");
    assert_eq!(
        part.header("content-range"),
        format!("bytes 7-14/{}", content.len())
    );
    let beyond = registry
        .send(
            Method::GET,
            &format!("/v2/a/b/blobs/{digest}"),
            &[("range", "bytes=99-")],
            Body::empty(),
        )
        .await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        beyond.header("content-range"),
        format!("bytes */{}", content.len())
    );

    let other_repo = registry.get(&format!("/v2/other/blobs/{digest}")).await;
    assert_eq!(other_repo.status, StatusCode::NOT_FOUND);
    assert_eq!(other_repo.code(), "BLOB_UNKNOWN");

    let deleted = registry
        .send(
            Method::DELETE,
            &format!("/v2/a/b/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry
            .get(&format!("/v2/a/b/blobs/{digest}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let again = registry
        .send(
            Method::DELETE,
            &format!("/v2/a/b/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.code(), "BLOB_UNKNOWN");
}

async fn post_then_put_and_sha512(registry: &Client) {
    let content = vec![7u8; 100_000];
    for digest in [sha256(&content), sha512(&content)] {
        let started = registry
            .send(Method::POST, "/v2/r/blobs/uploads/", &[], Body::empty())
            .await;
        assert_eq!(started.status, StatusCode::ACCEPTED);
        assert_eq!(started.header("range"), "0-0");
        let location = started.header("location").to_string();
        assert!(location.starts_with("/v2/r/blobs/uploads/"), "{location}");
        assert!(!started.header("blob-upload-session-id").is_empty());
        let put = registry
            .send(
                Method::PUT,
                &format!("{location}?digest={digest}"),
                &[],
                Body::from(content.clone()),
            )
            .await;
        assert_eq!(
            put.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&put.body)
        );
        assert_eq!(put.header("docker-content-digest"), digest);
        assert_eq!(
            registry.get(&format!("/v2/r/blobs/{digest}")).await.body,
            content
        );
        assert_eq!(registry.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    }
}

async fn chunked_upload_with_status_and_final_chunk(registry: &Client) {
    let content: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256(&content);
    let location = registry
        .patch_chunks("r", &content, &[(0, 10_000), (10_000, 20_000)])
        .await;
    let status = registry.get(&location).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), "0-19999");
    registry
        .put_last_chunk(&location, &digest, &content, 20_000)
        .await;
    assert_eq!(
        registry.get(&format!("/v2/r/blobs/{digest}")).await.body,
        content
    );
    assert_eq!(registry.upload_leftovers().await, Vec::<String>::new());
}

async fn cancel_upload(registry: &Client) {
    let location = registry
        .send(Method::POST, "/v2/r/blobs/uploads/", &[], Body::empty())
        .await
        .header("location")
        .to_string();
    let cancelled = registry
        .send(Method::DELETE, &location, &[], Body::empty())
        .await;
    assert_eq!(cancelled.status, StatusCode::NO_CONTENT);
    let after = registry.get(&location).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(after.code(), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(
        registry
            .send(Method::DELETE, &location, &[], Body::empty())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn cross_repository_mount(registry: &Client) {
    let digest = registry.push_blob("source", b"shared layer").await;
    let mounted = registry
        .send(
            Method::POST,
            &format!("/v2/target/blobs/uploads/?mount={digest}&from=source"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(mounted.status, StatusCode::CREATED);
    assert_eq!(
        mounted.header("location"),
        format!("/v2/target/blobs/{digest}")
    );
    assert_eq!(
        registry
            .get(&format!("/v2/target/blobs/{digest}"))
            .await
            .body,
        b"shared layer"
    );

    let missing = sha256(b"nowhere");
    let fallback = registry
        .send(
            Method::POST,
            &format!("/v2/target/blobs/uploads/?mount={missing}&from=source"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(fallback.status, StatusCode::ACCEPTED);
    assert!(
        fallback
            .header("location")
            .starts_with("/v2/target/blobs/uploads/")
    );
}

async fn manifests_by_tag_and_digest(registry: &Client) {
    let (digest, bytes) = registry
        .push_image("app", "v1", &[b"layer one", b"layer two"])
        .await;
    for reference in ["v1", digest.as_str()] {
        let got = registry
            .get(&format!("/v2/app/manifests/{reference}"))
            .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body, bytes);
        assert_eq!(got.header("content-type"), OCI_MANIFEST);
        assert_eq!(got.header("docker-content-digest"), digest);
        let head = registry
            .send(
                Method::HEAD,
                &format!("/v2/app/manifests/{reference}"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.header("content-length"), bytes.len().to_string());
        assert!(head.body.is_empty());
    }
    let put_by_digest = registry
        .send(
            Method::PUT,
            &format!("/v2/app/manifests/{digest}"),
            &[("content-type", OCI_MANIFEST)],
            Body::from(bytes.clone()),
        )
        .await;
    assert_eq!(put_by_digest.status, StatusCode::CREATED);
    assert_eq!(
        put_by_digest.header("location"),
        format!("/v2/app/manifests/{digest}")
    );

    let untagged = registry
        .send(Method::DELETE, "/v2/app/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(untagged.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry.get("/v2/app/manifests/v1").await.code(),
        "MANIFEST_UNKNOWN"
    );
    assert_eq!(
        registry
            .get(&format!("/v2/app/manifests/{digest}"))
            .await
            .status,
        StatusCode::OK
    );

    registry
        .push_image("app", "v2", &[b"layer one", b"layer two"])
        .await;
    let deleted = registry
        .send(
            Method::DELETE,
            &format!("/v2/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry
            .get(&format!("/v2/app/manifests/{digest}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.get("/v2/app/manifests/v2").await.status,
        StatusCode::NOT_FOUND,
        "tags of a deleted manifest go"
    );
    let again = registry
        .send(
            Method::DELETE,
            &format!("/v2/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

async fn docker_schema2_manifest_and_list(registry: &Client) {
    let config = registry
        .push_blob("d", b"{\"architecture\":\"amd64\"}")
        .await;
    let layer = registry.push_blob("d", b"tar bytes").await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": { "mediaType": "application/vnd.docker.container.image.v1+json", "digest": config, "size": 24 },
        "layers": [{ "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 9 }],
    });
    let docker = "application/vnd.docker.distribution.manifest.v2+json";
    let (digest, bytes) = registry.put_manifest("d", "amd64", docker, &manifest).await;
    let list = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [{ "mediaType": docker, "digest": digest, "size": bytes.len(),
                        "platform": { "architecture": "amd64", "os": "linux" } }],
    });
    let list_type = "application/vnd.docker.distribution.manifest.list.v2+json";
    registry.put_manifest("d", "latest", list_type, &list).await;
    assert_eq!(
        registry
            .get("/v2/d/manifests/latest")
            .await
            .header("content-type"),
        list_type
    );
    assert_eq!(
        registry
            .get("/v2/d/manifests/amd64")
            .await
            .header("content-type"),
        docker
    );
}

async fn oci_index_needs_its_manifests(registry: &Client) {
    let (digest, bytes) = registry.push_image("i", "one", &[b"x"]).await;
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": OCI_MANIFEST, "digest": digest, "size": bytes.len() }],
    });
    registry.put_manifest("i", "multi", OCI_INDEX, &index).await;
    let missing = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{ "mediaType": OCI_MANIFEST, "digest": sha256(b"absent"), "size": 3 }],
    });
    let reply = registry
        .send(
            Method::PUT,
            "/v2/i/manifests/broken",
            &[("content-type", OCI_INDEX)],
            Body::from(serde_json::to_vec(&missing).unwrap()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
}

async fn tags_list_paginates_with_link(registry: &Client) {
    for tag in ["v3", "v1", "latest", "v2"] {
        registry.push_image("t", tag, &[b"l"]).await;
    }
    let all = registry.get("/v2/t/tags/list").await;
    assert_eq!(
        all.json(),
        json!({ "name": "t", "tags": ["latest", "v1", "v2", "v3"] })
    );
    assert_eq!(all.header("link"), "");
    let first = registry.get("/v2/t/tags/list?n=2").await;
    assert_eq!(first.json()["tags"], json!(["latest", "v1"]));
    assert_eq!(
        first.header("link"),
        "</v2/t/tags/list?n=2&last=v1>; rel=\"next\""
    );
    let second = registry.get("/v2/t/tags/list?n=2&last=v1").await;
    assert_eq!(second.json()["tags"], json!(["v2", "v3"]));
    assert_eq!(second.header("link"), "");
    let bad = registry.get("/v2/t/tags/list?n=many").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("non-negative integer")
    );
    let unknown = registry.get("/v2/nothing/tags/list").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "NAME_UNKNOWN");
}

async fn catalog_paginates(registry: &Client) {
    for repo in ["b", "a/x", "a", "c/d/e"] {
        registry.push_blob(repo, b"z").await;
    }
    assert_eq!(
        registry.get("/v2/_catalog").await.json(),
        json!({ "repositories": ["a", "a/x", "b", "c/d/e"] })
    );
    let first = registry.get("/v2/_catalog?n=3").await;
    assert_eq!(first.json()["repositories"], json!(["a", "a/x", "b"]));
    assert_eq!(
        first.header("link"),
        "</v2/_catalog?n=3&last=b>; rel=\"next\""
    );
    assert_eq!(
        registry.get("/v2/_catalog?n=3&last=b").await.json()["repositories"],
        json!(["c/d/e"])
    );
}

async fn referrers_with_subject_and_artifact_type_filter(registry: &Client) {
    let (subject, subject_bytes) = registry.push_image("s", "v1", &[b"app"]).await;
    let empty = registry.push_blob("s", b"{}").await;
    let mut referrers = Vec::new();
    for (artifact_type, payload) in [
        ("application/vnd.example.sig", "sig"),
        ("application/spdx+json", "sbom"),
    ] {
        let layer = registry.push_blob("s", payload.as_bytes()).await;
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2 },
            "layers": [{ "mediaType": "application/octet-stream", "digest": layer, "size": payload.len() }],
            "subject": { "mediaType": OCI_MANIFEST, "digest": subject, "size": subject_bytes.len() },
            "annotations": { "org.example.kind": payload },
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let digest = sha256(&bytes);
        let reply = registry
            .send(
                Method::PUT,
                &format!("/v2/s/manifests/{digest}"),
                &[("content-type", OCI_MANIFEST)],
                Body::from(bytes),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.header("oci-subject"), subject);
        referrers.push(digest);
    }
    let listed = registry.get(&format!("/v2/s/referrers/{subject}")).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.header("content-type"), OCI_INDEX);
    assert_eq!(listed.header("oci-filters-applied"), "");
    let index = listed.json();
    assert_eq!(index["mediaType"], OCI_INDEX);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);

    let filtered = registry
        .get(&format!(
            "/v2/s/referrers/{subject}?artifactType=application/spdx%2Bjson"
        ))
        .await;
    assert_eq!(filtered.header("oci-filters-applied"), "artifactType");
    let manifests = filtered.json()["manifests"].clone();
    assert_eq!(manifests.as_array().unwrap().len(), 1);
    assert_eq!(manifests[0]["digest"], referrers[1]);
    assert_eq!(manifests[0]["artifactType"], "application/spdx+json");
    assert_eq!(manifests[0]["annotations"]["org.example.kind"], "sbom");

    registry
        .send(
            Method::DELETE,
            &format!("/v2/s/manifests/{}", referrers[1]),
            &[],
            Body::empty(),
        )
        .await;
    let after = registry
        .get(&format!("/v2/s/referrers/{subject}"))
        .await
        .json();
    assert_eq!(after["manifests"].as_array().unwrap().len(), 1);

    let none = registry
        .get(&format!("/v2/s/referrers/{}", sha256(b"unknown subject")))
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["manifests"], json!([]));
    assert_eq!(
        registry.get("/v2/s/referrers/sha256:nope").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn empty_blob_and_a_subject_not_yet_pushed(registry: &Client) {
    let empty = registry.push_blob("e", b"").await;
    assert_eq!(
        empty,
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let fetched = registry.get(&format!("/v2/e/blobs/{empty}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert!(fetched.body.is_empty());

    let config = registry.push_blob("e", b"{}").await;
    let absent_subject = sha256(b"a manifest pushed later");
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2 },
        "layers": [],
        "subject": { "mediaType": OCI_MANIFEST, "digest": absent_subject, "size": 123 },
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let reply = registry
        .send(
            Method::PUT,
            &format!("/v2/e/manifests/{}", sha256(&bytes)),
            &[("content-type", OCI_MANIFEST)],
            Body::from(bytes),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "a subject need not exist yet"
    );
    assert_eq!(reply.header("oci-subject"), absent_subject);
    let listed = registry
        .get(&format!("/v2/e/referrers/{absent_subject}"))
        .await
        .json();
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 1);
}

/// Blobs larger than one part of an object store's multipart upload, sent whole and in chunks, come back intact.
async fn large_blobs_whole_and_in_chunks(registry: &Client) {
    let content: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let digest = sha256(&content);
    let whole = registry
        .send(
            Method::POST,
            &format!("/v2/big/blobs/uploads/?digest={digest}"),
            &[],
            Body::from(content.clone()),
        )
        .await;
    assert_eq!(whole.status, StatusCode::CREATED);
    let chunked_content: Vec<u8> = content.iter().rev().copied().collect();
    let chunked_digest = sha256(&chunked_content);
    let location = registry
        .patch_chunks(
            "big",
            &chunked_content,
            &[(0, 9_000_000), (9_000_000, 18_000_000)],
        )
        .await;
    registry
        .put_last_chunk(&location, &chunked_digest, &chunked_content, 18_000_000)
        .await;
    assert_eq!(
        registry.get(&format!("/v2/big/blobs/{digest}")).await.body,
        content
    );
    assert_eq!(
        registry
            .get(&format!("/v2/big/blobs/{chunked_digest}"))
            .await
            .body,
        chunked_content
    );
    let range = registry
        .send(
            Method::GET,
            &format!("/v2/big/blobs/{digest}"),
            &[("range", "bytes=10000000-10000009")],
            Body::empty(),
        )
        .await;
    assert_eq!(range.body, &content[10_000_000..10_000_010]);
    assert_eq!(registry.upload_leftovers().await, Vec::<String>::new());
}

/// Downloads `url` (plain HTTP on loopback, as Garage serves it here) with `headers`; returns status and body.
fn fetch(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    stream
        .write_all(format!("{request}\r\n").as_bytes())
        .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&reply[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply[split + 4..].to_vec();
    // Garage answers small bodies in one piece; a chunked body would start with its size line.
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, body)
}

#[tokio::test]
async fn shared_storage_can_send_downloads_to_the_bucket() {
    let servers = SharedServers::start();
    let registry = servers.redirecting("redirected").await;
    let content = b"fetched from the bucket itself";
    let digest = registry.push_blob("r", content).await;
    let reply = registry.get(&format!("/v2/r/blobs/{digest}")).await;
    assert_eq!(reply.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(reply.header("docker-content-digest"), digest);
    let location = reply.header("location").to_string();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert_eq!(fetch(&location, &[]), (200, content.to_vec()));
    assert_eq!(
        fetch(&location, &[("Range", "bytes=8-11")]),
        (206, b"from".to_vec())
    );
    let head = registry
        .send(
            Method::HEAD,
            &format!("/v2/r/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK, "HEAD answers itself");
    assert_eq!(head.header("content-length"), content.len().to_string());
    let unknown = registry
        .get(&format!("/v2/r/blobs/{}", sha256(b"never pushed")))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::NOT_FOUND,
        "no URL for what the repository lacks"
    );
}

on_both_storages!(
    large_blobs_whole_and_in_chunks,
    base_endpoint_answers_ok,
    monolithic_push_then_get_head_range_delete,
    post_then_put_and_sha512,
    chunked_upload_with_status_and_final_chunk,
    cancel_upload,
    cross_repository_mount,
    manifests_by_tag_and_digest,
    docker_schema2_manifest_and_list,
    oci_index_needs_its_manifests,
    tags_list_paginates_with_link,
    catalog_paginates,
    referrers_with_subject_and_artifact_type_filter,
    empty_blob_and_a_subject_not_yet_pushed,
);
