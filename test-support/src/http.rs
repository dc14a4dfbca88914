//! One HTTP/1.1 request to a server the test started, on a fresh connection (`Connection: close`), read whole, in
//! plain text or over TLS: what the CLI tests use to talk to `palisade serve` and `palisade policy-server`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// An answer, fully read.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The header lines, as sent.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The value of header `name` (any case), or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.head
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then_some(value.trim())
            })
            .unwrap_or("")
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD PATH` (`request_line`) with `headers` and `body` to `addr` (`HOST:PORT`).
pub fn http(addr: &str, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|err| panic!("connecting to {addr}: {err}"));
    exchange(&mut stream, addr, request_line, headers, body)
        .unwrap_or_else(|err| panic!("sending {request_line} to {addr}: {err}"))
}

/// A client certificate and its private key, in PEM, for mutual TLS.
pub struct ClientIdentity<'a> {
    /// The certificate.
    pub cert_pem: &'a str,
    /// Its private key.
    pub key_pem: &'a str,
}

/// [`http`] over TLS: the server must present a certificate for `localhost` that `ca_pem` issued; `client`, if
/// given, is presented when the server asks. A handshake the server refuses (no client certificate, or one it
/// does not trust) is an error, not a panic.
pub fn https(
    addr: &str,
    request_line: &str,
    body: &[u8],
    ca_pem: &str,
    client: Option<ClientIdentity<'_>>,
) -> std::io::Result<HttpReply> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let pem = |err: rustls::pki_types::pem::Error| -> ! { panic!("test PEM: {err}") };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots
            .add(cert.unwrap_or_else(|err| pem(err)))
            .unwrap_or_else(|err| panic!("trusting the test CA: {err}"));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|err| panic!("TLS client: {err}"))
        .with_root_certificates(roots);
    let config = match client {
        Some(identity) => {
            let chain = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|err| pem(err));
            let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
                .unwrap_or_else(|err| pem(err));
            builder
                .with_client_auth_cert(chain, key)
                .unwrap_or_else(|err| panic!("TLS client certificate: {err}"))
        }
        None => builder.with_no_client_auth(),
    };
    let server = ServerName::try_from("localhost").unwrap_or_else(|err| panic!("{err}"));
    let connection = rustls::ClientConnection::new(Arc::new(config), server)
        .unwrap_or_else(|err| panic!("TLS client: {err}"));
    let tcp = TcpStream::connect(addr)?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    exchange(&mut stream, addr, request_line, &[], body)
}

/// Writes the request on `stream` and reads the whole answer.
fn exchange(
    stream: &mut (impl Read + Write),
    addr: &str,
    request_line: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpReply> {
    let mut request = format!(
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let head = String::from_utf8_lossy(&reply[..split]).into_owned();
    let body = reply.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no status in the answer to {request_line}: {head:?}"),
            )
        })?;
    Ok(HttpReply { status, head, body })
}
