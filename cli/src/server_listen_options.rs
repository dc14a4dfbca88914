//! Where and how `policy-server` listens, as Kubewarden's policy-server takes it too: `--addr` (a bare host
//! with `--port`, or `HOST:PORT`), the readiness probe's own plain-HTTP port, HTTPS and mutual TLS; each flag
//! also read from the variable Kubewarden's controller sets in the Deployment it generates.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use http_server::{TlsAcceptor, TlsConfig};

use crate::exit::UsageError;

/// The port when neither `--port` nor `--addr HOST:PORT` names one, as Kubewarden's.
const DEFAULT_PORT: u16 = 3000;

/// The listening flags of `policy-server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerListenOptions {
    /// The address to listen on: a host, which takes --port (Kubewarden's form), or HOST:PORT (port 0: any
    /// free port, printed at start-up) [default: 0.0.0.0 with --cert-file, as a webhook in a pod must be
    /// reachable from the API server; 127.0.0.1 without, plain HTTP being for local use]
    #[arg(long, env = "KUBEWARDEN_BIND_ADDRESS", value_name = "HOST[:PORT]")]
    addr: Option<String>,
    /// The port to listen on, with a bare --addr host [default: 3000]
    #[arg(
        long,
        env = "KUBEWARDEN_PORT",
        value_name = "PORT",
        value_parser = |text: &str| parse_port(text, "KUBEWARDEN_PORT")
    )]
    port: Option<u16>,
    /// Also serve GET /readiness over plain HTTP on this port of the --addr host, as Kubewarden's
    /// policy-server does for the kubelet's probe while the webhook port speaks HTTPS (its controller sets
    /// 8081). /readiness stays on the webhook port too. [default: not served apart; Kubewarden's opens 8081]
    #[arg(
        long,
        env = "KUBEWARDEN_READINESS_PROBE_PORT",
        value_name = "PORT",
        value_parser = |text: &str| parse_port(text, "KUBEWARDEN_READINESS_PROBE_PORT")
    )]
    readiness_probe_port: Option<u16>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first; Kubewarden's --cert-file works too).
    #[arg(
        long,
        alias = "cert-file",
        env = "KUBEWARDEN_CERT_FILE",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// ... and this private key (PEM; Kubewarden's --key-file works too).
    #[arg(
        long,
        alias = "key-file",
        env = "KUBEWARDEN_KEY_FILE",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: require every client to present a certificate issued by a certificate authority of these
    /// PEM files (comma-separated, as Kubewarden's controller sets them), refusing the others' handshakes.
    #[arg(
        long,
        env = "KUBEWARDEN_CLIENT_CA_FILE",
        value_name = "FILE[,FILE…]",
        value_delimiter = ',',
        requires = "tls_cert"
    )]
    client_ca_file: Vec<PathBuf>,
}

impl ServerListenOptions {
    /// The TLS acceptor of --tls-cert and --tls-key, verifying clients against --client-ca-file; none without
    /// a certificate. Built before the (slower) start-up, so that a bad file stops the server at once.
    pub fn tls(&self) -> anyhow::Result<Option<TlsAcceptor>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let config = TlsConfig {
            cert: cert.clone(),
            key: key.clone(),
        };
        let acceptor = if self.client_ca_file.is_empty() {
            config.acceptor()?
        } else {
            config
                .acceptor_verifying_clients(&self.client_ca_file)
                .context("--client-ca-file (KUBEWARDEN_CLIENT_CA_FILE)")?
        };
        Ok(Some(acceptor))
    }

    /// The webhook's `HOST:PORT`.
    pub fn webhook_address(&self) -> anyhow::Result<String> {
        let (host, port) = self.host_and_port()?;
        Ok(join(&host, port))
    }

    /// The readiness probe's `HOST:PORT`, when --readiness-probe-port asks for one.
    pub fn readiness_address(&self) -> anyhow::Result<Option<String>> {
        let Some(port) = self.readiness_probe_port else {
            return Ok(None);
        };
        let (host, _) = self.host_and_port()?;
        Ok(Some(join(&host, port)))
    }

    /// The host and the webhook's port: from --addr, else the default host; the port from --addr
    /// HOST:PORT or --port, never both.
    fn host_and_port(&self) -> anyhow::Result<(String, u16)> {
        let default_host = if self.tls_cert.is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        let (host, addr_port) = match &self.addr {
            Some(addr) => split_address(addr)?,
            None => (default_host.to_string(), None),
        };
        let port = match (addr_port, self.port) {
            (Some(_), Some(port)) => {
                return Err(UsageError(format!(
                    "--addr {} names a port and --port (KUBEWARDEN_PORT) names {port}: give the port once, \
                     as --addr HOST with --port, or as --addr HOST:PORT",
                    self.addr.as_deref().unwrap_or_default()
                ))
                .into());
            }
            (Some(port), None) | (None, Some(port)) => port,
            (None, None) => DEFAULT_PORT,
        };
        Ok((host, port))
    }
}

