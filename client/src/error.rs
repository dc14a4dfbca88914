//! The one error type of the `client` crate.

use std::path::PathBuf;

use artifact::ArtifactError;

/// Everything that can go wrong while moving a policy: registries, the local store, layouts and archives, and the
/// formats they carry.
///
/// Messages name the thing that is wrong and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The content is not what a policy artifact must be (a bad module, digest or reference, a file that cannot be
    /// read…).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),

    /// The local store holds something it did not write.
    #[error("the policy store is damaged at {}: {reason}", path.display())]
    StoreCorrupt {
        /// The file or folder concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The registry could not be reached at all.
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The innermost cause (`connection refused`, `invalid peer certificate`…).
        reason: String,
    },

    /// The registry wants credentials, or refused the ones given.
    #[error(
        "registry {registry} wants credentials or refused the ones given: log in with `palisade login {registry}` (or pass --docker-config)"
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
    },

    /// The registry knows who we are and says no.
    #[error("registry {registry} denied access: {reason}")]
    Denied {
        /// `host[:port]`.
        registry: String,
        /// What it said.
        reason: String,
    },

    /// Nothing at that reference.
    #[error("{what}: not found (check the repository and tag)")]
    NotFound {
        /// The reference looked up.
        what: String,
    },

    /// The registry holds it but keeps it from clients until a trusted signature vouches for it (a Palisade registry's
    /// `enforce` trust prefix).
    #[error("{what}: not published yet: {reason}")]
    AwaitingSignature {
        /// The reference looked up.
        what: String,
        /// What the registry said.
        reason: String,
    },

    /// Any other registry failure.
    #[error("registry {registry}: {reason}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What went wrong.
        reason: String,
    },

    /// A policy archive (palisade's or kwctl's) that cannot be read.
    #[error("{}: {reason}", path.display())]
    Archive {
        /// The archive file.
        path: PathBuf,
        /// What is wrong, naming the entry concerned.
        reason: String,
    },

    /// An OCI image layout (folder or bundle) that cannot be used.
    #[error("invalid OCI image layout {0}")]
    Layout(String),

    /// The sources file is not valid.
    #[error("invalid sources file {0}")]
    SourcesInvalid(String),

    /// The docker config or a credential helper failed.
    #[error("cannot read credentials: {0}")]
    CredentialsInvalid(String),
}

impl ClientError {
    /// Whether the caller's input or environment is what is wrong, not the operation: an invalid sources file,
    /// docker config or credential helper, or a reference that does not parse
    /// ([`ArtifactError::is_usage`]). A command line reports it as a usage error.
    pub fn is_usage(&self) -> bool {
        match self {
            ClientError::Artifact(error) => error.is_usage(),
            ClientError::SourcesInvalid(_) | ClientError::CredentialsInvalid(_) => true,
            _ => false,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
