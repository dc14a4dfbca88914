//! A throwaway nginx (Debian package `nginx`) balancing requests over the registry's replicas, as
//! deploy/nginx.conf does in docker-compose.yml: round robin per request, bodies streamed both ways, the client's
//! Host and scheme passed on. Everything it writes stays in a temporary folder; it is stopped when dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::ports::{free_port, wait_until_listening};
use super::postgres::is_root;

const BINARY: &str = "nginx";

/// Where Debian installs it: `/usr/sbin`, which is not on every user's `PATH`.
const DEBIAN_BINARY: &str = "/usr/sbin/nginx";

/// A running nginx in front of some upstream servers.
pub struct Nginx {
    /// Where it listens, `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

/// One request as nginx's access log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// `GET`, `PATCH`…
    pub method: String,
    /// The path and query, as the client sent them.
    pub uri: String,
    /// The status code the client got.
    pub status: u16,
    /// The `Location` header of the answer (`-` if none).
    pub location: String,
    /// The upstream (`HOST:PORT`) that answered, after those that could not be reached (`A, B`).
    pub upstream: String,
}

impl Nginx {
    /// Starts nginx on a free loopback port, passing each request to the next of `upstreams` (`HOST:PORT`) in
    /// turn; panics, saying what to install, if nginx is missing, and with nginx's own words if it refuses the
    /// configuration.
    pub fn start(upstreams: &[&str]) -> Nginx {
        let dir =
            tempfile::tempdir().unwrap_or_else(|err| panic!("creating a temporary folder: {err}"));
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let config = dir.path().join("nginx.conf");
        std::fs::write(&config, configuration(dir.path(), addr, upstreams))
            .unwrap_or_else(|err| panic!("writing {}: {err}", config.display()));
        let checked = command(dir.path())
            .arg("-t")
            .output()
            .unwrap_or_else(|err| {
                panic!("cannot run `{BINARY}` ({err}): install it with `apt-get install nginx`")
            });
        assert!(
            checked.status.success(),
            "nginx refuses its configuration: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let child = command(dir.path())
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting nginx: {err}"));
        wait_until_listening(addr, BINARY);
        Nginx { addr, child, dir }
    }

    /// Every request proxied so far, oldest first.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        let log = self.dir.path().join("access.log");
        let text = std::fs::read_to_string(&log)
            .unwrap_or_else(|err| panic!("reading {}: {err}", log.display()));
        text.lines()
            .map(|line| {
                // The upstream comes last: "A, B" when nginx tried a second one.
                let fields: Vec<&str> = line.splitn(5, ' ').collect();
                match fields[..] {
                    [method, uri, status, location, upstream] => ProxiedRequest {
                        method: method.to_string(),
                        uri: uri.to_string(),
                        status: status.parse().unwrap_or_default(),
                        location: location.to_string(),
                        upstream: upstream.to_string(),
                    },
                    _ => panic!("an access log line of another format: {line:?}"),
                }
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A fast shutdown of the master, which stops its workers (SIGKILL would leave them behind).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// `nginx` with its prefix, configuration and startup error log in `dir`.
fn command(dir: &Path) -> Command {
    let program = if Path::new(DEBIAN_BINARY).exists() {
        DEBIAN_BINARY
    } else {
        BINARY
    };
    let mut command = Command::new(program);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    command
}

/// The configuration: deploy/nginx.conf's balancing and proxying (connections to the replicas kept open, as there:
/// the balancer still picks the next replica for each request), with every path nginx writes under `dir`, and an
/// access log that names the replica of each request and the location it answered.
fn configuration(dir: &Path, addr: SocketAddr, upstreams: &[&str]) -> String {
    let dir = dir.display();
    // Run as root, nginx would hand its workers to `nobody`, who may not enter this folder.
    let user = if is_root() { "user root;\n" } else { "" };
    let servers: String = upstreams
        .iter()
        .map(|upstream| format!("        server {upstream};\n"))
        .collect();
    format!(
        "{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 256;
}}
http {{
    log_format upstreams '$request_method $request_uri $status $sent_http_location $upstream_addr';
    access_log {dir}/access.log upstreams;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream registry {{
{servers}        keepalive 32;
    }}
    server {{
        listen {addr};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location / {{
            proxy_pass http://registry;
        }}
    }}
}}
"
    )
}
