//! What can go wrong setting up a listener or serving on it.

use std::path::PathBuf;

/// Why a server cannot listen or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum HttpServerError {
    /// A TLS certificate or key file cannot be read or is not PEM.
    #[error("cannot read TLS file {}: {source}", path.display())]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The certificate and the key do not make a TLS configuration.
    #[error("TLS certificate and key do not work together: {0}")]
    TlsMismatch(#[source] rustls::Error),
    /// A certificate of a client certificate authority file cannot be trusted.
    #[error("cannot trust the client certificate authority in {}: {source}", path.display())]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// What is wrong with the certificate.
        source: rustls::Error,
    },
    /// The client certificate authorities do not make a verifier.
    #[error("cannot verify client certificates with these certificate authorities: {0}")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),
    /// The address cannot be listened on, or serving stopped on an error.
    #[error("cannot serve on {addr}: {source}; choose another address or free this one")]
    Serve {
        /// The address.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl HttpServerError {
    /// Whether the server's configuration or environment is what is wrong: always, since each of these is about
    /// its address or its TLS files. A command line reports it as a usage error.
    pub fn is_usage(&self) -> bool {
        match self {
            HttpServerError::TlsFile { .. }
            | HttpServerError::NoCertificate { .. }
            | HttpServerError::TlsMismatch(_)
            | HttpServerError::ClientCa { .. }
            | HttpServerError::ClientVerifier(_)
            | HttpServerError::Serve { .. } => true,
        }
    }
}

/// A result whose error is an [`HttpServerError`].
pub type Result<T, E = HttpServerError> = std::result::Result<T, E>;
