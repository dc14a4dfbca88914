//! Third-party clients against the registry on a real loopback socket: skopeo (Debian package `skopeo`) and the
//! oras Python SDK (PyPI package `oras`). A missing client fails the test with what to install.

use std::path::Path;
use std::process::Output;

use http_server::{Listener, TlsConfig};
use registry_server::auth::{Action, AuthConfig};
use registry_server::{AppState, Config, serve};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::process::Command;
use tokio::sync::oneshot;

/// A registry serving a temporary folder on `127.0.0.1:<port>`, stopped by `stop`.
struct Server {
    addr: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

impl Server {
    async fn start(auth: AuthConfig) -> Server {
        let root = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let config = Config {
            root: root.path().to_path_buf(),
            auth,
            ..Default::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::from_config(&config).unwrap();
        let task = tokio::spawn(async move {
            serve(listener, state, config.upload_ttl(), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server {
            addr,
            stop,
            task,
            _root: root,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// Anonymous clients may do everything.
fn open_access() -> AuthConfig {
    AuthConfig {
        anonymous: Action::ALL.to_vec(),
        ..Default::default()
    }
}

/// Runs a client, failing with its output if it fails, and with an install hint if it is missing.
async fn run(program: &str, args: &[&str], install: &str) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install it with `{install}`"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` as a blob of an OCI layout; returns its descriptor.
fn layout_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> serde_json::Value {
    let hex = sha256_hex(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
    json!({ "mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len() })
}

/// `bytes` gzip-compressed, as layers are pushed (an uncompressed layer would be compressed by skopeo on the way).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An OCI image layout with a three-layer image tagged `v1`; returns the manifest digest.
fn build_layout(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let layers: Vec<Vec<u8>> = (0..3u8)
        .map(|i| vec![i; 200_000 + usize::from(i) * 12_345])
        .collect();
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = layout_blob(
        dir,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let layers: Vec<_> = layers
        .iter()
        .map(|l| layout_blob(dir, "application/vnd.oci.image.layer.v1.tar+gzip", &gzip(l)))
        .collect();
    let manifest = json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers,
    });
    let mut descriptor = layout_blob(
        dir,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": "v1" });
    let index = json!({ "schemaVersion": 2, "manifests": [descriptor.clone()] });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    descriptor["digest"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_a_multi_layer_image_in_and_out() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    let digest = build_layout(&source);
    let server = Server::start(open_access()).await;
    let remote = format!("docker://{}/skopeo/image:v1", server.addr);
    let install = "apt-get install -y skopeo";
    let source_ref = format!("oci:{}:v1", source.display());
    run(
        "skopeo",
        &[
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            &source_ref,
            &remote,
        ],
        install,
    )
    .await;

    let inspected = run(
        "skopeo",
        &["inspect", "--raw", "--tls-verify=false", &remote],
        install,
    )
    .await;
    assert_eq!(
        format!("sha256:{}", sha256_hex(&inspected.stdout)),
        digest,
        "the manifest arrives byte for byte"
    );
    let tags = run(
        "skopeo",
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{}/skopeo/image", server.addr),
        ],
        install,
    )
    .await;
    let tags: serde_json::Value = serde_json::from_slice(&tags.stdout).unwrap();
    assert_eq!(tags["Tags"], json!(["v1"]));

    let copy = work.path().join("copy");
    let copy_ref = format!("oci:{}:v1", copy.display());
    run(
        "skopeo",
        &[
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            &remote,
            &copy_ref,
        ],
        install,
    )
    .await;
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    for entry in std::fs::read_dir(source.join("blobs/sha256")).unwrap() {
        let name = entry.unwrap().file_name();
        let original = std::fs::read(source.join("blobs/sha256").join(&name)).unwrap();
        let copied = std::fs::read(copy.join("blobs/sha256").join(&name)).unwrap();
        assert_eq!(original, copied, "{name:?}");
    }
    server.stop().await;
}

/// Pushes, pulls, lists tags and attaches a referrer with the oras SDK; prints OK when every check passed.
const ORAS_SCRIPT: &str = r#"
import hashlib, json, os, sys
import oras.client, oras.oci, requests

host, work = sys.argv[1], sys.argv[2]
client = oras.client.OrasClient(hostname=host, insecure=True)
small, large = os.path.join(work, "policy.wasm"), os.path.join(work, "large.bin")
with open(small, "wb") as f:
    f.write(b"\0asm\1\0\0\0" + bytes(range(256)) * 40)
with open(large, "wb") as f:
    f.write(os.urandom(300_000))
os.chdir(work)
for name, tag, chunked in [("policy.wasm", "v1", False), ("large.bin", "v2", True)]:
    response = client.push(files=[name], target=f"{host}/oras/artifact:{tag}", do_chunked=chunked, chunk_size=65536)
    assert response.status_code == 201, response.text
for tag, name in [("v1", "policy.wasm"), ("v2", "large.bin")]:
    out = os.path.join(work, "pulled-" + tag)
    files = client.pull(target=f"{host}/oras/artifact:{tag}", outdir=out)
    with open(files[0], "rb") as pulled, open(os.path.join(work, name), "rb") as original:
        assert pulled.read() == original.read(), f"{tag} differs"
assert client.get_tags(f"{host}/oras/artifact") == ["v1", "v2"]
assert client.get_tags(f"{host}/oras/artifact", N=1) == ["v1"]

raw = requests.get(f"http://{host}/v2/oras/artifact/manifests/v1",
                   headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
subject = oras.oci.Subject(mediaType=raw.headers["Content-Type"],
                           digest="sha256:" + hashlib.sha256(raw.content).hexdigest(), size=len(raw.content))
sig = os.path.join(work, "signature.json")
with open(sig, "w") as f:
    json.dump({"signed": True}, f)
response = client.push(files=["signature.json"], target=f"{host}/oras/artifact:sig", subject=subject)
assert response.status_code == 201 and response.headers.get("OCI-Subject") == subject.digest, response.headers
referrers = requests.get(f"http://{host}/v2/oras/artifact/referrers/{subject.digest}").json()
assert len(referrers["manifests"]) == 1, referrers
print("OK")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_python_sdk_pushes_and_pulls_an_artifact() {
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("oras_check.py");
    std::fs::write(&script, ORAS_SCRIPT).unwrap();
    let install = "apt-get install -y python3 && pip install oras";
    let available = Command::new("python3")
        .args(["-c", "import oras.client"])
        .output()
        .await;
    assert!(
        matches!(&available, Ok(o) if o.status.success()),
        "the oras Python SDK is missing: install it with `{install}`"
    );
    let server = Server::start(open_access()).await;
    let work_dir = work.path().to_str().unwrap();
    let output = run(
        "python3",
        &[script.to_str().unwrap(), &server.addr, work_dir],
        install,
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_with_credentials_through_the_token_flow() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    build_layout(&source);
    let htpasswd = work.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("wonderland", 4).unwrap()),
    )
    .unwrap();
    let server = Server::start(AuthConfig {
        htpasswd: Some(htpasswd),
        ..Default::default()
    })
    .await;
    let install = "apt-get install -y skopeo";
    let source_ref = format!("oci:{}:v1", source.display());
    let remote = format!("docker://{}/private/image:v1", server.addr);
    let refused = Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            &source_ref,
            &remote,
        ])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run skopeo ({e}): install it with `{install}`"));
    assert!(
        !refused.status.success(),
        "anonymous pushes are refused by default"
    );
    let creds = ["--dest-creds", "alice:wonderland"];
    let args = [
        "--insecure-policy",
        "copy",
        "--dest-tls-verify=false",
        creds[0],
        creds[1],
        &source_ref,
        &remote,
    ];
    run("skopeo", &args, install).await;
    let copy_ref = format!("oci:{}:v1", work.path().join("copy").display());
    let pull = [
        "--insecure-policy",
        "copy",
        "--src-tls-verify=false",
        &remote,
        &copy_ref,
    ];
    run("skopeo", &pull, install).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_over_tls() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    let digest = build_layout(&source);
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let certs = work.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("ca.crt"), certified.cert.pem()).unwrap();
    let key = work.path().join("tls.key");
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let tls = TlsConfig {
        cert: certs.join("ca.crt"),
        key,
    };

    let root = tempfile::tempdir().unwrap();
    let listener = Listener::bind("127.0.0.1:0", Some(tls.acceptor().unwrap()))
        .await
        .unwrap();
    let addr = listener.local_addr().to_string();
    let config = Config {
        root: root.path().to_path_buf(),
        auth: open_access(),
        tls: Some(tls),
        ..Default::default()
    };
    let state = AppState::from_config(&config).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, config.upload_ttl(), async {
        let _ = stopped.await;
    }));

    let install = "apt-get install -y skopeo";
    let certs = certs.to_str().unwrap();
    let source_ref = format!("oci:{}:v1", source.display());
    let remote = format!("docker://{addr}/tls/image:v1");
    run(
        "skopeo",
        &[
            "--insecure-policy",
            "copy",
            "--dest-cert-dir",
            certs,
            &source_ref,
            &remote,
        ],
        install,
    )
    .await;
    let inspected = run(
        "skopeo",
        &["inspect", "--raw", "--cert-dir", certs, &remote],
        install,
    )
    .await;
    assert_eq!(format!("sha256:{}", sha256_hex(&inspected.stdout)), digest);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Logs in, pushes and pulls with the oras SDK against a registry that refuses anonymous pushes.
const ORAS_LOGIN_SCRIPT: &str = r#"
import os, sys
import oras.client

host, work = sys.argv[1], sys.argv[2]
os.chdir(work)
with open("artifact.txt", "w") as f:
    f.write("private")
anonymous = oras.client.OrasClient(hostname=host, insecure=True)
try:
    anonymous.push(files=["artifact.txt"], target=f"{host}/private/artifact:v1")
    raise SystemExit("an anonymous push was accepted")
except Exception as refused:
    assert "UNAUTHORIZED" in str(refused), refused
client = oras.client.OrasClient(hostname=host, insecure=True)
client.login(username="alice", password="wonderland")
assert client.push(files=["artifact.txt"], target=f"{host}/private/artifact:v1").status_code == 201
pulled = client.pull(target=f"{host}/private/artifact:v1", outdir=os.path.join(work, "out"))
assert open(pulled[0]).read() == "private"
print("OK")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_python_sdk_logs_in_through_the_token_flow() {
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("oras_login.py");
    std::fs::write(&script, ORAS_LOGIN_SCRIPT).unwrap();
    let htpasswd = work.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("wonderland", 4).unwrap()),
    )
    .unwrap();
    let server = Server::start(AuthConfig {
        htpasswd: Some(htpasswd),
        ..Default::default()
    })
    .await;
    let install = "apt-get install -y python3 && pip install oras";
    let work_dir = work.path().to_str().unwrap();
    let output = run(
        "python3",
        &[script.to_str().unwrap(), &server.addr, work_dir],
        install,
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK");
    server.stop().await;
}
