//! Policy references: where a policy lives, in a registry, in an OCI image layout folder or in a file. Every
//! command reads its policy argument with the one rule of [`PolicyRef::parse`]:
//! - `file://PATH` is a file (kwctl's form);
//! - `oci-layout://FOLDER[:NAME]` is an OCI image layout folder (as skopeo and oras write them);
//! - `registry://HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]` is a registry policy (Kubewarden's form);
//! - without a scheme, a path that exists is that file, and anything else must be a registry reference in
//!   docker's form, `HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]`, whose first component is clearly a host (it has a
//!   `.` or a `:`, or is `localhost`).
//!
//! A registry reference with neither tag nor digest means the tag `latest`. Where only a registry policy will
//! do (an image a policy asks about, a key of an archive), [`RegistryRef`] parses the registry forms alone.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::ArtifactError;
use crate::oci::Digest;
use crate::oci::names::{check_repository, check_tag};

const REGISTRY_SCHEME: &str = "registry://";
const FILE_SCHEME: &str = "file://";
const LAYOUT_SCHEME: &str = "oci-layout://";
/// The tag a reference without tag or digest means.
pub const DEFAULT_TAG: &str = "latest";

/// Where a policy is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyRef {
    /// In a registry.
    Registry(RegistryRef),
    /// In an OCI image layout folder.
    Layout(LayoutRef),
    /// A module file.
    File(PathBuf),
}

/// A policy in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryRef {
    /// `host` or `host:port` (IPv6 hosts in brackets).
    pub registry: String,
    /// The repository, checked against the OCI grammar.
    pub repository: String,
    /// The tag, if given (or implied: `latest` when no digest is given either).
    pub tag: Option<String>,
    /// The manifest digest, if given.
    pub digest: Option<Digest>,
}

/// A policy in an OCI image layout folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayoutRef {
    /// The layout folder (its path cannot contain `:`).
    pub folder: PathBuf,
    /// The name (`org.opencontainers.image.ref.name`) in the layout's index: a tag, or
    /// `host/repository:tag` in the bundles `palisade save` writes.
    pub name: String,
}

