//! Artifact Hub's package file for a policy (`palisade scaffold artifacthub`), made from its
//! metadata as `kwctl scaffold artifacthub` makes it: the same fields in the same order, the same
//! `kubewarden/*` annotations, the same annotations required.
//!
//! See <https://artifacthub.io/docs/topics/repositories/kubewarden-policies>.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::error::ArtifactError;
use crate::metadata::{Metadata, WellKnown};
use crate::reference::RegistryRef;

/// Artifact Hub's display name (required).
pub const DISPLAY_NAME: &str = "io.artifacthub.displayName";
/// Comma-separated keywords.
pub const KEYWORDS: &str = "io.artifacthub.keywords";
/// The resources the policy is about, for Artifact Hub's `kubewarden/resources`.
pub const RESOURCES: &str = "io.artifacthub.resources";
/// Whether Rancher's UI hides the policy.
pub const HIDDEN_UI: &str = "io.kubewarden.hidden-ui";
/// The GitHub release tag the module is attached to (default `v` and the version).
pub const GITHUB_RELEASE_TAG: &str = "com.github.release.tag";

/// An `artifacthub-pkg.yml` document, in kwctl's field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactHubPackage {
    version: semver::Version,
    name: String,
    display_name: String,
    created_at: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<String>,
    #[serde(rename = "homeURL", skip_serializing_if = "Option::is_none")]
    home_url: Option<String>,
    containers_images: Vec<NamedImage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keywords: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Vec<Link>>,
    install: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    maintainers: Option<Vec<Maintainer>>,
    provider: Provider,
    recommendations: Vec<Recommendation>,
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct NamedImage {
    name: &'static str,
    image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Link {
    name: &'static str,
    url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Maintainer {
    name: String,
    email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Provider {
    name: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Recommendation {
    url: &'static str,
}

fn invalid(message: String) -> ArtifactError {
    ArtifactError::ScaffoldInput(message)
}

fn required<'a>(
    annotations: &'a BTreeMap<String, String>,
    key: &str,
) -> Result<&'a str, ArtifactError> {
    annotations
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| invalid(format!("the metadata needs the annotation `{key}`")))
}

/// Builds the package of the policy `metadata` describes, created at `created_at`, with the
/// questions of Rancher's UI (`questions-ui.yml`) when given.
pub fn artifacthub_package(
    metadata: &Metadata,
    created_at: DateTime<Utc>,
    questions: Option<&str>,
) -> Result<ArtifactHubPackage, ArtifactError> {
    let annotations = &metadata.annotations;
    if annotations.is_empty() {
        return Err(invalid(
            "the metadata has no annotations: Artifact Hub needs the policy's title, version, description and OCI URL".into(),
        ));
    }
    let version_text = required(annotations, WellKnown::Version.key())?;
    let version = semver::Version::parse(version_text).map_err(|err| {
        invalid(format!(
            "`{}` is not a semantic version ({version_text}): {err}",
            WellKnown::Version.key()
        ))
    })?;
    if questions.is_some_and(str::is_empty) {
        return Err(invalid("the questions file is empty".into()));
    }
    let image = oci_image(required(annotations, WellKnown::OciUrl.key())?, &version)?;
    Ok(ArtifactHubPackage {
        name: required(annotations, WellKnown::Title.key())?.to_owned(),
        display_name: required(annotations, DISPLAY_NAME)?.to_owned(),
        created_at: created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        description: required(annotations, WellKnown::Description.key())?.to_owned(),
        license: annotations.get(WellKnown::License.key()).cloned(),
        home_url: annotations
            .get(WellKnown::Url.key())
            .map(|url| checked_url(WellKnown::Url.key(), url))
            .transpose()?,
        install: install_instructions(&image),
        containers_images: vec![NamedImage {
            name: "policy",
            image,
        }],
        keywords: annotations
            .get(KEYWORDS)
            .map(|text| keywords(text))
            .transpose()?,
        links: annotations
            .get(WellKnown::Source.key())
            .map(|source| links(source, annotations.get(GITHUB_RELEASE_TAG), &version))
            .transpose()?,
        maintainers: annotations
            .get(WellKnown::Author.key())
            .map(|text| maintainers(text))
            .transpose()?,
        provider: Provider { name: "kubewarden" },
        recommendations: vec![Recommendation {
            url: "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller",
        }],
        annotations: package_annotations(metadata, questions)?,
        version,
    })
}

/// The package as an `artifacthub-pkg.yml` file: a comment saying what it is, then the YAML.
pub fn artifacthub_document(package: &ArtifactHubPackage) -> Result<String, ArtifactError> {
    Ok(format!(
        "# Artifact Hub package of a Kubewarden policy, made from its metadata.\n\
         #\n\
         # Publish it next to the policy for https://artifacthub.io; make it again with:\n\
         #   palisade scaffold artifacthub > artifacthub-pkg.yml\n{}",
        to_yaml(package)?
    ))
}

/// `HOST/REPOSITORY:vVERSION` for the policy's OCI URL.
fn oci_image(oci_url: &str, version: &semver::Version) -> Result<String, ArtifactError> {
    let text = format!("{oci_url}:v{version}");
    match format!("registry://{text}").parse::<RegistryRef>() {
        Ok(reference) => Ok(format!(
            "{}/{}:v{version}",
            reference.registry, reference.repository
        )),
        Err(_) => Err(invalid(format!(
            "`{}` is not an OCI repository (HOST/REPOSITORY): {oci_url}",
            WellKnown::OciUrl.key()
        ))),
    }
}

fn install_instructions(image: &str) -> String {
    format!(
        "The policy can be pulled with `palisade` (or `kwctl`):\n\
         ```console\npalisade pull registry://{image}\n```\n\
         Then scaffold its manifest and tune it to your liking. For example:\n\
         ```console\npalisade scaffold manifest -t ClusterAdmissionPolicy registry://{image}\n```\n"
    )
}

/// A URL with a scheme and a host, written as URL parsers normalise it (`/` for an empty path).
fn checked_url(key: &str, url: &str) -> Result<String, ArtifactError> {
    let malformed = || invalid(format!("`{key}` is not a URL: {url}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !scheme_ok || host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(malformed());
    }
    if rest.len() == host.len() {
        Ok(format!("{url}/"))
    } else {
        Ok(url.to_owned())
    }
}

fn keywords(text: &str) -> Result<Vec<String>, ArtifactError> {
    let words: Vec<String> = text
        .split(',')
        .map(|word| word.trim_matches(' ').to_owned())
        .collect();
    if words.iter().any(String::is_empty) {
        return Err(invalid(format!(
            "`{KEYWORDS}` must be comma-separated words, without empty ones: {text:?}"
        )));
    }
    Ok(words)
}

/// The source link, and for a GitHub repository the module attached to the release.
fn links(
    source: &str,
    release_tag: Option<&String>,
    version: &semver::Version,
) -> Result<Vec<Link>, ArtifactError> {
    let source = checked_url(WellKnown::Source.key(), source)?;
    let on_github = source
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        == Some("github.com");
    let mut links = Vec::new();
    if on_github {
        let release = match release_tag {
            Some(tag) => form_urlencoded(tag),
            None => format!("v{version}"),
        };
        links.push(Link {
            name: "policy",
            url: format!("{source}/releases/download/{release}/policy.wasm"),
        });
    }
    links.push(Link {
        name: "source",
        url: source,
    });
    Ok(links)
}

/// `application/x-www-form-urlencoded` bytes: letters, digits and `*-._` kept, space as `+`.
fn form_urlencoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                char::from(byte).to_string()
            }
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `Name <email>, Other <email>` (a bare address is a maintainer without a name).
fn maintainers(text: &str) -> Result<Vec<Maintainer>, ArtifactError> {
    let key = WellKnown::Author.key();
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty() {
        return Err(invalid(format!(
            "`{key}` must be comma-separated `Name <email>` values"
        )));
    }
    entries
        .into_iter()
        .map(|entry| {
            let (name, email) = match entry.strip_suffix('>').and_then(|e| e.split_once('<')) {
                Some((name, email)) => (name.trim().trim_matches('"'), email.trim()),
                None => ("", entry),
            };
            if !is_email(email) {
                return Err(invalid(format!(
                    "`{key}` has `{entry}`, which is not `Name <email>`"
                )));
            }
            Ok(Maintainer {
                name: name.to_owned(),
                email: email.to_owned(),
            })
        })
        .collect()
}

fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:@\"".contains(c))
    };
    plain(local) && plain(domain) && !domain.starts_with('.') && !domain.ends_with('.')
}

