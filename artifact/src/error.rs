//! The one error type of the `artifact` crate, and the metadata problems it carries. It imports no other module
//! of the crate.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Everything that can go wrong while reading, checking or writing a policy artifact.
///
/// Messages name the thing that is wrong and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The bytes do not start with the Wasm magic number.
    #[error("not a WebAssembly module: it does not start with the `\\0asm` magic number")]
    NotWasm,

    /// A Wasm component or an unknown binary version, not a core module.
    #[error(
        "unsupported WebAssembly binary version {version:#x}: policies are core modules (version 1)"
    )]
    UnsupportedVersion {
        /// The version and layer word that follows the magic number.
        version: u32,
    },

    /// The section stream is malformed (truncated, bad length, bad name).
    #[error("malformed module at byte offset {offset}: {reason}")]
    Malformed {
        /// Where the problem was found.
        offset: usize,
        /// What was found there.
        reason: String,
    },

    /// The module is well-formed but fails WebAssembly validation.
    #[error("invalid module: {0}")]
    Invalid(String),

    /// The metadata section holds something that is not policy metadata.
    #[error("the `io.kubewarden.metadata` section is not valid policy metadata: {0}")]
    BadMetadataSection(String),

    /// The metadata section is present more than once.
    #[error(
        "the module has {count} `io.kubewarden.metadata` sections; a policy has at most one (annotate it again to fix)"
    )]
    DuplicateMetadataSection {
        /// How many were found.
        count: usize,
    },

    /// The module has no metadata section.
    #[error(
        "the module has no policy metadata (no `io.kubewarden.metadata` section): run `palisade annotate` first"
    )]
    NoMetadata,

    /// The metadata document could not be parsed.
    #[error("metadata is not valid: {0}")]
    MetadataSyntax(String),

    /// The metadata parsed but breaks one or more rules.
    #[error("metadata is not valid: {}", Problem::join(.0))]
    MetadataInvalid(Vec<Problem>),

    /// The metadata says one execution mode, the module's exports say another.
    #[error("{0}")]
    ExecutionModeMismatch(String),

    /// A waPC module did not answer its `protocol_version` operation.
    #[error("asking the policy for its protocol version (protocol_version): {0}")]
    ProtocolVersionUnanswered(String),

    /// A digest string that is not `sha256:` or `sha512:` followed by the right number of lowercase hex characters.
    #[error("invalid digest {digest:?}: {reason}")]
    InvalidDigest {
        /// The digest as given.
        digest: String,
        /// What was expected instead.
        reason: String,
    },

    /// A saved hash state that is not one this build wrote.
    #[error("a saved {algorithm} hash state is damaged or from another version")]
    InvalidHashState {
        /// The algorithm it claims.
        algorithm: &'static str,
    },

    /// An OCI artifact that is not a policy (a container image, several modules…).
    #[error("not a policy artifact: {0}")]
    NotAPolicy(String),

    /// Content whose digest is not the one it was announced with.
    #[error("{what}: the content's digest is {actual}, not the one announced; refusing it")]
    DigestMismatch {
        /// What was checked (`blob sha256:…`, `manifest of registry://…`).
        what: String,
        /// The digest the content really has (`sha256:…`).
        actual: String,
    },

    /// A policy argument that names neither an existing file nor a registry reference.
    #[error("{argument}: no such file, and not a registry reference ({reason})")]
    NoSuchPolicy {
        /// The argument as given.
        argument: String,
        /// Why it is not a registry reference.
        reason: String,
    },
    /// A policy reference that does not parse.
    #[error("invalid policy reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What was expected instead.
        reason: String,
    },

    /// What a scaffolded document (a policy resource, an Artifact Hub package) cannot be made from: metadata that
    /// lacks an annotation it needs, a title that is not a Kubernetes name, settings that are not a mapping.
    #[error("invalid input: {0}")]
    ScaffoldInput(String),

    /// An I/O error on a named file.
    #[error("{action} {}: {cause}", path.display())]
    Io {
        /// What was being done (`reading`, `writing`…).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error (not a `source`: the message already says it).
        cause: std::io::Error,
    },

    /// Any of the errors above, found in a named file.
    #[error("{}: {problem}", path.display())]
    InFile {
        /// The file the problem was found in.
        path: PathBuf,
        /// The problem.
        problem: Box<ArtifactError>,
    },
}

impl ArtifactError {
    /// Attributes this error to `path`, unless it already names a file.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            ArtifactError::Io { .. } | ArtifactError::InFile { .. } => self,
            problem => ArtifactError::InFile {
                path: path.into(),
                problem: Box::new(problem),
            },
        }
    }

    /// The problem itself, without the file it was found in.
    pub fn problem(&self) -> &ArtifactError {
        match self {
            ArtifactError::InFile { problem, .. } => problem,
            other => other,
        }
    }

    /// Whether the caller's input is what is wrong, not the content or the operation: a policy reference that
    /// does not parse. A command line reports it as a usage error. A missing or unreadable file, or content that
    /// is not a policy, is the operation's failure.
    pub fn is_usage(&self) -> bool {
        matches!(self.problem(), ArtifactError::InvalidReference { .. })
    }
}

/// One broken rule: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field, as a path: `rules[0].operations`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }

    /// All problems on one line, separated by `; `.
    pub fn join(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(Problem::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Result alias for this crate.
pub type Result<T, E = ArtifactError> = std::result::Result<T, E>;
