//! Serving over TLS (rustls) from PEM certificate and key files.
//!
//! Handshakes run in their own tasks, so a slow or silent client cannot hold up the others; only finished
//! handshakes reach the HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::{HttpServerError, Result};

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `tls` section of the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsConfig {
    /// The acceptor for this certificate and key: checked before a server starts, so that a bad file stops
    /// it at once.
    pub fn acceptor(&self) -> Result<TlsAcceptor> {
        self.acceptor_verifying_clients(&[])
    }

    /// The acceptor for this certificate and key that, given certificate authorities (`client_cas`: PEM
    /// files, each holding one or more), requires every client to present a certificate one of them issued
    /// (mutual TLS) and refuses the handshake of any other; none: clients are not asked for one.
    pub fn acceptor_verifying_clients(&self, client_cas: &[PathBuf]) -> Result<TlsAcceptor> {
        let certs = read_certificates(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(unreadable(&self.key))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(HttpServerError::TlsMismatch)?;
        let builder = if client_cas.is_empty() {
            builder.with_no_client_auth()
        } else {
            builder.with_client_cert_verifier(client_verifier(client_cas, provider)?)
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(HttpServerError::TlsMismatch)?;
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The certificates of the PEM file `path`: at least one.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(unreadable(path))?;
    if certs.is_empty() {
        return Err(HttpServerError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// What says that the TLS file `path` cannot be read.
fn unreadable(path: &Path) -> impl FnOnce(rustls::pki_types::pem::Error) -> HttpServerError {
    let path = path.to_path_buf();
    move |source| HttpServerError::TlsFile { path, source }
}

/// The verifier that accepts only client certificates issued by one of the authorities in `client_cas`.
fn client_verifier(
    client_cas: &[PathBuf],
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for path in client_cas {
        for cert in read_certificates(path)? {
            roots
                .add(cert)
                .map_err(|source| HttpServerError::ClientCa {
                    path: path.clone(),
                    source,
                })?;
        }
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(HttpServerError::ClientVerifier)
}

/// A listener yielding TLS connections whose handshake succeeded.
pub(crate) struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking each connection with `acceptor`.
    pub(crate) fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (sender, incoming) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            incoming,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
