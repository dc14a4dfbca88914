//! Replicas of one shared registry (Garage + PostgreSQL) racing each other. Eight clients pushing at once through two
//! replicas: the same and different tags, shared and distinct layers (whole, in chunks that land on both replicas,
//! and mounted), and referrers of what they pushed; afterwards each replica answers the same, complete state: every
//! tag names a manifest pushed under it whose blobs are all there, every referrer is listed, and no upload left
//! anything behind. Pushes racing deletes and mounts both ways, and pushes racing garbage collection on both
//! replicas: every request answers as the spec says (never a server error, such as a deadlock) and what stays is
//! whole.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Client, OCI_MANIFEST, SharedServers, sha256};
use registry_server::Storage;
use registry_server::storage::{GcOptions, GcReport};
use serde_json::json;

const CLIENTS: usize = 8;
const ROUNDS: usize = 2;
/// The repository every client pushes to; each also has one of its own (`team/c<N>`).
const SHARED_REPO: &str = "team/shared";
/// A layer every client pushes in chunks: larger than one part of a multipart upload (8 MiB).
const BASE_LAYER_BYTES: usize = 9 << 20;

/// What the clients pushed.
#[derive(Default)]
struct Pushed {
    /// The manifests pushed under each tag, by repository and tag.
    tags: BTreeMap<(String, String), BTreeSet<String>>,
    /// Every manifest pushed, by repository and digest.
    manifests: BTreeSet<(String, String)>,
    /// The referrers pushed, by repository and subject.
    referrers: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Pushed {
    fn merge(&mut self, other: Pushed) {
        for (key, digests) in other.tags {
            self.tags.entry(key).or_default().extend(digests);
        }
        self.manifests.extend(other.manifests);
        for (key, digests) in other.referrers {
            self.referrers.entry(key).or_default().extend(digests);
        }
    }

    fn repositories(&self) -> BTreeSet<String> {
        self.manifests
            .iter()
            .map(|(repo, _)| repo.clone())
            .collect()
    }
}

#[tokio::test]
async fn eight_clients_push_through_two_replicas_and_every_replica_sees_it_all() {
    let servers = SharedServers::start();
    let replicas = servers.replicas("concurrent", 2).await;
    let direct: Vec<Client> = replicas.iter().map(|(_, client)| client.clone()).collect();
    let base = Arc::new(content("base layer", BASE_LAYER_BYTES));

    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        // Half the clients alternate between the replicas, half stay on one.
        let through = if client % 2 == 0 {
            Client::round_robin(&direct)
        } else {
            direct[(client / 2) % 2].clone()
        };
        tasks.push(tokio::spawn(push_as(through, client, base.clone())));
    }
    let mut pushed = Pushed::default();
    for task in tasks {
        pushed.merge(task.await.unwrap());
    }

    let mut answers = Vec::new();
    for replica in &direct {
        answers.push(check_through(replica, &pushed).await);
    }
    assert_eq!(
        answers[0], answers[1],
        "both replicas name the same manifests"
    );
    for (storage, replica) in &replicas {
        assert_eq!(replica.upload_leftovers().await, Vec::<String>::new());
        assert_eq!(
            storage.expire_uploads(Duration::ZERO).await.unwrap(),
            0,
            "no upload session is left open"
        );
    }
}

