//! Third-party clients against the registry on a real loopback socket: skopeo (Debian package `skopeo`) and the
//! oras Python SDK (PyPI package `oras`). A missing client fails the test with what to install.

use std::process::Command;

use http_server::{Listener, TlsConfig};
use registry_server::auth::{Action, AuthConfig};
use registry_server::{AppState, Config, serve};
use sha2::{Digest as _, Sha256};
use test_support::oci_clients::{
    ORAS_INSTALL, SKOPEO_INSTALL, build_oci_layout, oras_round_trip, run_client, skopeo_round_trip,
};
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

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_a_multi_layer_image_in_and_out() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(open_access()).await;
    skopeo_round_trip(&server.addr, work.path());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oras_python_sdk_pushes_and_pulls_an_artifact() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(open_access()).await;
    oras_round_trip(&server.addr, work.path());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_with_credentials_through_the_token_flow() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    build_oci_layout(&source);
    let htpasswd = work.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        test_support::htpasswd(&[("alice", "wonderland")]),
    )
    .unwrap();
    let server = Server::start(AuthConfig {
        htpasswd: Some(htpasswd),
        ..Default::default()
    })
    .await;
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
        .unwrap_or_else(|e| panic!("cannot run skopeo ({e}): install it with `{SKOPEO_INSTALL}`"));
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
    run_client("skopeo", &args, SKOPEO_INSTALL);
    let copy_ref = format!("oci:{}:v1", work.path().join("copy").display());
    let pull = [
        "--insecure-policy",
        "copy",
        "--src-tls-verify=false",
        &remote,
        &copy_ref,
    ];
    run_client("skopeo", &pull, SKOPEO_INSTALL);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_over_tls() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    let digest = build_oci_layout(&source);
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

    let certs = certs.to_str().unwrap();
    let source_ref = format!("oci:{}:v1", source.display());
    let remote = format!("docker://{addr}/tls/image:v1");
    run_client(
        "skopeo",
        &[
            "--insecure-policy",
            "copy",
            "--dest-cert-dir",
            certs,
            &source_ref,
            &remote,
        ],
        SKOPEO_INSTALL,
    );
    let inspected = run_client(
        "skopeo",
        &["inspect", "--raw", "--cert-dir", certs, &remote],
        SKOPEO_INSTALL,
    );
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
        test_support::htpasswd(&[("alice", "wonderland")]),
    )
    .unwrap();
    let server = Server::start(AuthConfig {
        htpasswd: Some(htpasswd),
        ..Default::default()
    })
    .await;
    let work_dir = work.path().to_str().unwrap();
    let output = run_client(
        "python3",
        &[script.to_str().unwrap(), &server.addr, work_dir],
        ORAS_INSTALL,
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "OK");
    server.stop().await;
}
