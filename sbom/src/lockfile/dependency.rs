//! A pinned package: its ecosystem, version, source and hashes, and its package URL.

use std::cmp::Ordering;
use std::fmt;

use base64::Engine;
use serde::Serialize;

/// A package ecosystem, as the `type` of a package URL names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Rust crates (`Cargo.lock`).
    Cargo,
    /// Go modules (`go.mod`, `go.sum`).
    Golang,
    /// npm packages (`package-lock.json`).
    Npm,
    /// NuGet packages (`packages.lock.json`).
    Nuget,
}

impl Ecosystem {
    /// The package-URL type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Golang => "golang",
            Ecosystem::Npm => "npm",
            Ecosystem::Nuget => "nuget",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.purl_type())
    }
}

/// Where a package was fetched from, when not its ecosystem's default registry: the package URL's
/// `repository_url` or `vcs_url` qualifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Another registry, by its URL.
    Registry(String),
    /// A version-control repository (`git+https://host/repo`) at a revision.
    Vcs {
        /// The repository, with its tool prefix (`git+https://…`).
        url: String,
        /// The commit (or tag, branch) it was pinned to.
        revision: String,
    },
}

/// A hash algorithm a lockfile records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HashAlgorithm {
    /// SHA-1 (old npm integrity values).
    Sha1,
    /// SHA-256 (Cargo.lock `checksum`).
    Sha256,
    /// SHA-512 (npm integrity, NuGet `contentHash`).
    Sha512,
    /// Go's `h1:` hash (go.sum): a SHA-256 over the module's file list, not over an archive, so
    /// it is written as what it is rather than as a SHA-256 checksum.
    GoH1,
}

/// One hash of a package's archive (or, for [`HashAlgorithm::GoH1`], of its file tree).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PackageHash {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// Lowercase hex, or the `h1:…` text for Go.
    pub value: String,
}

impl PackageHash {
    /// A hash given as hex digits (checked, lowercased).
    pub fn from_hex(algorithm: HashAlgorithm, hex: &str) -> Option<PackageHash> {
        let length = match algorithm {
            HashAlgorithm::Sha1 => 40,
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha512 => 128,
            HashAlgorithm::GoH1 => return None,
        };
        (hex.len() == length && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| PackageHash {
            algorithm,
            value: hex.to_ascii_lowercase(),
        })
    }

    /// A hash given in base64 (npm integrity, NuGet content hashes), written as hex.
    pub fn from_base64(algorithm: HashAlgorithm, text: &str) -> Option<PackageHash> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?;
        PackageHash::from_hex(algorithm, &hex::encode(bytes))
    }
}

/// What a dependency is for, as far as it could be established.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Not established (a lockfile alone does not say).
    #[default]
    Unknown,
    /// Compiled into (or shipped with) the policy.
    Runtime,
    /// Used to build it only: build scripts, procedural macros and what they use.
    Build,
    /// Used by its tests or development tools only.
    Dev,
    /// Pinned for other compilation targets only: not part of the policy's build.
    OtherTarget,
}

impl Scope {
    /// Whether the package is left out of the policy as built.
    pub fn is_excluded(self) -> bool {
        matches!(self, Scope::Build | Scope::Dev | Scope::OtherTarget)
    }

    /// Its name in documents (`runtime`, `build`, `dev`, `other-target`, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Unknown => "unknown",
            Scope::Runtime => "runtime",
            Scope::Build => "build",
            Scope::Dev => "dev",
            Scope::OtherTarget => "other-target",
        }
    }

    /// What it means, in a sentence for a document's comment (`None` when nothing is known).
    pub fn describe(self) -> Option<&'static str> {
        match self {
            Scope::Unknown => None,
            Scope::Runtime => {
                Some("runtime: needed by the policy as built, not only to build or test it")
            }
            Scope::Build => Some(
                "build only (a build dependency, a procedural macro or what they use): not part of the policy as built",
            ),
            Scope::Dev => Some("development only (tests, tools): not part of the policy as built"),
            Scope::OtherTarget => Some(
                "pinned for other compilation targets only: not part of the policy as built for wasm32",
            ),
        }
    }
}

/// One pinned dependency. Two dependencies are the same package when their ecosystem, name,
/// version and source agree; the other fields describe it.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// Where it comes from.
    pub ecosystem: Ecosystem,
    /// Its name as the ecosystem spells it (`serde`, `github.com/x/y`, `@scope/name`).
    pub name: String,
    /// Its pinned version.
    pub version: String,
    /// Where it was fetched from, when not the ecosystem's default registry.
    pub source: Option<Source>,
    /// Every hash the input records for it.
    pub hashes: Vec<PackageHash>,
    /// Its license, as the input declares it.
    pub license: Option<String>,
    /// Who supplies it (its authors), when the input records them.
    pub supplier: Option<String>,
    /// What it is for.
    pub scope: Scope,
}

