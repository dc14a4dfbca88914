//! Faults that need a real process or file system: `kill -9` in the middle of an upload, and a full disk.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Registry, sha256};

/// The environment variable that turns the `child_server` test into a registry process serving that folder.
const CHILD_ROOT: &str = "PALISADE_TEST_CHILD_ROOT";

/// Not a test: the registry process that `server_killed_mid_upload_restarts_cleanly` starts and kills.
/// It listens on a loopback port, prints it, and serves until killed.
#[tokio::test]
#[ignore = "started by server_killed_mid_upload_restarts_cleanly as a child process"]
async fn child_server() {
    let Ok(root) = std::env::var(CHILD_ROOT) else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("PORT {}", listener.local_addr().unwrap().port());
    let config = registry_server::Config {
        root: PathBuf::from(root),
        auth: registry_server::auth::AuthConfig {
            anonymous: registry_server::auth::Action::ALL.to_vec(),
            ..Default::default()
        },
        ..Default::default()
    };
    let state = registry_server::AppState::from_config(&config).unwrap();
    registry_server::serve(listener, state, config.upload_ttl(), std::future::pending())
        .await
        .unwrap();
}

/// A registry child process, killed with SIGKILL when dropped.
struct ChildServer {
    child: Child,
    port: u16,
}

impl ChildServer {
    fn start(root: &Path) -> ChildServer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_server",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROOT, root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let port = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("PORT ")
                    .nth(1)
                    .map(|p| p.trim().parse().unwrap())
            })
            .expect("the child registry printed no port");
        ChildServer { child, port }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a raw HTTP/1.1 request and returns the status line and headers.
    fn request(&self, head: &str, body: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn header<'a>(reply: &'a str, name: &str) -> &'a str {
    reply
        .lines()
        .find_map(|line| {
            line.split_once(": ")
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .unwrap_or("")
}

#[test]
fn server_killed_mid_upload_restarts_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let digest = sha256(&content);
    let mut server = ChildServer::start(dir.path());
    let started = server.request("POST /v2/k/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", b"");
    let location = header(&started, "location").to_string();
    assert!(location.starts_with("/v2/k/blobs/uploads/"), "{started}");
    let id = location.rsplit('/').next().unwrap().to_string();

    // Send most of one chunk, and kill the server while the request is still open.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&content[..content.len() - 4096]).unwrap();
    let data = dir.path().join("uploads").join(&id).join("data");
    while std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0) < 1024 * 1024 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.kill();
    drop(stream);

    let blobs = dir.path().join("blobs");
    assert!(
        !blobs.exists() || std::fs::read_dir(&blobs).unwrap().next().is_none(),
        "no blob is visible"
    );

    let server = ChildServer::start(dir.path());
    let status = server.request(
        &format!("GET {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        b"",
    );
    assert!(status.starts_with("HTTP/1.1 204"), "{status}");
    let held: usize = header(&status, "range")
        .split('-')
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        + 1;
    assert!(held < content.len());
    assert_eq!(
        &std::fs::read(&data).unwrap()[..],
        &content[..held],
        "what is held is a prefix of what was sent"
    );

    let rest = &content[held..];
    let put = server.request(
        &format!(
            "PUT {location}?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Range: {held}-{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            content.len() - 1,
            rest.len()
        ),
        rest,
    );
    assert!(put.starts_with("HTTP/1.1 201"), "{put}");
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
