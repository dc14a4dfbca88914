//! The sources file, in Kubewarden's `sources.yaml` format: insecure registries, private certificate
//! authorities and proxies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{ClientError, Result};
use artifact::files;

/// What `sources.yaml` says. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Sources {
    /// Registries (`host` or `host:port`) that may be reached over TLS without verification, then over
    /// plain HTTP.
    #[serde(default)]
    pub insecure_sources: BTreeSet<String>,
    /// Extra certificate authorities, by registry.
    #[serde(default)]
    pub source_authorities: BTreeMap<String, Vec<Authority>>,
    /// Proxies, taking precedence over the `*_PROXY` environment variables.
    #[serde(default)]
    pub proxies: Proxies,
}

/// One certificate authority: a file (PEM or DER) or inline PEM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum Authority {
    /// A certificate file, PEM or DER.
    Path {
        /// Its path.
        path: PathBuf,
    },
    /// A PEM certificate, inline.
    Data {
        /// The PEM text.
        data: String,
    },
}

/// Proxy settings, as the usual environment variables name them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Proxies {
    /// The proxy for plain HTTP.
    pub http_proxy: Option<String>,
    /// The proxy for HTTPS.
    pub https_proxy: Option<String>,
    /// Hosts reached directly, comma-separated.
    pub no_proxy: Option<String>,
}

/// A certificate as read from the sources: its bytes and whether they are PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateData {
    /// PEM text or DER bytes.
    pub bytes: Vec<u8>,
    /// Whether `bytes` is PEM.
    pub pem: bool,
}

impl Sources {
    /// Reads a sources file (YAML or JSON).
    pub fn load(path: &Path) -> Result<Sources> {
        let text = files::read_text(path)?;
        if text.trim().is_empty() {
            return Ok(Sources::default());
        }
        serde_norway::from_str(&text)
            .map_err(|err| ClientError::SourcesInvalid(format!("{}: {err}", path.display())))
    }

    /// These sources with the proxies of `fallback` for those they leave unset (the environment's, typically).
    pub fn with_proxies_from(mut self, fallback: Proxies) -> Sources {
        let proxies = &mut self.proxies;
        proxies.http_proxy = proxies.http_proxy.take().or(fallback.http_proxy);
        proxies.https_proxy = proxies.https_proxy.take().or(fallback.https_proxy);
        proxies.no_proxy = proxies.no_proxy.take().or(fallback.no_proxy);
        self
    }

    /// Whether `registry` is listed as insecure.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.insecure_sources.contains(registry)
    }

    /// The extra certificate authorities for `registry`, read.
    pub fn authorities(&self, registry: &str) -> Result<Vec<CertificateData>> {
        let Some(authorities) = self.source_authorities.get(registry) else {
            return Ok(Vec::new());
        };
        authorities
            .iter()
            .map(|authority| match authority {
                Authority::Data { data } => Ok(CertificateData {
                    bytes: data.as_bytes().to_vec(),
                    pem: true,
                }),
                Authority::Path { path } => {
                    let bytes = files::read(path)?;
                    let pem = bytes.starts_with(b"-----BEGIN");
                    Ok(CertificateData { bytes, pem })
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kubewardens_format() {
        let text = r#"
insecure_sources: ["localhost:5000", "dev.example.com"]
source_authorities:
  "pre.example.com:5500":
    - type: Path
      path: /opt/ca.der
    - type: Data
      data: |
        -----BEGIN CERTIFICATE-----
        abc
        -----END CERTIFICATE-----
proxies:
  https_proxy: "http://proxy.corp:3129"
  no_proxy: "localhost,.corp"
"#;
        let sources: Sources = serde_norway::from_str(text).unwrap();
        assert!(sources.is_insecure("localhost:5000") && !sources.is_insecure("ghcr.io"));
        assert_eq!(sources.source_authorities["pre.example.com:5500"].len(), 2);
        assert_eq!(
            sources.proxies.https_proxy.as_deref(),
            Some("http://proxy.corp:3129")
        );
        let data = &sources.source_authorities["pre.example.com:5500"][1];
        assert!(matches!(data, Authority::Data { data } if data.starts_with("-----BEGIN")));
    }

    #[test]
    fn a_wrong_type_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sources.yaml");
        std::fs::write(&path, "insecure_sources: 3\n").unwrap();
        let err = Sources::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("sources.yaml") && err.contains("insecure_sources"),
            "{err}"
        );
    }
}
