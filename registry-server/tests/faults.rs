//! Faults that need a real process, file system or server: `kill -9` in the middle of an upload (one server on a
//! folder; replicas on shared storage, twenty times), a full disk, and PostgreSQL or the object store going away
//! under a shared registry.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Client, Registry, Reply, SharedServers, sha256};
use http::{HttpReply, http};
use registry_server::storage::GcOptions;

// One HTTP request to a child server, read whole (test-support depends on this crate, so its file is included).
#[path = "../../test-support/src/http.rs"]
#[allow(dead_code)]
mod http;

/// The environment variable that turns the `child_server` test into a registry process.
const CHILD: &str = "PALISADE_TEST_CHILD";

/// Not a test: the registry process that the tests below start and kill. It serves what the `PALISADE_REGISTRY_*`
/// and `AWS_*` variables of its environment configure (a folder, or shared storage) on a loopback port, prints the
/// port, and serves until killed.
#[tokio::test]
#[ignore = "started by the kill tests as a child process"]
async fn child_server() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let mut config = registry_server::Config::load(None, |name| std::env::var(name).ok()).unwrap();
    config.addr = "127.0.0.1:0".to_string();
    config.auth.anonymous = registry_server::auth::Action::ALL.to_vec();
    let server = registry_server::Server::bind(&config).await.unwrap();
    println!("PORT {}", server.local_addr().port());
    server.run_until_signal().await.unwrap();
}

/// A registry child process, killed with SIGKILL when dropped.
struct ChildServer {
    child: Child,
    addr: String,
}

