//! Garbage collection: what no tag reaches goes, what a tag or referrer reaches stays, fresh content stays.

mod common;

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Client, OCI_MANIFEST, Registry, SharedServers, sha256};
use registry_server::storage::{GcOptions, GcReport};
use serde_json::json;

const HOUR: Duration = Duration::from_secs(3600);

/// Makes every file under the root look two hours old.
fn age_everything(registry: &Registry) {
    let old = SystemTime::now() - 2 * HOUR;
    for file in registry.files() {
        let file = std::fs::File::options()
            .write(true)
            .open(registry.dir.path().join(file))
            .unwrap();
        file.set_modified(old).unwrap();
    }
}

async fn gc(registry: &Registry, grace: Duration, dry_run: bool) -> GcReport {
    registry
        .storage
        .collect_garbage(&GcOptions { grace, dry_run })
        .await
        .unwrap()
}

/// Pushes an artifact whose subject is `subject`; returns its digest.
async fn push_referrer(
    registry: &Client,
    repo: &str,
    subject: &(String, Vec<u8>),
    payload: &[u8],
) -> String {
    let empty = registry.push_blob(repo, b"{}").await;
    let layer = registry.push_blob(repo, payload).await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2 },
        "layers": [{ "mediaType": "application/octet-stream", "digest": layer, "size": payload.len() }],
        "subject": { "mediaType": OCI_MANIFEST, "digest": subject.0, "size": subject.1.len() },
    });
    let digest = sha256(&serde_json::to_vec(&manifest).unwrap());
    registry
        .put_manifest(repo, &digest, OCI_MANIFEST, &manifest)
        .await;
    digest
}

/// What the collection tests push: an image tagged `v1` with a signature, an image whose tag was deleted with its
/// own signature, and a blob only the repository `other` links.
struct Pushed {
    tagged: (String, Vec<u8>),
    kept_sig: String,
    untagged: (String, Vec<u8>),
    lost_sig: String,
}

async fn push_garbage(registry: &Client) -> Pushed {
    let tagged = registry
        .push_image("app", "v1", &[b"kept layer", b"shared layer"])
        .await;
    let kept_sig = push_referrer(registry, "app", &tagged, b"signature of v1").await;
    let untagged = registry
        .push_image("app", "old", &[b"lost layer", b"shared layer"])
        .await;
    registry
        .send(Method::DELETE, "/v2/app/manifests/old", &[], Body::empty())
        .await;
    let lost_sig = push_referrer(registry, "app", &untagged, b"signature of old").await;
    registry.push_blob("other", b"kept layer").await;
    Pushed {
        tagged,
        kept_sig,
        untagged,
        lost_sig,
    }
}

/// Asserts that what a tag reaches is left, with its content and referrers, and that the rest is gone.
async fn assert_only_reached_left(registry: &Client, pushed: &Pushed) {
    for digest in [&pushed.tagged.0, &pushed.kept_sig] {
        assert_eq!(
            registry
                .get(&format!("/v2/app/manifests/{digest}"))
                .await
                .status,
            StatusCode::OK
        );
    }
    for layer in [
        b"kept layer".as_slice(),
        b"shared layer",
        b"signature of v1",
    ] {
        let reply = registry
            .get(&format!("/v2/app/blobs/{}", sha256(layer)))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, layer);
    }
    for digest in [&pushed.untagged.0, &pushed.lost_sig] {
        assert_eq!(
            registry
                .get(&format!("/v2/app/manifests/{digest}"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        registry
            .get(&format!("/v2/app/blobs/{}", sha256(b"lost layer")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let referrers = registry
        .get(&format!("/v2/app/referrers/{}", pushed.tagged.0))
        .await
        .json();
    assert_eq!(referrers["manifests"][0]["digest"], pushed.kept_sig);
    assert_eq!(referrers["manifests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn removes_what_no_tag_or_referrer_reaches() {
    let registry = Registry::new();
    let pushed = push_garbage(&registry).await;
    age_everything(&registry);

    let fresh = gc(&registry, 3 * HOUR, false).await;
    assert_eq!(
        fresh,
        GcReport::default(),
        "everything is within the grace period"
    );
    let dry = gc(&registry, HOUR, true).await;
    let files_before = registry.files();
    assert!(dry.manifests > 0);
    let report = gc(&registry, HOUR, false).await;
    assert_eq!(report, dry, "a dry run reports what a real run removes");
    assert_ne!(registry.files(), files_before);
    assert_eq!(report.manifests, 2, "the untagged image and its signature");
    assert_eq!(
        report.blob_links, 3,
        "lost layer, old signature's layer, the blob only `other` linked"
    );
    assert_eq!(
        report.blobs, 4,
        "the two manifests, the lost layer and the old signature's layer"
    );
    assert_only_reached_left(&registry, &pushed).await;
    assert!(
        !registry
            .files()
            .contains(&format!("blobs/sha256/{}", &sha256(b"lost layer")[7..]))
    );
    assert_eq!(
        gc(&registry, HOUR, false).await,
        GcReport::default(),
        "a second run finds nothing"
    );
}

#[tokio::test]
async fn a_blob_a_client_just_checked_survives() {
    let registry = Registry::new();
    let digest = registry.push_blob("app", b"about to be referenced").await;
    age_everything(&registry);
    let head = registry
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(gc(&registry, HOUR, false).await, GcReport::default());
    registry
        .push_image("app", "v1", &[b"about to be referenced"])
        .await;
    assert_eq!(
        gc(&registry, Duration::ZERO, false).await,
        GcReport::default(),
        "now a tag reaches it"
    );
}

/// The same collection on shared storage, pushed through one replica and collected by another; a zero grace period
/// stands for "long ago" (rows carry the database's time, which a test cannot age).
#[tokio::test]
async fn on_shared_storage_a_collection_by_any_replica_removes_what_nothing_reaches() {
    let servers = SharedServers::start();
    let mut replicas = servers.replicas("gc", 2).await;
    let (collector, _) = replicas.pop().unwrap();
    let (_, pusher) = replicas.pop().unwrap();
    let pushed = push_garbage(&pusher).await;
    let collect = |grace, dry_run| {
        let collector = collector.clone();
        async move {
            collector
                .collect_garbage(&GcOptions { grace, dry_run })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        collect(HOUR, false).await,
        GcReport::default(),
        "everything is within the grace period"
    );
    let dry = collect(Duration::ZERO, true).await;
    let report = collect(Duration::ZERO, false).await;
    assert_eq!(report, dry, "a dry run reports what a real run removes");
    assert_eq!(report.manifests, 2, "the untagged image and its signature");
    assert_eq!(
        report.blob_links, 3,
        "lost layer, old signature's layer, the blob only `other` linked"
    );
    assert_eq!(
        report.blobs, 2,
        "the lost layer and the old signature's layer (manifests are rows)"
    );
    assert_only_reached_left(&pusher, &pushed).await;
    // The lost layer pushed again is stored again: its row and its object went together.
    pusher.push_blob("app", b"lost layer").await;
    let again = pusher
        .get(&format!("/v2/app/blobs/{}", sha256(b"lost layer")))
        .await;
    assert_eq!(again.body, b"lost layer");
}