/// Client number `n`'s pushes, `ROUNDS` times over: to the shared repository an image every client pushes alike
/// (tag `round-<R>`) and one of its own (tags `latest`, which every client moves, and `c<N>-r<R>`); to its own
/// repository an image whose base layer is mounted from the shared one (tag `v<R>`); a signature of each of these,
/// and of whatever `latest` names at that moment.
async fn push_as(client: Client, n: usize, base: Arc<Vec<u8>>) -> Pushed {
    let own = format!("team/c{n}");
    let mut pushed = Pushed::default();
    for round in 0..ROUNDS {
        let distinct = content(&format!("client {n} round {round}"), 200_000);
        let base_layer = push_chunked(&client, SHARED_REPO, &base).await;
        let common_layer = layer(&client.push_blob(SHARED_REPO, b"common layer").await, 12);
        let distinct_layer = push_chunked(&client, SHARED_REPO, &distinct).await;
        let alike = image(&client, SHARED_REPO, &[&base_layer, &common_layer]).await;
        let mine = image(
            &client,
            SHARED_REPO,
            &[&base_layer, &common_layer, &distinct_layer],
        )
        .await;
        let own_base = mount(&client, &own, &base_layer, SHARED_REPO).await;
        let own_distinct = layer(&client.push_blob(&own, &distinct).await, distinct.len());
        let own_image = image(&client, &own, &[&own_base, &own_distinct]).await;

        let tagged = [
            (SHARED_REPO, &alike, format!("round-{round}")),
            (SHARED_REPO, &mine, "latest".to_string()),
            (SHARED_REPO, &mine, format!("c{n}-r{round}")),
            (own.as_str(), &own_image, format!("v{round}")),
        ];
        for (repo, manifest, tag) in tagged {
            let (digest, _) = client
                .put_manifest(repo, &tag, OCI_MANIFEST, manifest)
                .await;
            pushed
                .tags
                .entry((repo.to_string(), tag))
                .or_default()
                .insert(digest.clone());
            pushed.manifests.insert((repo.to_string(), digest));
        }

        let latest = client
            .get(&format!("/v2/{SHARED_REPO}/manifests/latest"))
            .await;
        assert_eq!(latest.status, StatusCode::OK);
        let signed = [
            (SHARED_REPO, descriptor_of(&alike)),
            (SHARED_REPO, descriptor_of(&mine)),
            (own.as_str(), descriptor_of(&own_image)),
            (SHARED_REPO, manifest_descriptor(&latest.body)),
        ];
        for (repo, subject) in signed {
            let signature = sign(&client, repo, &subject, n).await;
            let subject = subject["digest"].as_str().unwrap().to_string();
            pushed
                .referrers
                .entry((repo.to_string(), subject))
                .or_default()
                .insert(signature.clone());
            pushed.manifests.insert((repo.to_string(), signature));
        }
    }
    pushed
}

