//! The Sigstore client conformance suite's bundle-verify cases in `testdata/sigstore-conformance` (see its
//! README), read as the suite's runner reads them: each case's bundle, artifact, trusted root and key or
//! identity.

use std::path::{Path, PathBuf};

/// The suite's signer identity, for cases that name none.
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
/// The suite's OIDC issuer, for cases that name none.
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Who a case says must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseSigner {
    /// A managed key (`key.pub`, PEM).
    Key(String),
    /// A keyless signer: the certificate's identity (SAN) and OIDC issuer.
    Identity {
        /// The certificate's subject alternative name.
        identity: String,
        /// The OIDC issuer.
        issuer: String,
    },
}

impl CaseSigner {
    /// The Kubewarden verification config that requires this signer, as JSON (which the YAML reader takes): a
    /// `pubKey` requirement, or a `genericIssuer` one with the identity as the subject.
    pub fn verification_config(&self) -> String {
        let requirement = match self {
            CaseSigner::Key(key) => serde_json::json!({"kind": "pubKey", "key": key}),
            CaseSigner::Identity { identity, issuer } => serde_json::json!({
                "kind": "genericIssuer",
                "issuer": issuer,
                "subject": {"equal": identity},
            }),
        };
        serde_json::json!({"apiVersion": "v1", "allOf": [requirement]}).to_string()
    }
}

/// One bundle-verify case of the suite.
#[derive(Debug, Clone)]
pub struct ConformanceCase {
    /// The case's directory name; ending in `_fail` when the bundle must be refused.
    pub name: String,
    /// `bundle.sigstore.json`.
    pub bundle: Vec<u8>,
    /// The signed file (`artifact`, else the suite's shared `a.txt`).
    pub artifact: Vec<u8>,
    /// `trusted_root.json`; `None` means the Sigstore public-good production root.
    pub trusted_root: Option<Vec<u8>>,
    /// The key or identity to verify with.
    pub signer: CaseSigner,
}

impl ConformanceCase {
    /// Whether the suite's verdict for this case is a refusal.
    pub fn must_fail(&self) -> bool {
        self.name.ends_with("_fail")
    }
}

/// The suite's folder, `testdata/sigstore-conformance`.
pub fn conformance_suite() -> PathBuf {
    crate::testdata_file("sigstore-conformance")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

fn read_text(dir: &Path, name: &str, default: &str) -> String {
    std::fs::read_to_string(dir.join(name)).map_or(default.to_string(), |s| s.trim().to_string())
}

/// Reads the case in `dir`.
pub fn conformance_case(dir: &Path) -> ConformanceCase {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("{}: case names are UTF-8", dir.display()))
        .to_string();
    let artifact = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        conformance_suite().join("a.txt")
    };
    let trusted_root = dir.join("trusted_root.json");
    let key = dir.join("key.pub");
    ConformanceCase {
        name,
        bundle: read(&dir.join("bundle.sigstore.json")),
        artifact: read(&artifact),
        trusted_root: trusted_root.exists().then(|| read(&trusted_root)),
        signer: if key.exists() {
            CaseSigner::Key(String::from_utf8_lossy(&read(&key)).into_owned())
        } else {
            CaseSigner::Identity {
                identity: read_text(dir, "identity", DEFAULT_IDENTITY),
                issuer: read_text(dir, "issuer", DEFAULT_ISSUER),
            }
        },
    }
}

/// Every case of the suite, sorted by name.
pub fn conformance_cases() -> Vec<ConformanceCase> {
    let suite = conformance_suite();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap_or_else(|err| panic!("reading {}: {err}", suite.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.join("bundle.sigstore.json").exists())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| conformance_case(dir)).collect()
}
