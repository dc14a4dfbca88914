//! A throwaway Garage server (an S3-compatible object store used in production) for the replicated registry's
//! tests: one node, its S3 API on 127.0.0.1, one bucket and one key, stopped when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::{free_port, wait_until_listening};

/// The program, from `cargo install garage --locked`.
const BINARY: &str = "garage";

/// A running single-node Garage with one bucket and a key that may read and write it.
pub struct Garage {
    /// The S3 API, `127.0.0.1:PORT`.
    pub s3: SocketAddr,
    /// The region Garage answers for.
    pub region: String,
    /// The bucket's name.
    pub bucket: String,
    /// The access key ID.
    pub key_id: String,
    /// The secret access key.
    pub secret: String,
    child: Child,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Garage {
    /// Starts Garage, lays out its one node and creates the bucket `bucket`; panics, saying what to install, if the
    /// binary is missing.
    pub fn start(bucket: &str) -> Garage {
        let dir =
            tempfile::tempdir().unwrap_or_else(|err| panic!("creating a temporary folder: {err}"));
        let s3: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let rpc: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let admin: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let region = "garage".to_string();
        let secret: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        let config = dir.path().join("garage.toml");
        let text = format!(
            "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\nreplication_factor = 1\n\
             rpc_bind_addr = \"{rpc}\"\nrpc_public_addr = \"{rpc}\"\nrpc_secret = \"{secret}\"\n\n\
             [s3_api]\ns3_region = \"{region}\"\napi_bind_addr = \"{s3}\"\nroot_domain = \".s3.garage.localhost\"\n\n\
             [admin]\napi_bind_addr = \"{admin}\"\n",
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = hex::encode(secret),
        );
        std::fs::write(&config, text)
            .unwrap_or_else(|err| panic!("writing {}: {err}", config.display()));
        let child = spawn(&config);
        let mut garage = Garage {
            s3,
            region,
            bucket: bucket.to_string(),
            key_id: String::new(),
            secret: String::new(),
            child,
            config,
            _dir: dir,
        };
        wait_until_listening(rpc, BINARY);
        wait_until_listening(s3, BINARY);
        garage.lay_out();
        garage
    }

    /// Kills the server (`kill -9`, as a crash or an outage does): its S3 API stops answering; its data stays.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again after [`Garage::stop`], on the same ports with the same data, bucket and key, once
    /// it answers on the bucket.
    pub fn start_again(&mut self) {
        self.child = spawn(&self.config);
        wait_until_listening(self.s3, BINARY);
        self.until_ok(&["bucket", "info", &self.bucket.clone()]);
    }

    /// `http://127.0.0.1:PORT`, the endpoint for S3 clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.s3)
    }

    /// Assigns the node its role, creates the bucket and the key, and lets the key use the bucket.
    fn lay_out(&mut self) {
        let status = self.until_ok(&["status"]);
        let node = status
            .lines()
            .skip_while(|line| !line.starts_with("ID"))
            .nth(1)
            .and_then(|line| line.split_whitespace().next())
            .unwrap_or_else(|| panic!("no node ID in `garage status`:\n{status}"))
            .to_string();
        self.until_ok(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.until_ok(&["layout", "apply", "--version", "1"]);
        self.until_ok(&["bucket", "create", &self.bucket.clone()]);
        let key = self.until_ok(&["key", "create", "palisade-tests"]);
        self.key_id = field(&key, "Key ID:");
        self.secret = field(&key, "Secret key:");
        self.until_ok(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &self.bucket.clone(),
            "--key",
            "palisade-tests",
        ]);
    }

    /// Runs `garage ARGS`, retrying for a few seconds while the node settles; returns its standard output.
    fn until_ok(&self, args: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = cli(&self.config)
                .args(args)
                .output()
                .unwrap_or_else(|err| panic!("running garage {args:?}: {err}"));
            if output.status.success() {
                return String::from_utf8_lossy(&output.stdout).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "garage {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `garage server` with `config`; panics, saying how to install it, if the binary is missing.
fn spawn(config: &Path) -> Child {
    Command::new(BINARY)
        .arg("-c")
        .arg(config)
        .arg("server")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("cannot run `{BINARY}` ({err}): install it with `cargo install garage --version 2.5.0 --locked`")
        })
}

fn cli(config: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command.arg("-c").arg(config);
    command
}

/// The value after `label` on its line of `garage key create`'s output.
fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|value| value.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in garage's output:\n{output}"))
}
