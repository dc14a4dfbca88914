//! How to reach a registry: TLS with the system roots and the sources' authorities, or, for registries
//! listed as insecure and for loopback ones, TLS without verification and then plain HTTP; proxies; how
//! often a transient failure is tried again; and what a failure of the transport means to the user.

use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};

use super::sources::Sources;
use crate::error::{ClientError, Result};
use artifact::ArtifactError;
use artifact::oci::Digest;
use artifact::reference::RegistryRef;

/// How many times a transient failure (429, 5xx, dropped connection) is tried again.
pub const RETRIES: u32 = 3;
/// The first pause before a retry; it doubles each time.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// One way of connecting, tried in order until one gets an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// HTTPS, verifying the server against the system roots and the configured authorities.
    VerifiedTls,
    /// HTTPS without verifying the server (insecure registries only).
    UnverifiedTls,
    /// Plain HTTP (insecure registries only).
    PlainHttp,
}

/// The attempts allowed for `reference`: verified TLS only, unless the registry is listed as insecure,
/// or is on this machine (as docker does) and the sources give it no certificate authority (whoever
/// names an authority for a registry wants it checked).
pub fn attempts(sources: &Sources, reference: &RegistryRef) -> Vec<Attempt> {
    let has_authority = sources.source_authorities.contains_key(&reference.registry);
    if sources.is_insecure(&reference.registry) || (reference.is_loopback() && !has_authority) {
        vec![
            Attempt::VerifiedTls,
            Attempt::UnverifiedTls,
            Attempt::PlainHttp,
        ]
    } else {
        vec![Attempt::VerifiedTls]
    }
}

