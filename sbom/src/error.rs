//! The one error type of the crate.

use std::path::PathBuf;

use artifact::ArtifactError;

/// Everything that can go wrong while building or writing an SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// The module could not be read or scanned (including a malformed `producers` section).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A registry operation failed.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// No SBOM is attached to a policy.
    #[error("no SBOM is attached to {0}: attach one with `palisade sbom attach`")]
    NoSbom(String),
    /// No attestation of an SBOM verifies with the keys given.
    #[error(
        "no SBOM of {reference} is vouched for by a verified attestation: {reason}; attest one with `palisade attest --type spdx|cyclonedx`"
    )]
    NotVerified {
        /// The policy.
        reference: String,
        /// Why each attestation found did not do.
        reason: String,
    },
    /// Reading or checking attestations failed.
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// A file given as an SBOM is not one.
    #[error("not an SBOM: {0}")]
    NotAnSbom(String),
    /// A lockfile does not parse.
    #[error("{}:{line}: {reason}", path.display())]
    Lockfile {
        /// The lockfile.
        path: PathBuf,
        /// The 1-based line of the problem (0 when the file as a whole is wrong).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// A dependency list the module embeds (`cargo auditable`'s section, Go's build information)
    /// is present but does not read.
    #[error("the module's {place} does not read: {reason}")]
    EmbeddedDependencies {
        /// Where it is: the section or data it was looked for in.
        place: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A folder given with `--source` could not be listed.
    #[error("reading the source folder {}: {cause}", path.display())]
    SourceFolder {
        /// The folder.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// A toolchain program (`cargo metadata`, `go mod graph`) could not describe the source.
    #[error(
        "`{command}` failed for {}: {cause}; without the toolchain (or its network access), read the lockfiles alone with --lockfile-only",
        path.display()
    )]
    Toolchain {
        /// The command.
        command: String,
        /// The manifest or folder it ran on.
        path: PathBuf,
        /// What went wrong.
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The source folder pins no dependency at all (no lockfile, or an empty one).
    #[error(
        "{what}: an SBOM without dependencies would look complete; if the policy truly has none, pass --allow-no-dependencies"
    )]
    NoDependencies {
        /// What was looked for and found empty or missing.
        what: String,
    },
    /// A format name that is not one of the supported ones.
    #[error("unknown SBOM format `{0}`: expected `spdx-json` or `cyclonedx-json`")]
    UnknownFormat(String),
    /// `SOURCE_DATE_EPOCH` is not a number of seconds that can be a date.
    #[error("SOURCE_DATE_EPOCH={0:?} is not a Unix time in seconds (for example 1700000000)")]
    SourceDateEpoch(String),
    /// The document could not be serialized.
    #[error("writing the SBOM document: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl SbomError {
    /// Whether the caller's input is what is wrong, not the operation: an unknown format name, a
    /// `SOURCE_DATE_EPOCH` that is not a time, or such an error of the crates below. A command line reports it
    /// as a usage error.
    pub fn is_usage(&self) -> bool {
        match self {
            SbomError::Artifact(error) => error.is_usage(),
            SbomError::Client(error) => error.is_usage(),
            SbomError::Signing(error) => error.is_usage(),
            SbomError::UnknownFormat(_) | SbomError::SourceDateEpoch(_) => true,
            _ => false,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = SbomError> = std::result::Result<T, E>;