impl RegistryRef {
    /// The same policy, pinned to `digest` (the tag is kept for display).
    pub fn with_digest(&self, digest: Digest) -> RegistryRef {
        RegistryRef {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository at a tag, or at a digest (`sha256:…`).
    pub fn at(&self, tag_or_digest: &str) -> RegistryRef {
        let (tag, digest) = match tag_or_digest.parse::<Digest>() {
            Ok(digest) => (None, Some(digest)),
            Err(_) => (Some(tag_or_digest.to_string()), None),
        };
        RegistryRef {
            tag,
            digest,
            ..self.clone()
        }
    }

    /// The host without the port.
    pub fn host(&self) -> &str {
        let registry = self.registry.as_str();
        if let Some(rest) = registry.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        registry.split(':').next().unwrap_or(registry)
    }

    /// Whether the registry is on this machine (`localhost`, 127.0.0.0/8, `::1`): docker treats those as
    /// insecure registries without being told, and so do we.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl PolicyRef {
    /// Reads a command's policy argument (the rule is in the module's documentation): a file, an OCI image
    /// layout or a registry policy. The error says why `text` is none of them.
    pub fn parse(text: &str) -> Result<PolicyRef, ArtifactError> {
        let invalid = |reason: String| ArtifactError::InvalidReference {
            reference: text.to_string(),
            reason,
        };
        if let Some(path) = text.strip_prefix(FILE_SCHEME) {
            return Ok(PolicyRef::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix(LAYOUT_SCHEME) {
            return parse_layout(rest).map(PolicyRef::Layout).map_err(invalid);
        }
        if !text.contains("://") && Path::new(text).exists() {
            return Ok(PolicyRef::File(PathBuf::from(text)));
        }
        text.parse::<RegistryRef>()
            .map(PolicyRef::Registry)
            .map_err(|err| match err {
                ArtifactError::InvalidReference { reason, .. } if !text.contains("://") => {
                    ArtifactError::NoSuchPolicy {
                        argument: text.to_string(),
                        reason,
                    }
                }
                other => other,
            })
    }
}

impl FromStr for PolicyRef {
    type Err = ArtifactError;

    /// [`PolicyRef::parse`].
    fn from_str(text: &str) -> Result<PolicyRef, ArtifactError> {
        PolicyRef::parse(text)
    }
}

impl FromStr for RegistryRef {
    type Err = ArtifactError;

    /// A registry reference alone: `registry://HOST/REPOSITORY[:TAG][@DIGEST]` or docker's form.
    fn from_str(text: &str) -> Result<RegistryRef, ArtifactError> {
        let invalid = |reason: String| ArtifactError::InvalidReference {
            reference: text.to_string(),
            reason,
        };
        let (rest, explicit) = match text.strip_prefix(REGISTRY_SCHEME) {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        if let Some((scheme, _)) = rest.split_once("://") {
            return Err(invalid(format!(
                "unknown scheme `{scheme}://`: expected `registry://`, `oci-layout://` or `file://`"
            )));
        }
        parse_registry(rest, explicit).map_err(invalid)
    }
}

fn parse_registry(text: &str, explicit: bool) -> Result<RegistryRef, String> {
    let (registry, path) = text.split_once('/').ok_or_else(|| {
        "expected HOST[:PORT]/REPOSITORY[:TAG][@DIGEST], such as ghcr.io/org/policy:v1".to_string()
    })?;
    check_registry(registry)?;
    let looks_like_host =
        registry.contains('.') || registry.contains(':') || registry == "localhost";
    if !explicit && !looks_like_host {
        return Err(format!(
            "`{registry}` does not look like a registry host: write the host in full (`ghcr.io/{text}`, \
             `docker.io/{text}`) or use `registry://`"
        ));
    }
    let (name, digest) = match path.split_once('@') {
        Some((name, digest)) => (
            name,
            Some(digest.parse::<Digest>().map_err(|err| err.to_string())?),
        ),
        None => (path, None),
    };
    let (repository, tag) = match name.rsplit_once(':') {
        Some((repository, tag)) => {
            check_tag(tag)?;
            (repository, Some(tag.to_string()))
        }
        None => (name, None),
    };
    check_repository(repository).map_err(|reason| format!("invalid repository name: {reason}"))?;
    let tag = match (&tag, &digest) {
        (None, None) => Some(DEFAULT_TAG.to_string()),
        _ => tag,
    };
    Ok(RegistryRef {
        registry: registry.to_string(),
        repository: repository.to_string(),
        tag,
        digest,
    })
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(|| {
            format!("invalid registry `{registry}`: an IPv6 address needs its closing `]`")
        })?;
        ip.parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("invalid registry `{registry}`: `{ip}` is not an IPv6 address"))?;
        (None, after.strip_prefix(':'))
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let valid = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(format!("invalid registry host `{host}`"));
        }
    }
    if let Some(port) = port {
        port.parse::<u16>()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| format!("invalid port `{port}` in `{registry}`: expected 1 to 65535"))?;
    }
    Ok(())
}

fn parse_layout(text: &str) -> Result<LayoutRef, String> {
    // As skopeo's `oci:` transport: the folder ends at the first `:`, the name (a tag, or a whole
    // `host/repository:tag` as `palisade save` writes) is the rest.
    let (folder, name) = text.split_once(':').unwrap_or((text, DEFAULT_TAG));
    if folder.is_empty() {
        return Err("expected oci-layout://FOLDER[:NAME]".into());
    }
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "invalid name {name:?} in the layout reference: expected a tag or HOST/REPOSITORY:TAG"
        ));
    }
    Ok(LayoutRef {
        folder: PathBuf::from(folder),
        name: name.to_string(),
    })
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRef::Registry(reference) => reference.fmt(f),
            PolicyRef::Layout(layout) => write!(
                f,
                "{LAYOUT_SCHEME}{}:{}",
                layout.folder.display(),
                layout.name
            ),
            PolicyRef::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl fmt::Display for RegistryRef {
    /// The canonical form: `registry://host/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{REGISTRY_SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Parses `text` as a registry reference, panicking on anything else: a shorthand for unit tests.
#[cfg(test)]
pub(crate) fn registry_ref(text: &str) -> RegistryRef {
    text.parse().unwrap_or_else(|err| panic!("{text}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::registry_ref as registry;
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_every_registry_form() {
        let r = registry("registry://ghcr.io/kubewarden/policies/psp:v1.0.0");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("ghcr.io", "kubewarden/policies/psp")
        );
        assert_eq!(r.tag.as_deref(), Some("v1.0.0"));

        let r = registry(&format!("localhost:5000/psp@{DIGEST}"));
        assert_eq!(
            (r.registry.as_str(), r.tag, r.digest.unwrap().to_string()),
            ("localhost:5000", None, DIGEST.into())
        );

        let r = registry(&format!("registry://[::1]:5000/a/b:t@{DIGEST}"));
        assert_eq!((r.host(), r.tag.as_deref()), ("::1", Some("t")));
        assert!(r.is_loopback());

        assert_eq!(registry("127.0.0.1:5000/p").tag.as_deref(), Some("latest"));
        assert!(registry("127.0.0.2/p").is_loopback());
        assert!(!registry("ghcr.io/p").is_loopback());
    }

    #[test]
    fn displays_canonically() {
        for text in [
            "registry://ghcr.io/org/policy:v1".to_string(),
            format!("registry://localhost:5000/p:t@{DIGEST}"),
            format!("registry://localhost:5000/p@{DIGEST}"),
            "oci-layout://some/folder:v2".to_string(),
        ] {
            assert_eq!(text.parse::<PolicyRef>().unwrap().to_string(), text);
        }
        assert_eq!(
            "ghcr.io/org/policy"
                .parse::<PolicyRef>()
                .unwrap()
                .to_string(),
            "registry://ghcr.io/org/policy:latest"
        );
    }

    #[test]
    fn parses_layouts() {
        let PolicyRef::Layout(layout) =
            "oci-layout:///tmp/bundle:ghcr.io/org/p:v1".parse().unwrap()
        else {
            panic!("not a layout");
        };
        assert_eq!(
            (layout.folder, layout.name),
            (PathBuf::from("/tmp/bundle"), "ghcr.io/org/p:v1".to_string())
        );
        let PolicyRef::Layout(layout) = "oci-layout://dir".parse().unwrap() else {
            panic!("not a layout");
        };
        assert_eq!(layout.name, "latest");
    }

    #[test]
    fn errors_say_what_was_expected() {
        for (text, expected) in [
            ("policy", "expected HOST[:PORT]/REPOSITORY"),
            ("kubewarden/policy:v1", "does not look like a registry host"),
            ("https://ghcr.io/p", "unknown scheme `https://`"),
            ("ghcr.io/Policy", "invalid repository name"),
            ("ghcr.io/p:bad tag", "invalid tag"),
            ("ghcr.io/p@sha256:12", "64 hex characters"),
            ("ghcr.io:99999/p", "invalid port"),
            ("gh_cr.io/p", "invalid registry host"),
            ("registry://[::1/p", "closing `]`"),
            ("oci-layout://:v1", "expected oci-layout://FOLDER"),
            ("oci-layout://dir:a b", "invalid name"),
        ] {
            let err = text.parse::<PolicyRef>().unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(
                err.contains(text),
                "{text}: the reference is named in: {err}"
            );
        }
    }

    #[test]
    fn files_come_first_then_references() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.wasm");
        std::fs::write(&file, b"").unwrap();
        let text = file.display().to_string();
        assert_eq!(
            PolicyRef::parse(&text).unwrap(),
            PolicyRef::File(file.clone())
        );
        assert_eq!(
            PolicyRef::parse(&format!("file://{text}")).unwrap(),
            PolicyRef::File(file)
        );
        // `file://` names a file even before it exists (the command says it cannot read it).
        assert_eq!(
            PolicyRef::parse("file://missing.wasm").unwrap(),
            PolicyRef::File(PathBuf::from("missing.wasm"))
        );
        assert!(matches!(
            PolicyRef::parse("ghcr.io/kubewarden/policies/pod-privileged:v1").unwrap(),
            PolicyRef::Registry(_)
        ));
        let err = PolicyRef::parse("no-such-file.wasm")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no-such-file.wasm: no such file, and not a registry reference"),
            "{err}"
        );
        // A registry reference alone refuses the other forms.
        assert!("oci-layout:///tmp/l:v1".parse::<RegistryRef>().is_err());
        assert!("file://p.wasm".parse::<RegistryRef>().is_err());
        assert_eq!(
            registry("ghcr.io/org/p:v1"),
            "registry://ghcr.io/org/p:v1"
                .parse::<RegistryRef>()
                .unwrap()
        );
    }
}