impl Dependency {
    /// A dependency of `ecosystem` from its default registry, with nothing else known yet.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Self {
        Dependency {
            ecosystem,
            name: name.into(),
            version: version.into(),
            source: None,
            hashes: Vec::new(),
            license: None,
            supplier: None,
            scope: Scope::Unknown,
        }
    }

    /// The same dependency fetched from `source`.
    pub fn with_source(mut self, source: Option<Source>) -> Self {
        self.source = source;
        self
    }

    /// The same dependency with `hash` recorded (when there is one).
    pub fn with_hash(mut self, hash: Option<PackageHash>) -> Self {
        self.hashes.extend(hash);
        self
    }

    /// What identifies the package.
    fn key(&self) -> (Ecosystem, &str, &str, Option<&Source>) {
        (
            self.ecosystem,
            &self.name,
            &self.version,
            self.source.as_ref(),
        )
    }

    /// Its package URL (`pkg:cargo/serde@1.0.0`, `pkg:npm/%40scope/name@1.0.0`,
    /// `pkg:cargo/x@1.0.0?vcs_url=git%2Bhttps://host/x%40REV`…).
    pub fn purl(&self) -> String {
        let path: Vec<String> = self.name.split('/').map(percent_encode).collect();
        let mut purl = format!(
            "pkg:{}/{}@{}",
            self.ecosystem.purl_type(),
            path.join("/"),
            percent_encode(&self.version)
        );
        match &self.source {
            Some(Source::Registry(url)) => {
                purl.push_str(&format!("?repository_url={}", encode_qualifier(url)));
            }
            Some(Source::Vcs { url, revision }) => {
                purl.push_str(&format!(
                    "?vcs_url={}",
                    encode_qualifier(&format!("{url}@{revision}"))
                ));
            }
            None => {}
        }
        purl
    }
}

impl PartialEq for Dependency {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Dependency {}

impl PartialOrd for Dependency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dependency {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for Dependency {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// `license` as an SPDX expression when it reads as one (Cargo's old `MIT/Apache-2.0` becomes
/// `MIT OR Apache-2.0`), else as written.
pub(crate) fn spdx_license(license: &str) -> String {
    match spdx::Expression::canonicalize(license) {
        Ok(Some(canonical)) => canonical,
        _ => license.trim().to_string(),
    }
}

/// Percent-encodes everything but the characters a package-URL segment may hold as they are.
pub(crate) fn percent_encode(text: &str) -> String {
    encode(text, |byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~' | b'+')
    })
}

/// Percent-encodes a package-URL qualifier value, keeping `:` and `/` as they are (so a URL stays
/// readable) and encoding `+`, `@`, `?`, `#`, `&`…
pub(crate) fn encode_qualifier(text: &str) -> String {
    encode(text, |byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~' | b':' | b'/')
    })
}

fn encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if keep(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_encode_what_they_must() {
        assert_eq!(
            Dependency::new(Ecosystem::Cargo, "serde", "1.0.0").purl(),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            Dependency::new(Ecosystem::Npm, "@as-pect/core", "8.1.0").purl(),
            "pkg:npm/%40as-pect/core@8.1.0"
        );
        assert_eq!(
            Dependency::new(
                Ecosystem::Golang,
                "github.com/kubewarden/policy-sdk-go",
                "v0.11.0"
            )
            .purl(),
            "pkg:golang/github.com/kubewarden/policy-sdk-go@v0.11.0"
        );
    }

    #[test]
    fn non_default_sources_are_qualifiers() {
        let git = Dependency::new(Ecosystem::Cargo, "wapc-guest", "1.1.0").with_source(Some(
            Source::Vcs {
                url: "git+https://github.com/wapc/wapc-guest-rust".to_string(),
                revision: "0123abc".to_string(),
            },
        ));
        assert_eq!(
            git.purl(),
            "pkg:cargo/wapc-guest@1.1.0?vcs_url=git%2Bhttps://github.com/wapc/wapc-guest-rust%400123abc"
        );
        let other = Dependency::new(Ecosystem::Cargo, "x", "1.0.0").with_source(Some(
            Source::Registry("https://crates.example.com/index/".to_string()),
        ));
        assert_eq!(
            other.purl(),
            "pkg:cargo/x@1.0.0?repository_url=https://crates.example.com/index/"
        );
        assert_ne!(other, Dependency::new(Ecosystem::Cargo, "x", "1.0.0"));
    }

    #[test]
    fn hashes_are_checked_and_written_as_hex() {
        assert_eq!(
            PackageHash::from_base64(HashAlgorithm::Sha1, "qUoyQ0BkYwT1JNW/JUajpWq5pOU=")
                .map(|h| h.value),
            Some("a94a324340646304f524d5bf2546a3a56ab9a4e5".to_string())
        );
        assert_eq!(
            PackageHash::from_base64(HashAlgorithm::Sha512, "qUoyQ0BkYwT1JNW/JUajpWq5pOU="),
            None,
            "20 bytes are not a SHA-512"
        );
        assert_eq!(PackageHash::from_hex(HashAlgorithm::Sha256, "xyz"), None);
    }
}