impl ChildServer {
    /// Starts a registry configured by `env` (`PALISADE_REGISTRY_*`, `AWS_*`).
    fn start(env: &[(&str, String)]) -> ChildServer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_server",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let port: u16 = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("PORT ")
                    .nth(1)
                    .map(|p| p.trim().parse().unwrap())
            })
            .expect("the child registry printed no port");
        ChildServer {
            child,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    /// `kill -9`.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn send(&self, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
        http(&self.addr, request_line, headers, body)
    }

    /// Starts a request whose body is `declared` bytes long and sends only `part` of it; the request stays open.
    fn send_part(
        &self,
        request_line: &str,
        headers: &[(&str, &str)],
        declared: usize,
        part: &[u8],
    ) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let mut head = format!(
            "{request_line} HTTP/1.1\r\nHost: {}\r\nContent-Length: {declared}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(part).unwrap();
        stream.flush().unwrap();
        stream
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An upload's location with the `digest` query parameter that completes it.
fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

/// The number of bytes an upload session holds, from its `Range` header (`0-<last>`).
fn held(reply: &HttpReply) -> usize {
    let last: usize = reply
        .header("range")
        .strip_prefix("0-")
        .and_then(|last| last.parse().ok())
        .unwrap_or_else(|| panic!("no Range in {}", reply.head));
    last + 1
}

#[test]
fn server_killed_mid_upload_restarts_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("PALISADE_REGISTRY_ROOT", dir.path().display().to_string())];
    let content: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let digest = sha256(&content);
    let mut server = ChildServer::start(&env);
    let started = server.send("POST /v2/k/blobs/uploads/", &[], b"");
    let location = started.header("location").to_string();
    assert!(
        location.starts_with("/v2/k/blobs/uploads/"),
        "{}",
        started.head
    );
    let id = location.rsplit('/').next().unwrap().to_string();

    // Send most of one chunk, and kill the server while the request is still open.
    let stream = server.send_part(
        &format!("PATCH {location}"),
        &[],
        content.len(),
        &content[..content.len() - 4096],
    );
    let data = dir.path().join("uploads").join(&id).join("data");
    while std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0) < 1024 * 1024 {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    drop(stream);

    let blobs = dir.path().join("blobs");
    assert!(
        !blobs.exists() || std::fs::read_dir(&blobs).unwrap().next().is_none(),
        "no blob is visible"
    );

    let server = ChildServer::start(&env);
    let status = server.send(&format!("GET {location}"), &[], b"");
    assert_eq!(status.status, 204, "{}", status.head);
    let held = held(&status);
    assert!(held < content.len());
    assert_eq!(
        &std::fs::read(&data).unwrap()[..],
        &content[..held],
        "what is held is a prefix of what was sent"
    );

    let put = server.send(
        &format!("PUT {}", with_digest(&location, &digest)),
        &[("Content-Range", &format!("{held}-{}", content.len() - 1))],
        &content[held..],
    );
    assert_eq!(put.status, 201, "{}", put.head);
    let blob = std::fs::read(blobs.join("sha256").join(&digest[7..])).unwrap();
    assert_eq!(blob, content);
}

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "the disk-full test mounts a small tmpfs: run it as root (mount from util-linux, CAP_SYS_ADMIN)"
        );
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test]
async fn full_disk_is_a_clear_error_and_corrupts_nothing() {
    let disk = SmallDisk::mount("1m");
    let registry = Registry::on(disk.dir.path());
    let small = registry.push_blob("f", b"fits").await;

    let big = vec![1u8; 2 * 1024 * 1024];
    let reply = registry
        .send(
            Method::POST,
            &format!("/v2/f/blobs/uploads/?digest={}", sha256(&big)),
            &[],
            Body::from(big.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::INSUFFICIENT_STORAGE);
    let message = reply.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("is full") && message.contains("free space"),
        "{message}"
    );

    let location = registry
        .send(Method::POST, "/v2/f/blobs/uploads/", &[], Body::empty())
        .await
        .header("location")
        .to_string();
    registry
        .send(Method::PATCH, &location, &[], Body::from("kept"))
        .await;
    let full = registry
        .send(Method::PATCH, &location, &[], Body::from(big))
        .await;
    assert_eq!(full.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        registry.get(&location).await.header("range"),
        "0-3",
        "the failed chunk was rolled back"
    );

    assert!(
        !registry.files().iter().any(|f| f.starts_with("tmp/")),
        "{:?}",
        registry.files()
    );
    assert_eq!(
        registry
            .files()
            .iter()
            .filter(|f| f.starts_with("blobs/"))
            .count(),
        1
    );
    assert_eq!(
        registry.get(&format!("/v2/f/blobs/{small}")).await.body,
        b"fits"
    );
    let digest = sha256(b"kept");
    let put = registry
        .send(
            Method::PUT,
            &format!("{location}?digest={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        put.status,
        StatusCode::CREATED,
        "the session goes on once space is free"
    );
    drop(registry);
}

/// The environment of replicas of the shared registry `name` (its database created here), as an operator sets it:
/// objects under the prefix `name` of Garage's bucket, metadata in the database `name`.
fn shared_env(servers: &SharedServers, name: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "PALISADE_REGISTRY_STORAGE",
            format!("s3://{}/{name}", servers.garage.bucket),
        ),
        (
            "PALISADE_REGISTRY_DATABASE",
            servers.postgres.database(name),
        ),
        ("AWS_ENDPOINT_URL", servers.garage.endpoint()),
        ("AWS_REGION", servers.garage.region.clone()),
        ("AWS_ACCESS_KEY_ID", servers.garage.key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", servers.garage.secret.clone()),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ]
}

/// The database of the shared registry `name`, for the checks a test makes behind the registry's back.
async fn database(servers: &SharedServers, name: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(&format!(
        "postgres://postgres@127.0.0.1:{}/{name}",
        servers.postgres.port
    ))
    .await
    .unwrap()
}

/// `len` bytes that differ with `seed`, so that every upload is a blob of its own: a pattern whose period (251
/// bytes) divides no chunk size, so that bytes stored at the wrong offset do not go unnoticed.
fn content(seed: u8, len: usize) -> Vec<u8> {
    let period: Vec<u8> = (0..251u8)
        .map(|i| i.wrapping_mul(seed | 1) ^ seed)
        .collect();
    let mut content = period.repeat(len / period.len() + 1);
    content.truncate(len);
    content
}

/// `Content-Range` of `len` bytes from `start`.
fn range(start: usize, len: usize) -> String {
    format!("{start}-{}", start + len - 1)
}

/// The chunks of each upload in the kill trials: the first always arrives; the second is larger than the object
/// store's part (8 MiB) when the replica dies receiving it, so that it dies in the middle of a multipart upload
/// (smaller otherwise: the trials stay quick).
const FIRST: usize = 256 << 10;
const SECOND: [usize; 2] = [9 << 20, 1 << 20];
const LAST: usize = 256 << 10;

#[test]
fn replicas_killed_mid_upload_show_nothing_partial_and_the_upload_finishes_on_another() {
    let servers = SharedServers::start();
    let env = shared_env(&servers, "kills");
    let survivor = ChildServer::start(&env);
    let kept = content(0, 100_000);
    let kept_digest = sha256(&kept);
    let pushed = survivor.send(
        &format!("POST /v2/k/blobs/uploads/?digest={kept_digest}"),
        &[],
        &kept,
    );
    assert_eq!(pushed.status, 201, "{}", pushed.head);
    let mut stored = vec![kept_digest.clone()];
    let started = Instant::now();

    for trial in 0..20usize {
        // The replica to kill, started afresh each trial.
        let mut doomed = ChildServer::start(&env);
        // Where it dies: receiving the second chunk, receiving the last one, or completing the upload (verifying,
        // storing, recording; the later the trial, the later the kill).
        let phase = trial % 3;
        let second_len = SECOND[phase.min(1)];
        let data = content(trial as u8 + 1, FIRST + second_len + LAST);
        let digest = sha256(&data);
        let (first, rest) = data.split_at(FIRST);
        let (second, last) = rest.split_at(second_len);
        let location = doomed
            .send("POST /v2/k/blobs/uploads/", &[], b"")
            .header("location")
            .to_string();
        let patch = format!("PATCH {location}");
        let put = format!("PUT {}", with_digest(&location, &digest));
        let sent = doomed.send(&patch, &[("Content-Range", &range(0, FIRST))], first);
        assert_eq!(sent.status, 202, "{}", sent.head);
        let share = |len: usize| len / 100 * (10 + trial * 29 % 90);
        let open_request = if phase == 0 {
            doomed.send_part(
                &patch,
                &[("Content-Range", &range(FIRST, second_len))],
                second_len,
                &second[..share(second_len)],
            )
        } else {
            let sent = doomed.send(
                &patch,
                &[("Content-Range", &range(FIRST, second_len))],
                second,
            );
            assert_eq!(sent.status, 202, "{}", sent.head);
            let part = if phase == 1 {
                &last[..share(LAST)]
            } else {
                last
            };
            doomed.send_part(
                &put,
                &[("Content-Range", &range(FIRST + second_len, LAST))],
                LAST,
                part,
            )
        };
        std::thread::sleep(Duration::from_millis(if phase == 2 {
            trial as u64 * 12
        } else {
            50
        }));
        doomed.kill();
        drop(open_request);

        // The other replica serves on, and shows nothing partial: the blob is unknown, or whole if the dead
        // replica completed it.
        let other = survivor.send(&format!("GET /v2/k/blobs/{kept_digest}"), &[], b"");
        assert_eq!(
            (other.status, sha256(&other.body)),
            (200, kept_digest.clone())
        );
        let blob = survivor.send(&format!("GET /v2/k/blobs/{digest}"), &[], b"");
        match blob.status {
            404 => {}
            200 if phase == 2 => assert!(blob.body == data, "trial {trial}: a blob not whole"),
            status => panic!("trial {trial} (phase {phase}): blob answered {status}"),
        }

        // The upload finishes through the other replica, from where the session stands.
        let session = survivor.send(&format!("GET {location}"), &[], b"");
        if session.status == 404 {
            assert_eq!(
                blob.status, 200,
                "trial {trial}: the session ended without a blob"
            );
        } else {
            assert_eq!(session.status, 204, "{}", session.head);
            let held = held(&session);
            let expected: &[usize] = match phase {
                0 => &[FIRST],
                _ => &[FIRST + second_len, data.len()],
            };
            assert!(
                expected.contains(&held),
                "trial {trial}: the session holds {held} bytes"
            );
            let finished = if held == data.len() {
                survivor.send(&put, &[], b"")
            } else {
                survivor.send(
                    &put,
                    &[("Content-Range", &range(held, data.len() - held))],
                    &data[held..],
                )
            };
            assert_eq!(finished.status, 201, "trial {trial}: {}", finished.head);
        }
        let blob = survivor.send(&format!("GET /v2/k/blobs/{digest}"), &[], b"");
        assert!(
            blob.status == 200 && blob.body == data,
            "trial {trial}: {}",
            blob.head
        );
        stored.push(digest);
    }
    let took = started.elapsed();

    // The database records exactly the blobs that were completed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut recorded: Vec<String> = runtime.block_on(async {
        sqlx::query_scalar("SELECT digest FROM repository_blobs WHERE repository = 'k'")
            .fetch_all(&database(&servers, "kills").await)
            .await
            .unwrap()
    });
    recorded.sort();
    stored.sort();
    assert_eq!(recorded, stored);
    eprintln!("20 kill trials took {took:?}");
}