/// The `kubewarden/*` annotations Artifact Hub shows for Kubewarden policies.
fn package_annotations(
    metadata: &Metadata,
    questions: Option<&str>,
) -> Result<BTreeMap<String, String>, ArtifactError> {
    let mut annotations = BTreeMap::from([
        (
            "kubewarden/mutation".to_owned(),
            metadata.mutating.to_string(),
        ),
        ("kubewarden/rules".to_owned(), to_yaml(&metadata.rules)?),
    ]);
    if !metadata.context_aware_resources.is_empty() {
        annotations.insert(
            "kubewarden/contextAwareResources".to_owned(),
            to_yaml(&metadata.context_aware_resources)?,
        );
    }
    if let Some(questions) = questions {
        annotations.insert("kubewarden/questions-ui".to_owned(), questions.to_owned());
    }
    if let Some(hidden) = metadata.annotation(HIDDEN_UI) {
        annotations.insert("kubewarden/hidden-ui".to_owned(), hidden.to_owned());
    }
    if let Some(resources) = metadata.annotation(RESOURCES) {
        annotations.insert("kubewarden/resources".to_owned(), resources.to_owned());
    }
    Ok(annotations)
}

fn to_yaml<T: Serialize>(value: &T) -> Result<String, ArtifactError> {
    serde_norway::to_string(value)
        .map_err(|err| invalid(format!("writing the metadata as YAML: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaffold::tests::metadata;

    const MINIMAL: &str = "rules: []\nmutating: false\nannotations:\n  io.kubewarden.policy.version: 0.2.1\n  \
        io.kubewarden.policy.title: verify-image-signatures\n  io.artifacthub.displayName: Verify Image Signatures\n  \
        io.kubewarden.policy.description: A description\n  io.kubewarden.policy.ociUrl: ghcr.io/ocirepo/namespace/verify-image-signatures\n  \
        io.artifacthub.resources: Pod, Deployment\n";

    fn epoch() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    #[test]
    fn the_minimal_package_has_kwctls_fields_in_kwctls_order() -> Result<(), ArtifactError> {
        let package = artifacthub_package(&metadata(MINIMAL), epoch(), None)?;
        let yaml = to_yaml(&package)?;
        let keys: Vec<&str> = yaml
            .lines()
            .filter(|line| !line.starts_with([' ', '-']))
            .filter_map(|line| line.split_once(':').map(|(key, _)| key))
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "name",
                "displayName",
                "createdAt",
                "description",
                "containersImages",
                "install",
                "provider",
                "recommendations",
                "annotations"
            ]
        );
        assert!(yaml.contains("createdAt: 1970-01-01T00:00:00Z\n"), "{yaml}");
        assert!(yaml.contains("- name: policy\n  image: ghcr.io/ocirepo/namespace/verify-image-signatures:v0.2.1\n"), "{yaml}");
        assert!(yaml.contains("  kubewarden/mutation: 'false'\n  kubewarden/resources: Pod, Deployment\n  kubewarden/rules: |\n    []\n"), "{yaml}");
        Ok(())
    }

    #[test]
    fn every_optional_field_from_its_annotation() -> Result<(), ArtifactError> {
        let all = format!(
            "{MINIMAL}  io.kubewarden.policy.author: Tux Tuxedo <tux@example.com>, Pidgin <pidgin@example.com>\n  \
             io.kubewarden.policy.url: https://github.com/home\n  io.kubewarden.policy.source: https://github.com/repo\n  \
             io.kubewarden.policy.license: Apache-2.0\n  io.artifacthub.keywords: pod, signature\n  io.kubewarden.hidden-ui: 'true'\n\
             contextAwareResources: [{{apiVersion: v1, kind: Pod}}]\n"
        );
        let package = artifacthub_package(&metadata(&all), epoch(), Some("questions: []"))?;
        let value = serde_json::to_value(&package).map_err(|err| invalid(err.to_string()))?;
        assert_eq!(value["license"], "Apache-2.0");
        assert_eq!(value["homeURL"], "https://github.com/home");
        assert_eq!(value["keywords"], serde_json::json!(["pod", "signature"]));
        assert_eq!(
            value["links"],
            serde_json::json!([
                {"name": "policy", "url": "https://github.com/repo/releases/download/v0.2.1/policy.wasm"},
                {"name": "source", "url": "https://github.com/repo"},
            ])
        );
        assert_eq!(
            value["maintainers"],
            serde_json::json!([
                {"name": "Tux Tuxedo", "email": "tux@example.com"},
                {"name": "Pidgin", "email": "pidgin@example.com"},
            ])
        );
        assert_eq!(value["annotations"]["kubewarden/hidden-ui"], "true");
        assert_eq!(
            value["annotations"]["kubewarden/questions-ui"],
            "questions: []"
        );
        assert_eq!(
            value["annotations"]["kubewarden/contextAwareResources"],
            "- apiVersion: v1\n  kind: Pod\n"
        );
        Ok(())
    }

    #[test]
    fn release_tags_are_form_encoded_and_other_hosts_get_only_a_source_link()
    -> Result<(), ArtifactError> {
        let version = semver::Version::new(0, 2, 1);
        let tag = "SomePolicy/v0.2.1".to_owned();
        let tagged = links("https://github.com/repo", Some(&tag), &version)?;
        assert_eq!(
            tagged[0].url,
            "https://github.com/repo/releases/download/SomePolicy%2Fv0.2.1/policy.wasm"
        );
        let elsewhere = links("https://notgithub.com/repo", None, &version)?;
        assert_eq!(
            elsewhere,
            vec![Link {
                name: "source",
                url: "https://notgithub.com/repo".into()
            }]
        );
        assert!(
            links("@&*foo", None, &version).is_err_and(|err| err.to_string().contains("not a URL"))
        );
        Ok(())
    }

    #[test]
    fn missing_and_malformed_annotations_are_named() {
        let refused = |yaml: &str, expected: &str| {
            let result = artifacthub_package(&metadata(yaml), epoch(), None);
            assert!(
                result.is_err_and(|err| err.to_string().contains(expected)),
                "{yaml}"
            );
        };
        refused("rules: []\nmutating: false\n", "no annotations");
        refused(
            &MINIMAL.replace("  io.kubewarden.policy.version: 0.2.1\n", ""),
            "io.kubewarden.policy.version",
        );
        refused(
            &MINIMAL.replace("0.2.1", "not-semver"),
            "not a semantic version",
        );
        refused(
            &MINIMAL.replace(
                "  io.artifacthub.displayName: Verify Image Signatures\n",
                "",
            ),
            "io.artifacthub.displayName",
        );
        refused(
            &MINIMAL.replace(
                "ghcr.io/ocirepo/namespace/verify-image-signatures",
                "not a ref",
            ),
            "not an OCI repository",
        );
        refused(
            &format!("{MINIMAL}  io.artifacthub.keywords: foo,,bar\n"),
            "without empty ones",
        );
        refused(
            &format!("{MINIMAL}  io.kubewarden.policy.author: ''\n"),
            "comma-separated `Name <email>`",
        );
        refused(
            &format!("{MINIMAL}  io.kubewarden.policy.author: Foo missing@chevrons.com\n"),
            "not `Name <email>`",
        );
        refused(
            &format!("{MINIMAL}  io.kubewarden.policy.author: Bar <#$%#$%>\n"),
            "not `Name <email>`",
        );
        assert!(
            artifacthub_package(&metadata(MINIMAL), epoch(), Some(""))
                .is_err_and(|err| err.to_string().contains("questions file is empty"))
        );
    }
}
