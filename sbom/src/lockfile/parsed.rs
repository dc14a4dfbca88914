//! What one lockfile says, and how its parsers report where it is wrong.

use std::path::Path;

use super::dependency::Dependency;
use super::graph::Graph;
use super::note::Note;
use crate::error::{Result, SbomError};

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