/// Checks what `replica` answers against what was pushed; returns the manifest each tag names.
async fn check_through(replica: &Client, pushed: &Pushed) -> BTreeMap<(String, String), String> {
    let catalog = replica.get("/v2/_catalog").await.json();
    let listed: BTreeSet<String> = strings(&catalog["repositories"]);
    assert_eq!(listed, pushed.repositories());

    let mut checked_blobs = BTreeSet::new();
    for repo in pushed.repositories() {
        let tags = replica.get(&format!("/v2/{repo}/tags/list")).await.json();
        let expected: BTreeSet<String> = pushed
            .tags
            .keys()
            .filter(|(tagged, _)| *tagged == repo)
            .map(|(_, tag)| tag.clone())
            .collect();
        assert_eq!(strings(&tags["tags"]), expected, "the tags of {repo}");
    }

    let mut named = BTreeMap::new();
    for ((repo, tag), digests) in &pushed.tags {
        let reply = replica.get(&format!("/v2/{repo}/manifests/{tag}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{repo}:{tag}");
        let digest = sha256(&reply.body);
        assert_eq!(reply.header("docker-content-digest"), digest);
        assert!(
            digests.contains(&digest),
            "{repo}:{tag} names {digest}, which was not pushed under it"
        );
        named.insert((repo.clone(), tag.clone()), digest);
    }

    for (repo, digest) in &pushed.manifests {
        let reply = replica.get(&format!("/v2/{repo}/manifests/{digest}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{repo}@{digest}");
        assert_eq!(sha256(&reply.body), *digest);
        check_blobs(replica, repo, &reply.json(), &mut checked_blobs).await;
    }

    for ((repo, subject), signatures) in &pushed.referrers {
        let reply = replica
            .get(&format!("/v2/{repo}/referrers/{subject}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let listed: BTreeSet<String> = reply.json()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|referrer| referrer["digest"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&listed, signatures, "the referrers of {repo}@{subject}");
    }
    named
}

/// The config and layers of an image manifest are in `repo` with their sizes; the content of each (read once per
/// repository and `checked`) has its digest.
async fn check_blobs(
    replica: &Client,
    repo: &str,
    manifest: &serde_json::Value,
    checked: &mut BTreeSet<(String, String)>,
) {
    let layers = manifest["layers"].as_array().unwrap();
    for descriptor in layers.iter().chain([&manifest["config"]]) {
        let digest = descriptor["digest"].as_str().unwrap();
        let uri = format!("/v2/{repo}/blobs/{digest}");
        let head = replica.send(Method::HEAD, &uri, &[], Body::empty()).await;
        assert_eq!(head.status, StatusCode::OK, "{repo}@{digest}");
        assert_eq!(
            head.header("content-length"),
            descriptor["size"].to_string(),
            "{repo}@{digest}"
        );
        if checked.insert((repo.to_string(), digest.to_string())) {
            let got = replica.get(&uri).await;
            assert_eq!(got.status, StatusCode::OK);
            assert_eq!(sha256(&got.body), digest, "the content of {repo}@{digest}");
        }
    }
}

/// Deterministic content of `len` bytes, different for each `label`.
fn content(label: &str, len: usize) -> Vec<u8> {
    let seed = label.bytes().fold(0u32, |seed, byte| {
        seed.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Pushes `content` in three pieces (two PATCHes and the closing PUT); returns its layer descriptor.
async fn push_chunked(client: &Client, repo: &str, content: &[u8]) -> serde_json::Value {
    let digest = sha256(content);
    let third = content.len() / 3;
    let location = client
        .patch_chunks(repo, content, &[(0, third), (third, 2 * third)])
        .await;
    client
        .put_last_chunk(&location, &digest, content, 2 * third)
        .await;
    layer(&digest, content.len())
}

/// Mounts the blob of `layer` from `from` into `repo`; returns the layer.
async fn mount(
    client: &Client,
    repo: &str,
    layer: &serde_json::Value,
    from: &str,
) -> serde_json::Value {
    let digest = layer["digest"].as_str().unwrap();
    let reply = client
        .send(
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "mounting {digest} into {repo}"
    );
    layer.clone()
}

fn layer(digest: &str, size: usize) -> serde_json::Value {
    json!({ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size })
}

/// An image manifest of `layers` and an empty config (pushed to `repo`).
async fn image(client: &Client, repo: &str, layers: &[&serde_json::Value]) -> serde_json::Value {
    let config = client.push_blob(repo, b"{}").await;
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
        "layers": layers,
    })
}

/// The descriptor of a manifest about to be pushed.
fn descriptor_of(manifest: &serde_json::Value) -> serde_json::Value {
    manifest_descriptor(&serde_json::to_vec(manifest).unwrap())
}

fn manifest_descriptor(bytes: &[u8]) -> serde_json::Value {
    json!({ "mediaType": OCI_MANIFEST, "digest": sha256(bytes), "size": bytes.len() })
}

/// Pushes client `n`'s signature of `subject` to `repo`, by digest; returns its digest.
async fn sign(client: &Client, repo: &str, subject: &serde_json::Value, n: usize) -> String {
    let empty = client.push_blob(repo, b"{}").await;
    let payload = format!("signature of {} by client {n}", subject["digest"]);
    let signature = client.push_blob(repo, payload.as_bytes()).await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2 },
        "layers": [{ "mediaType": "application/octet-stream", "digest": signature, "size": payload.len() }],
        "subject": subject,
    });
    let digest = sha256(&serde_json::to_vec(&manifest).unwrap());
    let (pushed, _) = client
        .put_manifest(repo, &digest, OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(pushed, digest);
    digest
}

fn strings(list: &serde_json::Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|entry| entry.as_str().unwrap().to_string())
        .collect()
}

/// Pushes to a tag racing deletes of that tag and of the manifests it named, and mounts of one blob between two
/// repositories in both directions, all through both replicas: every request gets the spec's answer (never a
/// server error), and what stays is whole.
#[tokio::test]
async fn deletes_and_mounts_racing_pushes_through_two_replicas() {
    const ROUNDS: usize = 40;
    let servers = SharedServers::start();
    let direct: Vec<Client> = servers
        .replicas("racing", 2)
        .await
        .into_iter()
        .map(|(_, client)| client)
        .collect();
    let client = Client::round_robin(&direct);
    let shared = client.push_blob("race/a", b"mounted back and forth").await;
    client.push_blob("race/b", b"mounted back and forth").await;

    let mut tasks = Vec::new();
    for worker in 0..CLIENTS {
        let client = client.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for round in 0..ROUNDS {
                let request = match worker % 4 {
                    0 => {
                        let layer = format!("worker {worker} round {round}");
                        client
                            .push_image("race/a", "latest", &[layer.as_bytes()])
                            .await;
                        continue;
                    }
                    1 => (Method::DELETE, "/v2/race/a/manifests/latest".to_string()),
                    2 => {
                        let named = client.get("/v2/race/a/manifests/latest").await;
                        let digest = named.header("docker-content-digest");
                        if digest.is_empty() {
                            continue;
                        }
                        (Method::DELETE, format!("/v2/race/a/manifests/{digest}"))
                    }
                    _ => {
                        let (to, from) = if worker < 4 { ("a", "b") } else { ("b", "a") };
                        let uri =
                            format!("/v2/race/{to}/blobs/uploads/?mount={shared}&from=race/{from}");
                        (Method::POST, uri)
                    }
                };
                let (method, uri) = request;
                let reply = client.send(method.clone(), &uri, &[], Body::empty()).await;
                answers.push((
                    method,
                    uri,
                    reply.status,
                    String::from_utf8_lossy(&reply.body).to_string(),
                ));
            }
            answers
        }));
    }
    for task in tasks {
        for (method, uri, status, body) in task.await.unwrap() {
            let expected: &[StatusCode] = if method == Method::POST {
                &[StatusCode::CREATED]
            } else {
                &[StatusCode::ACCEPTED, StatusCode::NOT_FOUND]
            };
            assert!(
                expected.contains(&status),
                "{method} {uri}: {status} {body}"
            );
        }
    }

    for replica in &direct {
        let tags = strings(&replica.get("/v2/race/a/tags/list").await.json()["tags"]);
        for tag in tags {
            let reply = replica.get(&format!("/v2/race/a/manifests/{tag}")).await;
            assert_eq!(reply.status, StatusCode::OK);
            check_blobs(replica, "race/a", &reply.json(), &mut BTreeSet::new()).await;
        }
        for repo in ["race/a", "race/b"] {
            let blob = replica.get(&format!("/v2/{repo}/blobs/{shared}")).await;
            assert_eq!(blob.body, b"mounted back and forth");
        }
    }
    assert_eq!(client.upload_leftovers().await, Vec::<String>::new());
}