/// `--port`, `--readiness-probe-port`: a TCP port number; the error names the `variable` it may come from.
fn parse_port(text: &str, variable: &str) -> Result<u16, String> {
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not a port number, 0 to 65535 (also read from {variable})")
    })
}

/// `--addr` split into its host and, when it names one, its port: `0.0.0.0`, `::`, `[::1]` and `localhost` are
/// bare hosts; `127.0.0.1:3000`, `[::1]:3000` and `localhost:3000` name a port.
fn split_address(addr: &str) -> anyhow::Result<(String, Option<u16>)> {
    if let Ok(ip) = addr.parse::<IpAddr>() {
        return Ok((ip.to_string(), None));
    }
    if let Some(bracketed) = addr
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return Ok((bracketed.to_string(), None));
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Ok((addr.to_string(), None));
    };
    let host = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || (host.contains(':') && host.parse::<IpAddr>().is_err()) {
        return Err(UsageError(format!(
            "--addr {addr:?} (KUBEWARDEN_BIND_ADDRESS) is neither a host nor HOST:PORT"
        ))
        .into());
    }
    let port = port.parse().map_err(|_| {
        UsageError(format!(
            "--addr {addr:?} (KUBEWARDEN_BIND_ADDRESS): {port:?} is not a port number (0 to 65535)"
        ))
    })?;
    Ok((host.to_string(), Some(port)))
}

/// `HOST:PORT`, an IPv6 host in brackets.
fn join(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        listen: ServerListenOptions,
    }

    fn parse(args: &[&str]) -> ServerListenOptions {
        let args = std::iter::once("p").chain(args.iter().copied());
        Cli::try_parse_from(args)
            .unwrap_or_else(|err| panic!("{err}"))
            .listen
    }

    fn address(args: &[&str]) -> Result<String, String> {
        parse(args)
            .webhook_address()
            .map_err(|err| crate::exit::message(&err))
    }

    #[test]
    fn a_bare_host_takes_the_port_and_host_port_stands_alone() {
        assert_eq!(address(&["--addr", "0.0.0.0"]), Ok("0.0.0.0:3000".into()));
        assert_eq!(
            address(&["--addr", "0.0.0.0", "--port", "8443"]),
            Ok("0.0.0.0:8443".into())
        );
        assert_eq!(
            address(&["--addr", "::", "--port", "1"]),
            Ok("[::]:1".into())
        );
        assert_eq!(address(&["--addr", "[::1]"]), Ok("[::1]:3000".into()));
        assert_eq!(
            address(&["--addr", "localhost"]),
            Ok("localhost:3000".into())
        );
        assert_eq!(
            address(&["--addr", "127.0.0.1:0"]),
            Ok("127.0.0.1:0".into())
        );
        assert_eq!(address(&["--addr", "[::1]:80"]), Ok("[::1]:80".into()));
        assert_eq!(
            address(&["--addr", "localhost:8080"]),
            Ok("localhost:8080".into())
        );
    }

    #[test]
    fn the_default_host_is_every_interface_only_with_tls() {
        assert_eq!(address(&[]), Ok("127.0.0.1:3000".into()));
        assert_eq!(
            address(&[
                "--cert-file",
                "c.pem",
                "--key-file",
                "k.pem",
                "--port",
                "8443"
            ]),
            Ok("0.0.0.0:8443".into())
        );
        let readiness =
            parse(&["--addr", "::", "--readiness-probe-port", "8081"]).readiness_address();
        assert_eq!(readiness.ok().flatten(), Some("[::]:8081".into()));
        assert!(matches!(parse(&[]).readiness_address(), Ok(None)));
    }

    #[test]
    fn a_port_given_twice_or_malformed_is_a_usage_error() {
        let err = parse(&["--addr", "127.0.0.1:3000", "--port", "8443"])
            .webhook_address()
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(crate::exit::code(&err), 2);
        let message = crate::exit::message(&err);
        assert!(
            message.contains("--addr 127.0.0.1:3000") && message.contains("--port"),
            "{message}"
        );
        for bad in ["localhost:http", ":::x", ":80"] {
            let err = address(&["--addr", bad]).err();
            assert!(
                err.as_deref().is_some_and(|e| e.contains("--addr")),
                "{bad}: {err:?}"
            );
        }
        let err = Cli::try_parse_from(["p", "--port", "https"])
            .err()
            .map(|err| err.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("--port") && e.contains("not a port number")),
            "{err:?}"
        );
    }

    #[test]
    fn a_client_ca_needs_a_certificate_and_splits_on_commas() {
        let err = Cli::try_parse_from(["p", "--client-ca-file", "ca.pem"])
            .err()
            .map(|err| err.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("--tls-cert")),
            "{err:?}"
        );
        let listen = parse(&[
            "--cert-file",
            "c",
            "--key-file",
            "k",
            "--client-ca-file",
            "a.pem,b.pem",
        ]);
        assert_eq!(
            listen.client_ca_file,
            [PathBuf::from("a.pem"), PathBuf::from("b.pem")]
        );
    }
}
