//! CNCF Distribution (Debian's `docker-registry`) as a third-party registry for tests: on 127.0.0.1,
//! optionally with htpasswd users and TLS from a test certificate authority; stopped when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::ports::{free_port, wait_until_listening};

/// The Distribution binary Debian installs.
const BINARY: &str = "docker-registry";

/// A test certificate authority, a server certificate for `localhost` and `127.0.0.1` and a client certificate
/// it issued, in PEM.
pub struct TestCa {
    /// The authority's certificate, to trust.
    pub ca_pem: String,
    /// The server's certificate.
    pub cert_pem: String,
    /// The server's private key.
    pub key_pem: String,
    /// A client certificate the authority issued (for mutual TLS).
    pub client_cert_pem: String,
    /// The client's private key.
    pub client_key_pem: String,
}

impl TestCa {
    /// Makes a fresh authority, server certificate and client certificate.
    pub fn new() -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair,
        };
        let fail = |err: rcgen::Error| -> ! { panic!("making test certificates: {err}") };
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail(e));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Palisade test CA");
        let ca_key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap_or_else(|e| fail(e));
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap_or_else(|e| fail(e));
        let key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let cert = params.signed_by(&key, &ca).unwrap_or_else(|e| fail(e));
        let mut client_params =
            CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail(e));
        client_params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let client_cert = client_params
            .signed_by(&client_key, &ca)
            .unwrap_or_else(|e| fail(e));
        TestCa {
            ca_pem: ca.as_ref().pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// How to configure the Distribution server.
#[derive(Default)]
pub struct DistributionOptions<'a> {
    /// Users and passwords for htpasswd authentication (none: anonymous access).
    pub users: &'a [(&'a str, &'a str)],
    /// Serve TLS with these certificates.
    pub tls: Option<&'a TestCa>,
}

/// A running Distribution server.
pub struct Distribution {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Distribution {
    /// Starts Distribution with `options`; panics, saying what to install, if the binary is missing.
    pub fn start(options: DistributionOptions<'_>) -> Distribution {
        let dir = crate::tempdir();
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        if let Some(ca) = options.tls {
            let cert = write(&dir, "server.crt", &ca.cert_pem);
            let key = write(&dir, "server.key", &ca.key_pem);
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if !options.users.is_empty() {
            let htpasswd = write(&dir, "htpasswd", &crate::htpasswd(options.users));
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: palisade-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = write(&dir, "config.yml", &config);
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot run `{BINARY}` ({err}): install CNCF Distribution with `apt-get install docker-registry`")
            });
        let distribution = Distribution {
            addr,
            child,
            _dir: dir,
        };
        wait_until_listening(distribution.addr, BINARY);
        distribution
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &tempfile::TempDir, name: &str, content: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content)
        .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    path
}