/// The OCI error message of an error reply.
fn message(reply: &Reply) -> String {
    reply.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Sends each request at once (each waits for the stopped server), and checks that every one answers `503` within
/// seconds, saying that the registry's `store` cannot be reached, without naming its address (`address_scheme`).
async fn assert_unavailable(
    registry: &Client,
    requests: &[(Method, &str, &[u8])],
    store: &str,
    address_scheme: &str,
) {
    let started = Instant::now();
    let replies = futures_util::future::join_all(requests.iter().map(|(method, uri, body)| {
        registry.send(method.clone(), uri, &[], Body::from(body.to_vec()))
    }))
    .await;
    let took = started.elapsed();
    for ((method, uri, _), reply) in requests.iter().zip(&replies) {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {uri}"
        );
        let message = message(reply);
        assert!(
            message.starts_with(&format!("the registry's {store} cannot be reached ("))
                && message.ends_with("): retry once it is back")
                && !message.contains(address_scheme),
            "{method} {uri}: {message}"
        );
    }
    assert!(
        took < Duration::from_secs(10),
        "the requests waited {took:?}"
    );
}

#[tokio::test]
async fn a_stopped_database_answers_503_and_the_registry_recovers_when_it_is_back() {
    let servers = SharedServers::start();
    let registry = servers.registry("database_down").await;
    let (_, manifest) = registry.push_image("app", "v1", &[b"layer"]).await;
    let location = registry
        .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
        .await
        .header("location")
        .to_string();
    let kept = registry
        .send(Method::PATCH, &location, &[], Body::from("kept"))
        .await;
    assert_eq!(kept.status, StatusCode::ACCEPTED);
    assert_eq!(registry.get("/readyz").await.status, StatusCode::OK);

    servers.postgres.stop();
    let new_blob = format!("/v2/app/blobs/uploads/?digest={}", sha256(b"new"));
    assert_unavailable(
        &registry,
        &[
            (Method::GET, "/v2/app/manifests/v1", b""),
            (Method::GET, "/v2/app/tags/list", b""),
            (Method::GET, "/v2/_catalog", b""),
            (Method::POST, &new_blob, b"new"),
            (Method::PATCH, &location, b"more"),
            (Method::PUT, "/v2/app/manifests/v2", &manifest),
            (Method::GET, "/readyz", b""),
        ],
        "database",
        "postgres://",
    )
    .await;
    assert_eq!(
        registry.get("/healthz").await.status,
        StatusCode::OK,
        "the process itself is alive"
    );

    servers.postgres.start_again();
    assert_eq!(registry.get("/readyz").await.status, StatusCode::OK);
    let v1 = registry.get("/v2/app/manifests/v1").await;
    assert_eq!((v1.status, v1.body), (StatusCode::OK, manifest.clone()));
    let more = registry
        .send(Method::PATCH, &location, &[], Body::from("more"))
        .await;
    assert_eq!(
        (more.status, more.header("range")),
        (StatusCode::ACCEPTED, "0-7"),
        "the session is where it was before the outage"
    );
    let finished = registry
        .send(
            Method::PUT,
            &with_digest(&location, &sha256(b"keptmore")),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(finished.status, StatusCode::CREATED);
    registry.push_image("app", "v2", &[b"new"]).await;
    assert!(registry.staging_leftovers().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_object_store_answers_503_and_nothing_unstored_is_recorded() {
    let mut servers = SharedServers::start();
    let (storage, registry) = servers.replicas("objects_down", 1).await.remove(0);
    let (_, manifest) = registry.push_image("app", "v1", &[b"layer"]).await;
    let start_upload = async |content: &'static str| {
        let location = registry
            .send(Method::POST, "/v2/app/blobs/uploads/", &[], Body::empty())
            .await
            .header("location")
            .to_string();
        let sent = registry
            .send(Method::PATCH, &location, &[], Body::from(content))
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
        location
    };
    let location = start_upload("kept").await;
    // An upload of content the registry holds already, all sent before the outage.
    let again = start_upload("layer").await;
    let config = registry.push_blob("app", b"{}").await;
    let lost = b"never stored";
    let lost_digest = sha256(lost);
    let naming_lost = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": common::OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2 },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": lost_digest, "size": lost.len() }],
    });
    let naming_lost = serde_json::to_vec(&naming_lost).unwrap();

    servers.garage.stop();
    let push = format!("/v2/app/blobs/uploads/?digest={lost_digest}");
    assert_unavailable(
        &registry,
        &[
            (Method::POST, &push, lost),
            (Method::PATCH, &location, b"more"),
            (Method::GET, &format!("/v2/app/blobs/{config}"), b""),
            (Method::GET, "/readyz", b""),
        ],
        "object store",
        "http://",
    )
    .await;
    let named = registry
        .send(
            Method::PUT,
            "/v2/app/manifests/v2",
            &[("content-type", common::OCI_MANIFEST)],
            Body::from(naming_lost),
        )
        .await;
    assert_eq!(
        (named.status, named.code()),
        (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN".to_string())
    );
    // Closing the upload of content already stored needs no object: it succeeds, and its session has ended.
    let closed = registry
        .send(
            Method::PUT,
            &with_digest(&again, &sha256(b"layer")),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        closed.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&closed.body)
    );
    assert_eq!(registry.get(&again).await.status, StatusCode::NOT_FOUND);

    servers.garage.start_again();
    assert_eq!(registry.get("/readyz").await.status, StatusCode::OK);
    // Nothing records the content that was not stored: no blob, no manifest or tag naming it.
    let head = registry
        .send(
            Method::HEAD,
            &format!("/v2/app/blobs/{lost_digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(
        registry.get("/v2/app/manifests/v2").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.get("/v2/app/tags/list").await.json()["tags"],
        serde_json::json!(["v1"])
    );
    let db = database(&servers, "objects_down").await;
    for table in ["blobs", "repository_blobs", "manifest_blobs"] {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE digest = $1"))
                .bind(&lost_digest)
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(rows, 0, "{table} names the blob that was not stored");
    }
    assert_eq!(
        registry.get(&location).await.header("range"),
        "0-3",
        "the failed chunk was not recorded"
    );

    // Everything works again.
    assert_eq!(registry.get("/v2/app/manifests/v1").await.body, manifest);
    registry.push_blob("app", lost).await;
    assert_eq!(
        registry
            .get(&format!("/v2/app/blobs/{lost_digest}"))
            .await
            .body,
        lost
    );
    let finished = registry
        .send(
            Method::PUT,
            &with_digest(&location, &sha256(b"keptmore")),
            &[],
            Body::from("more"),
        )
        .await;
    assert_eq!(finished.status, StatusCode::CREATED);
    assert!(registry.staging_leftovers().await.is_empty());
    // The objects of the upload closed during the outage are garbage collection's.
    assert!(!registry.upload_leftovers().await.is_empty());
    let options = GcOptions {
        grace: Duration::ZERO,
        dry_run: false,
    };
    storage.collect_garbage(&options).await.unwrap();
    assert_eq!(registry.upload_leftovers().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_blob_whose_object_an_interrupted_collection_deleted_is_stored_again_by_its_next_push() {
    let servers = SharedServers::start();
    let registry = servers.registry("half_collected").await;
    let content = b"collected, then pushed again";
    let digest = registry.push_blob("a", content).await;
    // What a collection leaves when it stops between deleting a blob no repository holds and removing its row.
    let unlinked = registry
        .send(
            Method::DELETE,
            &format!("/v2/a/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(unlinked.status, StatusCode::ACCEPTED);
    let (objects, prefix) = object_store::parse_url_opts(
        &url::Url::parse(&format!("s3://{}/half_collected", servers.garage.bucket)).unwrap(),
        [
            ("aws_endpoint", servers.garage.endpoint()),
            ("aws_region", servers.garage.region.clone()),
            ("aws_access_key_id", servers.garage.key_id.clone()),
            ("aws_secret_access_key", servers.garage.secret.clone()),
            ("aws_allow_http", "true".to_string()),
        ],
    )
    .unwrap();
    let object = prefix
        .clone()
        .join("blobs")
        .join("sha256")
        .join(&digest[7..]);
    object_store::ObjectStoreExt::delete(&objects, &object)
        .await
        .unwrap();

    registry.push_blob("b", content).await;
    assert_eq!(
        registry.get(&format!("/v2/b/blobs/{digest}")).await.body,
        content
    );
}
