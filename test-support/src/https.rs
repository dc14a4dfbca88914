//! One HTTPS request to a server the test started ([`crate::http`]'s request over rustls), with an optional client
//! certificate for mutual TLS.

use std::net::TcpStream;
use std::sync::Arc;

use crate::http::{HttpReply, exchange};

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
