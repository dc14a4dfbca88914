//! Chunked, resumable blob uploads against registry-server and CNCF Distribution: the module arrives whole,
//! progress is reported byte by byte, and a connection cut in the middle of the upload resumes where the
//! registry stopped instead of starting over.

use std::sync::{Arc, Mutex};

use artifact::oci::policy::PolicyArtifact;
use artifact::reference::{PolicyRef, RegistryRef};
use client::remote::credentials::DockerConfig;
use client::remote::sources::Sources;
use client::remote::{Chunking, Progress, Remote, RemoteOptions};
use test_support::{
    Distribution, DistributionOptions, FaultyProxy, RegistryServer, module_of_size, tempdir,
};

/// Small chunks, so that a module of a few hundred KiB takes several.
const CHUNKING: Chunking = Chunking {
    threshold: 128 * 1024,
    chunk_size: 64 * 1024,
};
const MODULE_SIZE: usize = 600 * 1024;

fn reference(host: &str, repository: &str) -> RegistryRef {
    match format!("registry://{host}/{repository}:v1").parse::<PolicyRef>() {
        Ok(PolicyRef::Registry(reference)) => reference,
        other => panic!("{other:?}"),
    }
}

/// Every progress event, in order.
#[derive(Default)]
struct Recorded {
    events: Mutex<Vec<(String, u64)>>,
}

impl Progress for Recorded {
    fn begin(&self, what: &str, total: u64) {
        self.record(format!("begin {what}"), total);
    }
    fn at(&self, done: u64) {
        self.record("at".into(), done);
    }
    fn end(&self) {
        self.record("end".into(), 0);
    }
}

impl Recorded {
    fn record(&self, event: String, value: u64) {
        self.events
            .lock()
            .unwrap_or_else(|err| panic!("{err}"))
            .push((event, value));
    }

    fn events(&self) -> Vec<(String, u64)> {
        self.events
            .lock()
            .unwrap_or_else(|err| panic!("{err}"))
            .clone()
    }
}

fn remote(progress: Arc<Recorded>) -> (tempfile::TempDir, Remote) {
    let dir = tempdir();
    let remote = Remote::new(RemoteOptions {
        docker_config: DockerConfig::new(dir.path().join("docker.json")),
        sources: Sources::default(),
    })
    .with_chunking(CHUNKING)
    .with_progress(progress);
    (dir, remote)
}

/// Pushes a large policy to `push_host` (the registry, or a proxy in front of it) and pulls it back from
/// `pull_host`; returns the progress of the push.
fn push_and_pull_back(push_host: &str, pull_host: &str, repository: &str) -> Vec<(String, u64)> {
    let module = module_of_size(MODULE_SIZE);
    let artifact = PolicyArtifact::build(module.clone(), None, Some("2023-11-14T22:13:20Z"))
        .unwrap_or_else(|err| panic!("{err}"));
    let progress = Arc::new(Recorded::default());
    let (_dir, pusher) = remote(progress.clone());
    let (_dir2, puller) = remote(Arc::new(Recorded::default()));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|err| panic!("{err}"));
    runtime.block_on(async {
        let digest = pusher
            .push(&artifact, &reference(push_host, repository))
            .await
            .unwrap_or_else(|err| panic!("pushing: {err}"));
        assert_eq!(digest, artifact.digest());
        let pulled = puller
            .pull(&reference(pull_host, repository))
            .await
            .unwrap_or_else(|err| panic!("pulling: {err}"));
        assert!(pulled.module == module, "the module came back changed");
    });
    progress.events()
}

/// The progress of the module's upload: it began with the module's size and reached it.
fn assert_module_progress(events: &[(String, u64)]) {
    let begin = events
        .iter()
        .position(|(event, total)| {
            event.starts_with("begin pushing") && *total == MODULE_SIZE as u64
        })
        .unwrap_or_else(|| panic!("no transfer of the module began: {events:?}"));
    let steps: Vec<u64> = events[begin + 1..]
        .iter()
        .take_while(|(event, _)| event == "at")
        .map(|(_, done)| *done)
        .collect();
    assert!(steps.len() > 8, "progress moved by small steps: {steps:?}");
    assert_eq!(steps.last(), Some(&(MODULE_SIZE as u64)));
}

#[test]
fn chunked_upload_to_registry_server() {
    let registry = RegistryServer::start();
    let events = push_and_pull_back(&registry.host(), &registry.host(), "chunked/p");
    assert_module_progress(&events);
}

#[test]
fn chunked_upload_to_distribution() {
    let registry = Distribution::start(DistributionOptions::default());
    let events = push_and_pull_back(&registry.host(), &registry.host(), "chunked/p");
    assert_module_progress(&events);
}

/// Cuts the connection once, 200 KiB into the upload (in the middle of the fourth chunk); the push still
/// lands whole. With `in_place`, checks that it went on from what the registry held: starting over would
/// have sent the first 200 KiB twice.
fn survives_a_dropped_connection(upstream: std::net::SocketAddr, in_place: bool) {
    let cut_at = 200 * 1024;
    let proxy = FaultyProxy::start(upstream, cut_at);
    let upstream = upstream.to_string();
    let events = push_and_pull_back(&proxy.host(), &upstream, "resumed/p");
    assert_eq!(proxy.faults(), 1, "the connection was cut");
    let went_back = events
        .windows(2)
        .any(|pair| pair[0].0 == "at" && pair[1].0 == "at" && pair[1].1 < pair[0].1);
    assert!(
        went_back,
        "progress went back to what the registry held: {events:?}"
    );
    assert_module_progress(&events);
    let resent = proxy.bytes_sent().saturating_sub(MODULE_SIZE as u64);
    if in_place {
        assert!(
            resent < 2 * CHUNKING.chunk_size,
            "{resent} bytes beyond the module went upstream: the upload started over"
        );
    }
}

#[test]
fn resumes_on_registry_server() {
    let registry = RegistryServer::start();
    survives_a_dropped_connection(registry.addr, true);
}

/// Distribution 2.8 keeps the part of a chunk that arrived but not its record of the session's offset,
/// and then refuses the session: the upload starts again in a new one.
#[test]
fn starts_a_new_session_on_distribution() {
    let registry = Distribution::start(DistributionOptions::default());
    survives_a_dropped_connection(registry.addr, false);
}

/// An HTTP front to `upstream` that answers every `PATCH` with 405, as a registry without chunked uploads
/// does, and forwards every other request on a connection of its own.
fn without_chunks(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("{err}"));
    let addr = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let mut reader = BufReader::new(client);
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                if reader.read_line(&mut head).unwrap_or(0) == 0 {
                    break;
                }
            }
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let mut client = reader.into_inner();
            if head.starts_with("PATCH ") {
                let _ = client.write_all(
                    b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let Some((request_line, headers)) = head.split_once("\r\n") else {
                continue;
            };
            let Ok(mut server) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            let request = format!("{request_line}\r\nConnection: close\r\n{headers}");
            let mut answer = Vec::new();
            if server.write_all(request.as_bytes()).is_ok()
                && server.write_all(&body).is_ok()
                && server.read_to_end(&mut answer).is_ok()
            {
                let _ = client.write_all(&answer);
            }
        }
    });
    addr
}

#[test]
fn falls_back_to_one_request_when_chunks_are_refused() {
    let registry = RegistryServer::start();
    let front = without_chunks(registry.addr).to_string();
    let events = push_and_pull_back(&front, &registry.host(), "whole/p");
    assert_module_progress(&events);
}
