//! Replicas of `palisade serve --storage s3://… --database postgres://…` as an operator runs them: real processes on
//! one Garage bucket and one PostgreSQL database, both started by the test.

// Each test file uses the part it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use test_support::{Garage, Postgres};

/// What makes a replica open to anonymous clients.
const OPEN: [&str; 2] = ["--anonymous", "pull,push,delete"];

/// One `palisade serve` process.
pub struct Replica {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its first line: what it serves, where.
    pub banner: String,
}

/// The stores every replica shares.
pub struct Shared {
    pub garage: Garage,
    pub database: String,
    _postgres: Postgres,
}

impl Shared {
    pub fn start() -> Shared {
        let garage = Garage::start("policies");
        let postgres = Postgres::start();
        let database = postgres.database("registry");
        Shared {
            garage,
            database,
            _postgres: postgres,
        }
    }

    /// The object store's settings, as an operator exports them.
    pub fn aws_env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT_URL", self.garage.endpoint()),
            ("AWS_REGION", self.garage.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.garage.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.garage.secret.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    pub fn storage(&self) -> String {
        format!("s3://{}/registry", self.garage.bucket)
    }

    /// A replica serving the registry alone, open to anonymous clients.
    pub fn replica(&self) -> Replica {
        self.replica_with(&[&["--no-hub"], OPEN.as_slice()].concat())
    }

    /// A replica serving the registry and the hub, open to anonymous clients.
    pub fn replica_with_hub(&self) -> Replica {
        self.replica_with(&OPEN)
    }

    /// A replica with `extra` flags.
    pub fn replica_with(&self, extra: &[&str]) -> Replica {
        let storage = self.storage();
        let args = [
            extra,
            &["--storage", &storage, "--database", &self.database],
        ]
        .concat();
        let replica = Replica::start(&args, &self.aws_env());
        assert!(
            replica.banner.starts_with(&format!(
                "serving {storage}, metadata in postgres://127.0.0.1:"
            )),
            "{}",
            replica.banner
        );
        replica
    }
}

impl Replica {
    /// `palisade serve --no-hub` on a loopback port, open to anonymous clients, with `storage` (its storage flags)
    /// and `env`.
    pub fn serve(storage: &[&str], env: &[(&str, String)]) -> Replica {
        Replica::start(&[&["--no-hub"], OPEN.as_slice(), storage].concat(), env)
    }

    /// `palisade serve` on a loopback port with `args` and `env`.
    fn start(args: &[&str], env: &[(&str, String)]) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting palisade serve: {err}"));
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.strip_suffix("/v2/\n"))
            .unwrap_or_else(|| panic!("unexpected first line: {banner:?}"))
            .to_string();
        Replica {
            child,
            addr,
            banner,
        }
    }

    /// Sends one request; returns the status code and the `Location` header.
    pub fn send(&self, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        let reply = test_support::http(&self.addr, request_line, headers, body);
        (reply.status, reply.header("location").to_string())
    }

    pub fn body(&self, path: &str) -> Vec<u8> {
        test_support::http(&self.addr, &format!("GET {path}"), &[], b"").body
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // Quietly: a replica the test killed is gone already.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}