/// Each client moves its tag back and forth between two images, pausing about a grace period in between, while both
/// replicas collect garbage over and over: the image a tag left is collected (manifest, links, blob objects) around
/// the time it is pushed again. No collection fails, every push succeeds, and each tag keeps the image last pushed
/// under it, whole.
#[tokio::test]
async fn garbage_collection_racing_pushes_keeps_every_tag_whole() {
    const PUSHERS: usize = 4;
    const ROUNDS: usize = 6;
    const GRACE: Duration = Duration::from_secs(1);
    let servers = SharedServers::start();
    let replicas = servers.replicas("collected", 2).await;
    let direct: Vec<Client> = replicas.iter().map(|(_, client)| client.clone()).collect();

    let pushing = Arc::new(AtomicBool::new(true));
    let mut collectors = Vec::new();
    for (storage, _) in &replicas {
        let (storage, pushing) = (storage.clone(), pushing.clone());
        collectors.push(tokio::spawn(async move {
            let options = GcOptions {
                grace: GRACE,
                dry_run: false,
            };
            let mut collected = GcReport::default();
            while pushing.load(Ordering::Relaxed) {
                let report = storage.collect_garbage(&options).await.unwrap();
                collected.manifests += report.manifests;
                collected.blobs += report.blobs;
            }
            collected
        }));
    }
    let mut pushers = Vec::new();
    for pusher in 0..PUSHERS {
        let client = Client::round_robin(&direct);
        pushers.push(tokio::spawn(async move {
            let mut last = String::new();
            for round in 0..ROUNDS {
                let layer = format!("pusher {pusher} image {}", round % 2);
                let tag = format!("t{pusher}");
                last = client
                    .push_image("collected", &tag, &[layer.as_bytes()])
                    .await
                    .0;
                // From 0.8 to 1.4 grace periods: the image left goes shortly before or after it comes back.
                let tenths = 8 + 2 * ((pusher + round) % 4) as u32;
                tokio::time::sleep(GRACE * tenths / 10).await;
            }
            last
        }));
    }
    let mut last_pushed = Vec::new();
    for pusher in pushers {
        last_pushed.push(pusher.await.unwrap());
    }
    pushing.store(false, Ordering::Relaxed);
    for collector in collectors {
        let collected = collector.await.unwrap();
        assert!(
            collected.manifests > 0 && collected.blobs > 0,
            "images left by their tags were collected meanwhile: {collected:?}"
        );
    }

    let everything = GcOptions {
        grace: Duration::ZERO,
        dry_run: false,
    };
    replicas[0].0.collect_garbage(&everything).await.unwrap();
    for replica in &direct {
        for (pusher, digest) in last_pushed.iter().enumerate() {
            let reply = replica
                .get(&format!("/v2/collected/manifests/t{pusher}"))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "t{pusher}");
            assert_eq!(
                sha256(&reply.body),
                *digest,
                "t{pusher} names the last push"
            );
            check_blobs(replica, "collected", &reply.json(), &mut BTreeSet::new()).await;
            let left = sha256(format!("pusher {pusher} image {}", ROUNDS % 2).as_bytes());
            let gone = replica
                .send(
                    Method::HEAD,
                    &format!("/v2/collected/blobs/{left}"),
                    &[],
                    Body::empty(),
                )
                .await;
            assert_eq!(
                gone.status,
                StatusCode::NOT_FOUND,
                "the layer of the image t{pusher} left"
            );
        }
    }
    assert_eq!(direct[0].upload_leftovers().await, Vec::<String>::new());
}
