//! A small, real TUF repository (The Update Framework, the way Sigstore distributes its trusted root): root
//! (version 1), timestamp, snapshot and targets metadata signed with an ECDSA P-256 key over TUF's canonical
//! JSON, one target, written to a temporary folder and served over HTTP on 127.0.0.1 — or one broken in a
//! chosen way, for the refusals.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// When metadata expires if it is meant to be valid.
const FAR_FUTURE: &str = "2999-01-01T00:00:00Z";
/// When metadata expires if it is meant to have expired.
const LONG_AGO: &str = "2001-01-01T00:00:00Z";

/// How the repository is broken, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TufFault {
    /// A valid repository.
    None,
    /// The target file's bytes are not the ones its targets metadata pins (same length, first byte a space: a
    /// JSON target still parses).
    TargetMismatch,
    /// The timestamp metadata has expired.
    ExpiredTimestamp,
    /// The snapshot metadata is signed by a key the root does not name.
    SnapshotWrongKey,
}

/// A signed TUF repository served on 127.0.0.1 until dropped.
pub struct TufRepository {
    /// `http://127.0.0.1:PORT`, the repository's base URL.
    pub url: String,
    /// The repository's root metadata (version 1): what a client trusts to begin with.
    pub root_json: Vec<u8>,
    _folder: tempfile::TempDir,
    _server: FileServer,
}

impl TufRepository {
    /// Serves a repository whose one target, `target_name`, holds `target`, broken as `fault` says.
    pub fn serve(target_name: &str, target: &[u8], fault: TufFault) -> TufRepository {
        let folder = crate::tempdir();
        let dir = folder.path().to_path_buf();
        let root_json = write_repository(&dir, target_name, target, fault);
        let server = FileServer::start(dir);
        TufRepository {
            url: format!("http://{}", server.addr),
            root_json,
            _folder: folder,
            _server: server,
        }
    }
}

/// TUF's canonical JSON (securesystemslib's, which TUF signatures are made over): object keys sorted, no
/// whitespace, strings with only `\` and `"` escaped.
fn canonical_json(value: &Value) -> Vec<u8> {
    fn write(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(key, out);
                    out.push(b':');
                    write(value, out);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out);
                }
                out.push(b']');
            }
            Value::String(text) => write_string(text, out),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
    }
    fn write_string(text: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for byte in text.bytes() {
            if byte == b'"' || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    }
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

/// A P-256 signing key and its TUF key object and key ID.
struct TufKey {
    key: SigningKey,
    id: String,
    object: Value,
}

impl TufKey {
    fn generate() -> TufKey {
        use p256::elliptic_curve::Generate as _;
        let key =
            SigningKey::try_generate().unwrap_or_else(|err| panic!("no random numbers: {err}"));
        let pem = key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap_or_else(|err| panic!("encoding the public key: {err}"));
        let object = json!({
            "keytype": "ecdsa",
            "scheme": "ecdsa-sha2-nistp256",
            "keyval": { "public": pem },
        });
        let id = hex::encode(Sha256::digest(canonical_json(&object)));
        TufKey { key, id, object }
    }

    /// The metadata file: `signed` and this key's signature over its canonical JSON.
    fn sign(&self, signed: Value) -> Vec<u8> {
        let signature: Signature = self.key.sign(&canonical_json(&signed));
        let envelope = json!({
            "signed": signed,
            "signatures": [{ "keyid": self.id, "sig": hex::encode(signature.to_der().as_bytes()) }],
        });
        serde_json::to_vec_pretty(&envelope).unwrap_or_else(|err| panic!("metadata JSON: {err}"))
    }
}

/// How a metadata file is pinned by the one above it: version, length and sha256.
fn pin(bytes: &[u8]) -> Value {
    json!({
        "version": 1,
        "length": bytes.len(),
        "hashes": { "sha256": hex::encode(Sha256::digest(bytes)) },
    })
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
}

/// Writes the repository into `dir` and returns its root metadata.
fn write_repository(dir: &Path, target_name: &str, target: &[u8], fault: TufFault) -> Vec<u8> {
    let key = TufKey::generate();
    let role = json!({ "keyids": [key.id], "threshold": 1 });
    let metadata = |kind: &str, expires: &str, body: (&str, Value)| {
        let mut signed = json!({
            "_type": kind,
            "spec_version": "1.0.0",
            "version": 1,
            "expires": expires,
        });
        signed[body.0] = body.1;
        signed
    };

    let root = key.sign({
        let mut signed = metadata(
            "root",
            FAR_FUTURE,
            ("keys", json!({ key.id.clone(): key.object })),
        );
        signed["consistent_snapshot"] = json!(false);
        signed["roles"] =
            json!({ "root": role, "timestamp": role, "snapshot": role, "targets": role });
        signed
    });
    let targets = key.sign(metadata(
        "targets",
        FAR_FUTURE,
        (
            "targets",
            json!({ target_name: {
                "length": target.len(),
                "hashes": { "sha256": hex::encode(Sha256::digest(target)) },
            }}),
        ),
    ));
    let other_key;
    let snapshot_signer = if fault == TufFault::SnapshotWrongKey {
        other_key = TufKey::generate();
        &other_key
    } else {
        &key
    };
    let snapshot = snapshot_signer.sign(metadata(
        "snapshot",
        FAR_FUTURE,
        ("meta", json!({ "targets.json": pin(&targets) })),
    ));
    let timestamp_expires = match fault {
        TufFault::ExpiredTimestamp => LONG_AGO,
        _ => FAR_FUTURE,
    };
    let timestamp = key.sign(metadata(
        "timestamp",
        timestamp_expires,
        ("meta", json!({ "snapshot.json": pin(&snapshot) })),
    ));

    write_file(&dir.join("1.root.json"), &root);
    write_file(&dir.join("root.json"), &root);
    write_file(&dir.join("timestamp.json"), &timestamp);
    write_file(&dir.join("snapshot.json"), &snapshot);
    write_file(&dir.join("targets.json"), &targets);
    let targets_dir = dir.join("targets");
    std::fs::create_dir_all(&targets_dir)
        .unwrap_or_else(|err| panic!("creating {}: {err}", targets_dir.display()));
    let served_target = match fault {
        TufFault::TargetMismatch => [b" ", target.get(1..).unwrap_or_default()].concat(),
        _ => target.to_vec(),
    };
    write_file(&targets_dir.join(target_name), &served_target);
    root
}

/// An HTTP server of a folder's files on 127.0.0.1 (GET only; 404 for anything else), until dropped.
struct FileServer {
    /// `127.0.0.1:PORT`.
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

impl FileServer {
    /// Serves the files under `dir`.
    fn start(dir: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("binding the file server: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("file server address: {err}"));
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let accepting = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A client that hangs up mid-request is its own problem.
                    let _ = respond(&dir, stream);
                }
            }
        });
        FileServer {
            addr,
            stopping,
            accepting: Some(accepting),
        }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

/// Answers one request on `stream` with the file its path names under `dir`.
fn respond(dir: &Path, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = match request_line.split_whitespace().collect::<Vec<_>>()[..] {
        ["GET", path, _] => Some(Path::new(path.trim_start_matches('/')).to_path_buf()),
        _ => None,
    };
    let file = path
        .filter(|path| path.components().all(|c| matches!(c, Component::Normal(_))))
        .and_then(|path| std::fs::read(dir.join(path)).ok());
    let mut stream = stream;
    match file {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?,
    }
    stream.flush()
}