/// The status `registry` answers `GET /v2/` with over plain HTTP, if it speaks plain HTTP: one short
/// exchange on a bare TCP connection, far cheaper than a failed TLS handshake through a fully configured
/// client. Used only where plain HTTP is allowed.
pub async fn plain_http_status(registry: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(registry).await.ok()?;
        let request = format!("GET /v2/ HTTP/1.1\r\nHost: {registry}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        // `HTTP/1.1 200`
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        let head = std::str::from_utf8(&head).ok()?;
        let status = head.strip_prefix("HTTP/")?.split_once(' ')?.1;
        status.parse().ok()
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

/// The oci-client configuration of one attempt. `open` says the registry takes requests without
/// credentials and none are given.
pub fn client_config(
    attempt: Attempt,
    sources: &Sources,
    registry: &str,
    open: bool,
) -> Result<ClientConfig> {
    let extra_root_certificates = sources
        .authorities(registry)?
        .into_iter()
        .map(|certificate| Certificate {
            encoding: if certificate.pem {
                CertificateEncoding::Pem
            } else {
                CertificateEncoding::Der
            },
            data: certificate.bytes,
        })
        .collect();
    let proxies = &sources.proxies;
    Ok(ClientConfig {
        protocol: match attempt {
            Attempt::PlainHttp => ClientProtocol::Http,
            _ => ClientProtocol::Https,
        },
        // A plain HTTP session with an open registry has nothing for TLS to protect: no credentials go
        // anywhere, and the only HTTPS it can meet are redirects to blob storage, whose content is checked
        // against its digest. Leaving verification off there spares loading the system's root
        // certificates (hundreds of files) on every run.
        accept_invalid_certificates: attempt == Attempt::UnverifiedTls
            || (attempt == Attempt::PlainHttp && open),
        // Small blobs go in one request; large ones in resumable chunks, by `upload`.
        use_monolithic_push: true,
        extra_root_certificates,
        https_proxy: proxies.https_proxy.clone(),
        http_proxy: proxies.http_proxy.clone(),
        no_proxy: proxies.no_proxy.clone(),
        user_agent: concat!("palisade/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    })
}

/// A plain HTTP client set up as `config` sets up oci-client's, for the requests oci-client does not make
/// (chunked uploads).
pub fn http_client(config: &ClientConfig, registry: &str) -> Result<reqwest::Client> {
    let invalid = |reason: String| ClientError::Registry {
        registry: registry.to_string(),
        reason,
    };
    let certificates = config
        .extra_root_certificates
        .iter()
        .map(|certificate| match certificate.encoding {
            CertificateEncoding::Pem => reqwest::Certificate::from_pem(&certificate.data),
            CertificateEncoding::Der => reqwest::Certificate::from_der(&certificate.data),
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| invalid(format!("a certificate authority cannot be used: {err}")))?;
    let mut builder = reqwest::Client::builder()
        .danger_accept_invalid_certs(config.accept_invalid_certificates)
        .tls_certs_merge(certificates)
        .user_agent(config.user_agent);
    let no_proxy = || {
        config
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string)
    };
    let proxy_error = |err: reqwest::Error| invalid(format!("bad proxy: {err}"));
    if let Some(proxy) = &config.https_proxy {
        builder = builder.proxy(
            reqwest::Proxy::https(proxy)
                .map_err(proxy_error)?
                .no_proxy(no_proxy()),
        );
    }
    if let Some(proxy) = &config.http_proxy {
        builder = builder.proxy(
            reqwest::Proxy::http(proxy)
                .map_err(proxy_error)?
                .no_proxy(no_proxy()),
        );
    }
    builder.build().map_err(|err| {
        invalid(format!(
            "cannot set up an HTTP client: {}",
            root_cause(&err)
        ))
    })
}

/// The scheme requests of `attempt` use.
pub fn scheme(attempt: Attempt) -> &'static str {
    match attempt {
        Attempt::PlainHttp => "http",
        Attempt::VerifiedTls | Attempt::UnverifiedTls => "https",
    }
}

/// The error of a blob stream as oci-client would report it: a digest that did not match, a dropped
/// connection (worth a retry), or another I/O failure.
pub fn stream_error(err: std::io::Error) -> OciDistributionError {
    let Some(inner) = err.get_ref() else {
        return OciDistributionError::IoError(err);
    };
    if inner.is::<DigestError>() || inner.is::<reqwest::Error>() {
        if let Some(inner) = err.into_inner() {
            return match inner.downcast::<DigestError>() {
                Ok(digest) => OciDistributionError::DigestError(*digest),
                Err(other) => match other.downcast::<reqwest::Error>() {
                    Ok(request) => OciDistributionError::RequestError(*request),
                    Err(other) => OciDistributionError::IoError(std::io::Error::other(other)),
                },
            };
        }
        return OciDistributionError::IoError(std::io::Error::other("blob stream failed"));
    }
    OciDistributionError::IoError(err)
}

/// Whether the error means the connection itself failed (so another attempt may succeed).
pub fn is_connection_failure(err: &OciDistributionError) -> bool {
    matches!(err, OciDistributionError::RequestError(e) if e.is_connect())
}

/// Whether the error is worth retrying after a pause: rate limiting, server errors, dropped connections.
pub fn is_transient(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Toomanyrequests)),
        OciDistributionError::RequestError(e) => {
            !e.is_connect() && (e.is_request() || e.is_body() || e.is_timeout())
        }
        _ => false,
    }
}

/// What the failure means, in the user's terms.
pub fn explain(registry: &str, what: &str, err: OciDistributionError) -> ClientError {
    let registry = registry.to_string();
    match err {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            ClientError::Unreachable {
                registry,
                reason: root_cause(&e),
            }
        }
        OciDistributionError::RequestError(e) if e.status().is_some_and(|s| s.as_u16() == 401) => {
            ClientError::Unauthorized { registry }
        }
        OciDistributionError::RequestError(e) if e.status().is_some_and(|s| s.as_u16() == 403) => {
            ClientError::Denied {
                registry,
                reason: root_cause(&e),
            }
        }
        OciDistributionError::RequestError(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
            ClientError::NotFound {
                what: what.to_string(),
            }
        }
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::ServerError { code: 401, .. } => {
            ClientError::Unauthorized { registry }
        }
        OciDistributionError::ServerError {
            code: 403, message, ..
        } => ClientError::Denied {
            registry,
            reason: envelope_messages(&message),
        },
        OciDistributionError::ImageManifestNotFoundError(_)
        | OciDistributionError::ServerError { code: 404, .. } => ClientError::NotFound {
            what: what.to_string(),
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            let message = envelope
                .errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let awaiting = envelope
                .errors
                .iter()
                .find(|e| e.detail.get("pending").and_then(|p| p.as_bool()) == Some(true));
            if let Some(awaiting) = awaiting {
                ClientError::AwaitingSignature {
                    what: what.to_string(),
                    reason: awaiting.message.clone(),
                }
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized))
            {
                ClientError::Unauthorized { registry }
            } else if codes.iter().any(|c| matches!(c, OciErrorCode::Denied)) {
                ClientError::Denied {
                    registry,
                    reason: message,
                }
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                ClientError::NotFound {
                    what: what.to_string(),
                }
            } else {
                ClientError::Registry {
                    registry,
                    reason: message,
                }
            }
        }
        OciDistributionError::DigestError(DigestError::VerificationError { expected, actual }) => {
            match actual.parse::<Digest>() {
                Ok(actual) => ArtifactError::DigestMismatch {
                    what: format!("blob {expected} of {what}"),
                    actual: actual.to_string(),
                }
                .into(),
                Err(_) => ClientError::Registry {
                    registry,
                    reason: format!("blob {expected} of {what} has the digest {actual}"),
                },
            }
        }
        other => ClientError::Registry {
            registry,
            reason: match &other {
                OciDistributionError::RequestError(e) => root_cause(e),
                _ => other.to_string(),
            },
        },
    }
}

/// The messages of an OCI error body (`{"errors":[{"message":…}]}`), or the body as it is.
pub(super) fn envelope_messages(body: &str) -> String {
    let messages: Option<Vec<String>> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| {
            json.get("errors")?
                .as_array()?
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .collect()
        });
    messages.map_or_else(|| body.to_string(), |m| m.join("; "))
}

/// The innermost cause of a request error ("connection refused", "invalid peer certificate").
pub(super) fn root_cause(err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::registry_ref as registry;

    #[test]
    fn error_bodies_read_as_their_messages() {
        let body = r#"{"errors":[{"code":"DENIED","message":"you may not push p"}]}"#;
        assert_eq!(envelope_messages(body), "you may not push p");
        assert_eq!(envelope_messages("plain text"), "plain text");
    }

    #[test]
    fn only_insecure_or_loopback_registries_fall_back() {
        let mut sources = Sources::default();
        assert_eq!(
            attempts(&sources, &registry("ghcr.io/p")),
            [Attempt::VerifiedTls]
        );
        assert_eq!(attempts(&sources, &registry("localhost:5000/p")).len(), 3);
        sources.insecure_sources.insert("dev.example.com".into());
        assert_eq!(attempts(&sources, &registry("dev.example.com/p")).len(), 3);
        sources
            .source_authorities
            .insert("127.0.0.1:5000".into(), Vec::new());
        assert_eq!(
            attempts(&sources, &registry("127.0.0.1:5000/p")),
            [Attempt::VerifiedTls]
        );
    }
}
