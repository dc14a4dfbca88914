//! Repository names and tags, checked against the grammar of the OCI distribution specification.
//!
//! A checked name or tag is safe to use as a relative path: its characters exclude `/`-tricks, `..` and anything
//! starting with `.` or `_`, which the storage layout relies on.

use std::fmt;

use artifact::oci::Digest;
use artifact::oci::names::{MAX_REPOSITORY_LEN, check_repository, check_tag};

use crate::errors::{RegistryError, Result};

/// A repository name: `/`-separated components of `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Checks `name` against the spec's grammar and length limit.
    pub fn parse(name: &str) -> Result<RepoName> {
        check_repository(name).map_err(|reason| RegistryError::NameInvalid {
            name: name.chars().take(MAX_REPOSITORY_LEN + 10).collect(),
            reason,
        })?;
        Ok(RepoName(name.to_string()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Checks `tag` against the spec's grammar.
    pub fn parse(tag: &str) -> Result<Tag> {
        check_tag(tag).map_err(RegistryError::ManifestInvalid)?;
        Ok(Tag(tag.to_string()))
    }

    /// The tag as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag, resolved through the repository's tag files.
    Tag(Tag),
    /// A digest, addressing the content directly.
    Digest(Digest),
}

impl Reference {
    /// A digest if the string contains `:`, else a tag.
    pub fn parse(reference: &str) -> Result<Reference> {
        if reference.contains(':') {
            parse_digest(reference).map(Reference::Digest)
        } else {
            Tag::parse(reference).map(Reference::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(tag) => tag.fmt(f),
            Reference::Digest(digest) => digest.fmt(f),
        }
    }
}

/// Parses a digest from a URL or query, answering `DIGEST_INVALID` with what was expected.
pub fn parse_digest(digest: &str) -> Result<Digest> {
    digest
        .parse::<Digest>()
        .map_err(|e| RegistryError::DigestInvalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_failures_become_the_spec_error_codes() {
        assert!(RepoName::parse("policies/psp-capabilities").is_ok());
        let long = "a".repeat(300);
        let err = RepoName::parse(&long).unwrap_err();
        assert!(
            matches!(&err, RegistryError::NameInvalid { name, .. } if name.len() < 300),
            "{err}"
        );
        assert!(matches!(
            RepoName::parse("../etc"),
            Err(RegistryError::NameInvalid { .. })
        ));
        assert!(Tag::parse("v1.0.0-rc_1").is_ok());
        assert!(matches!(
            Tag::parse(".hidden"),
            Err(RegistryError::ManifestInvalid(_))
        ));
    }

    #[test]
    fn references_are_tags_or_digests() {
        assert!(matches!(Reference::parse("latest"), Ok(Reference::Tag(_))));
        let digest = format!("sha256:{}", "0".repeat(64));
        assert!(matches!(
            Reference::parse(&digest),
            Ok(Reference::Digest(_))
        ));
        assert!(matches!(
            Reference::parse("sha256:00"),
            Err(RegistryError::DigestInvalid(_))
        ));
    }
}
