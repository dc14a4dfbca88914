//! Repository names and tags, checked against the grammar of the OCI distribution specification.
//!
//! A checked name or tag is safe to use as a relative path: its characters exclude `/`-tricks, `..` and anything
//! starting with `.` or `_`, which the storage layout relies on.

use std::fmt;

use artifact::oci::Digest;

use crate::errors::{RegistryError, Result};

/// The longest repository name accepted (many clients cap `host/name` at 255 characters).
pub const MAX_NAME_LEN: usize = 255;

/// A repository name: `/`-separated components of `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Checks `name` against the spec's grammar and length limit.
    pub fn parse(name: &str) -> Result<RepoName> {
        let invalid = |reason: String| RegistryError::NameInvalid {
            name: name.chars().take(MAX_NAME_LEN + 10).collect(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("the name is empty".into()));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid(format!(
                "{} characters, at most {MAX_NAME_LEN} are allowed",
                name.len()
            )));
        }
        for component in name.split('/') {
            check_component(component)
                .map_err(|reason| invalid(format!("component {component:?} {reason}")))?;
        }
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

/// Checks one path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_component(component: &str) -> std::result::Result<(), String> {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() {
        return Err("is empty (two `/` in a row, or a leading or trailing `/`)".into());
    }
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("must start and end with a lowercase letter or digit".into());
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let allowed = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return Err(format!(
                "has {separator:?}: only lowercase letters, digits and the separators `.`, `_`, `__` or `-` are allowed"
            ));
        }
    }
    Ok(())
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Checks `tag` against the spec's grammar.
    pub fn parse(tag: &str) -> Result<Tag> {
        let first_ok = tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        let rest_ok = tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if first_ok && rest_ok && tag.len() <= 128 {
            Ok(Tag(tag.to_string()))
        } else {
            Err(RegistryError::ManifestInvalid(format!(
                "invalid tag {tag:?}: expected 1 to 128 of letters, digits, `_`, `.`, `-`, not starting with `.` or `-`"
            )))
        }
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
    fn accepts_the_grammar() {
        for name in [
            "a",
            "library/ubuntu",
            "a.b/c_d/e__f/g-h/i---j",
            "0/1",
            "policies/psp-capabilities",
        ] {
            assert!(RepoName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_what_the_grammar_excludes() {
        let long = "a".repeat(300);
        for (name, expected) in [
            ("", "empty"),
            ("../etc", "start and end"),
            ("a/../b", "start and end"),
            ("a/./b", "start and end"),
            ("a..b", "\"..\""),
            ("Upper", "start and end"),
            ("aB", "start and end"),
            ("a//b", "is empty"),
            ("a/", "is empty"),
            ("a___b", "\"___\""),
            ("a-_b", "\"-_\""),
            ("_catalog", "start and end"),
            (long.as_str(), "300 characters"),
        ] {
            let message = RepoName::parse(name).unwrap_err().to_string();
            assert!(message.contains(expected), "{name}: {message}");
        }
    }

    #[test]
    fn tags_follow_their_grammar() {
        assert!(Tag::parse("v1.0.0-rc_1").is_ok());
        assert!(Tag::parse("_x").is_ok());
        assert!(Tag::parse(&"a".repeat(128)).is_ok());
        for bad in ["", ".hidden", "-x", "a/b", "a..b/..", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
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
