//! The dependencies a policy's source project pins, read from its lockfile(s).
//!
//! One module per ecosystem; each turns one file into [`Dependency`] values with package URLs,
//! hashes and, where the file records them, licenses and dependency kinds. [`cargo_graph`] adds what
//! only the toolchain knows: what a wasm32 build compiles in.

pub mod cargo;
pub mod cargo_graph;
pub mod dotnet;
pub mod go;
pub mod npm;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use artifact::oci::{Algorithm, Digest};
use base64::Engine;
use serde::Serialize;

use crate::conformance::Element;
use crate::error::{Result, SbomError};

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

/// A sentence the document carries about what the inputs could not establish; when it declares
/// attributes of some components unknown (FSCT's "known unknowns"), which ones of which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Note {
    /// The sentence, as the document writes it.
    pub text: String,
    /// The components it is about and their attributes it declares unknown.
    #[serde(skip)]
    pub unknown: Option<(Subject, &'static [Element])>,
}

/// The components a [`Note`] declares something unknown of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The policy itself.
    Policy,
    /// The dependencies of one ecosystem.
    Dependencies(Ecosystem),
    /// The toolchain entries (the module's `producers` section).
    Toolchain,
    /// Every component, the policy included.
    Everything,
}

impl Note {
    /// A note that declares nothing unknown.
    pub fn new(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            unknown: None,
        }
    }

    /// A note declaring `elements` of the components `about` unknown.
    pub fn unknown(text: impl Into<String>, about: Subject, elements: &'static [Element]) -> Note {
        Note {
            text: text.into(),
            unknown: Some((about, elements)),
        }
    }

    /// Whether it declares `element` unknown for the components `subject` names.
    pub fn declares_unknown(&self, subject: Subject, element: Element) -> bool {
        self.unknown.is_some_and(|(about, elements)| {
            (about == Subject::Everything || about == subject) && elements.contains(&element)
        })
    }
}

/// What one lockfile says: the packages it pins and, where it records them, who depends on whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Every pinned package.
    pub dependencies: Vec<Dependency>,
    /// Graph edges, when the lockfile records them.
    pub graph: Graph,
    /// What the lockfile alone could not establish, for the document.
    pub notes: Vec<Note>,
}

/// How one package depends on another, when it is not an ordinary (normal) dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// A build dependency (build script, procedural macro).
    Build,
    /// A development (test) dependency.
    Dev,
    /// A dependency on other compilation targets only.
    OtherTarget,
    /// Required through another package that could not be named (go.mod `// indirect`).
    Indirect,
}

/// The dependency graph: what the project itself depends on, and which package depends on which.
/// Its dependencies identify packages; what is known of them is in the dependency list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The packages the project's own code depends on.
    pub direct: BTreeSet<Dependency>,
    /// `(a, b)`: package `a` depends on package `b`.
    pub edges: BTreeSet<(Dependency, Dependency)>,
    /// The edges that are not normal dependencies: `(None, b)` for the project's own, `(Some(a),
    /// b)` for an edge of [`Graph::edges`]. An edge not listed is a normal one.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "serialize_entries"
    )]
    pub kinds: BTreeMap<(Option<Dependency>, Dependency), EdgeKind>,
}

/// A map with composite keys as a list of `[key, value]` pairs (JSON keys must be strings).
fn serialize_entries<S: serde::Serializer, K: Serialize, V: Serialize>(
    map: &BTreeMap<K, V>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(map.iter())
}

impl Graph {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.edges.is_empty()
    }

    /// What `dependency` depends on, sorted.
    pub fn dependencies_of<'a>(
        &'a self,
        dependency: &'a Dependency,
    ) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.edges
            .iter()
            .filter(move |(from, _)| from == dependency)
            .map(|(_, to)| to)
    }

    /// The kind of the edge from `from` (`None`: the project) to `to`; `None` for a normal one.
    pub fn kind(&self, from: Option<&Dependency>, to: &Dependency) -> Option<EdgeKind> {
        self.kinds.get(&(from.cloned(), to.clone())).copied()
    }

    /// Adds what `other` records.
    pub fn extend(&mut self, other: Graph) {
        self.direct.extend(other.direct);
        self.edges.extend(other.edges);
        self.kinds.extend(other.kinds);
    }
}

/// A lockfile read: its name in the source folder and the sha256 of its bytes (paths are left
/// out, so the same inputs in another folder describe the same way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lockfile {
    /// Its file name.
    pub name: String,
    /// The sha256 of its content.
    pub sha256: Digest,
}

/// The lockfiles found in a source folder and the dependencies they pin (sorted, without
/// duplicates), with their graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The lockfiles read.
    pub lockfiles: Vec<Lockfile>,
    /// Their dependencies.
    pub dependencies: Vec<Dependency>,
    /// Who depends on whom.
    pub graph: Graph,
    /// What could not be established, for the document.
    pub notes: Vec<Note>,
}

/// The toolchain programs a scan may run to learn more than the lockfiles say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Toolchain<'a> {
    /// `cargo`, to run `cargo metadata` when the folder has a `Cargo.toml`.
    pub cargo: Option<&'a Path>,
}

/// The lockfile names [`scan`] looks for, in a sentence.
pub const LOCKFILE_NAMES: &str =
    "Cargo.lock, go.mod (or go.sum), package-lock.json, packages.lock.json";

/// The Rust target the policies are built for: what `cargo metadata` filters the graph by.
pub const RUST_TARGET: &str = "wasm32-wasip1";

/// Reads every known lockfile in `dir` (not its subfolders): `Cargo.lock`, `go.mod` (with
/// `go.sum`'s hashes; `go.sum` alone without a `go.mod`), `package-lock.json`,
/// `packages.lock.json`; then asks the `toolchain` programs given what the lockfiles cannot say.
pub fn scan(dir: &Path, toolchain: Toolchain<'_>) -> Result<Scanned> {
    let metadata = std::fs::metadata(dir).map_err(|cause| SbomError::SourceFolder {
        path: dir.to_path_buf(),
        cause,
    })?;
    if !metadata.is_dir() {
        return Err(SbomError::SourceFolder {
            path: dir.to_path_buf(),
            cause: std::io::Error::other("not a folder"),
        });
    }
    let mut scanned = Scanned::default();
    let mut read = |name: &str| -> Result<Option<(PathBuf, String)>> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let text = artifact::files::read_text(&path)?;
        scanned.lockfiles.push(Lockfile {
            name: name.to_string(),
            sha256: Digest::compute(Algorithm::Sha256, text.as_bytes()),
        });
        Ok(Some((path, text)))
    };
    let mut parts = Vec::new();
    if let Some((path, text)) = read("Cargo.lock")? {
        let mut parsed = cargo::parse(&path, &text)?;
        let manifest = dir.join("Cargo.toml");
        match toolchain.cargo {
            Some(program) if manifest.is_file() => {
                cargo_graph::refine(&mut parsed, program, &manifest)?
            }
            _ => parsed.notes.push(cargo_graph::not_established()),
        }
        parts.push(parsed);
    }
    let go_sum = read("go.sum")?;
    if let Some((path, text)) = read("go.mod")? {
        let sums = match &go_sum {
            Some((sum_path, sum_text)) => go::parse_go_sum(sum_path, sum_text)?,
            None => Vec::new(),
        };
        parts.push(go::parse_go_mod(&path, &text, &sums)?);
    } else if let Some((path, text)) = go_sum {
        parts.push(go::only_go_sum(go::parse_go_sum(&path, &text)?));
    }
    if let Some((path, text)) = read("package-lock.json")? {
        parts.push(npm::parse(&path, &text)?);
    }
    if let Some((path, text)) = read("packages.lock.json")? {
        parts.push(dotnet::parse(&path, &text)?);
    }
    for part in parts {
        scanned.dependencies.extend(part.dependencies);
        scanned.graph.extend(part.graph);
        scanned.notes.extend(part.notes);
    }
    scanned.dependencies.sort();
    scanned.dependencies.dedup();
    Ok(scanned)
}

/// A lockfile error at `line` of `path`.
pub(crate) fn error_at(path: &Path, line: usize, reason: impl Into<String>) -> SbomError {
    SbomError::Lockfile {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Parses a JSON lockfile into its typed model, with the line of an error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| error_at(path, err.line(), err.to_string()))
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

    #[test]
    fn a_missing_source_folder_is_named() {
        let err = scan(
            Path::new("/nonexistent/palisade-source"),
            Toolchain::default(),
        )
        .err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("/nonexistent/palisade-source"),
            "{message}"
        );
    }
}
