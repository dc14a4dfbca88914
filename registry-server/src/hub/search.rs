//! Searching the catalog: a query is words, each of which must begin a word (ignoring case) of the repository name,
//! title, description, `io.kubewarden.policy.*` annotations, rule resources, execution mode, usage text, or the word
//! `mutating`, and filters:
//!
//! | filter | keeps |
//! | --- | --- |
//! | `mutating:true`, `mutating:false` | policies that may (may not) change objects |
//! | `mode:opa` (`gatekeeper`, `kubewarden-wapc` or `wapc`, `wasi`) | policies run that way |
//! | `kind:Pod` (or `kind:pods`) | policies whose rules name that resource, then those matching every resource (`*`) |
//! | `signed:true`, `signed:false` | policies with (without) a signature attached |
//! | `verified:true`, `verified:false` | policies whose signatures satisfy (do not satisfy) their prefix's trust rule |
//!
//! Results come by relevance (a rule naming the kind asked for first; then a match in the name or title counts
//! most, then annotations, resources and mode, then the description, then the usage text), then by repository
//! name. The storage's database runs the search ([`Query::to_catalog`]); this module also says what a repository is
//! found by ([`entry`]).

use artifact::metadata::{ExecutionMode, WellKnown};

use super::index::Repository;
use crate::storage::catalog::{
    CatalogEntry, CatalogQuery, Facets, WeightedWords, field_words, search_words,
};

/// A parsed query.
#[derive(Debug, Default, PartialEq)]
pub struct Query {
    /// Lower-case words, each of which must match.
    pub words: Vec<String>,
    /// Filters, each of which must pass.
    pub filters: Vec<Filter>,
}

/// A `key:value` filter.
#[derive(Debug, PartialEq)]
pub enum Filter {
    /// `mutating:true|false`.
    Mutating(bool),
    /// `mode:…`.
    Mode(ExecutionMode),
    /// `kind:…`: a Kubernetes kind or resource, lower case.
    Kind(String),
    /// `signed:true|false`.
    Signed(bool),
    /// `verified:true|false`.
    Verified(bool),
}

const MODES: [(&str, ExecutionMode); 5] = [
    ("opa", ExecutionMode::Opa),
    ("gatekeeper", ExecutionMode::Gatekeeper),
    ("kubewarden-wapc", ExecutionMode::KubewardenWapc),
    ("wapc", ExecutionMode::KubewardenWapc),
    ("wasi", ExecutionMode::Wasi),
];

impl Query {
    /// Parses `text`; the error names the filter that is wrong and what it takes. `key:value` tokens whose key is
    /// not a filter are words.
    pub fn parse(text: &str) -> Result<Query, String> {
        let mut query = Query::default();
        for token in text.split_whitespace() {
            let lower = token.to_lowercase();
            let filter = match lower.split_once(':') {
                Some(("mutating", value)) => Filter::Mutating(boolean("mutating", value)?),
                Some(("signed", value)) => Filter::Signed(boolean("signed", value)?),
                Some(("verified", value)) => Filter::Verified(boolean("verified", value)?),
                Some(("mode", value)) => Filter::Mode(
                    MODES
                        .iter()
                        .find(|(name, _)| *name == value)
                        .map(|(_, mode)| *mode)
                        .ok_or_else(|| {
                            format!(
                                "`mode:` takes opa, gatekeeper, kubewarden-wapc (or wapc) or wasi, not {value:?}"
                            )
                        })?,
                ),
                Some(("kind", value)) if !value.is_empty() => Filter::Kind(value.to_string()),
                Some(("kind", _)) => {
                    return Err("`kind:` takes a kind or resource, as in kind:Pod".to_string());
                }
                _ => {
                    query.words.push(lower);
                    continue;
                }
            };
            query.filters.push(filter);
        }
        Ok(query)
    }

    /// The search the storage's catalog runs: words cut as the catalog cuts them, filters as facets.
    pub fn to_catalog(&self) -> CatalogQuery {
        let mut query = CatalogQuery {
            words: self.words.iter().flat_map(|w| search_words(w)).collect(),
            ..CatalogQuery::default()
        };
        for filter in &self.filters {
            match filter {
                Filter::Mutating(wanted) => query.mutating = Some(*wanted),
                Filter::Mode(mode) => query.mode = Some(mode.to_string()),
                Filter::Signed(wanted) => query.signed = Some(*wanted),
                Filter::Verified(wanted) => query.verified = Some(*wanted),
                Filter::Kind(kind) => query.kinds = vec![kind.clone(), plural(kind)],
            }
        }
        query
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("`{key}:` takes true or false, not {value:?}")),
    }
}

/// The resource name of a kind, as Kubernetes forms it: lower case, plural (`Pod` → `pods`, `Ingress` →
/// `ingresses`, `NetworkPolicy` → `networkpolicies`).
pub fn plural(kind: &str) -> String {
    let kind = kind.to_lowercase();
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| kind.ends_with(end))
    {
        format!("{kind}es")
    } else if let Some(stem) = kind.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{kind}s")
    }
}

/// The catalog entry of `repository`: what the hub shows of it, and what its default policy is found and filtered
/// by. `None` if it holds no policy.
pub fn entry(repository: &Repository) -> Option<CatalogEntry> {
    let shown = repository.default_policy()?;
    let content = serde_json::to_vec(repository).ok()?;
    let policy = &shown.policy;
    let metadata = policy.metadata.as_ref();
    let resources = policy.resources();
    let skipped = [WellKnown::Title, WellKnown::Description, WellKnown::Usage].map(WellKnown::key);
    let annotations = metadata
        .map(|m| &m.annotations)
        .into_iter()
        .chain([&policy.annotations])
        .flat_map(|map| map.iter())
        .filter(|(key, _)| {
            key.starts_with("io.kubewarden.policy.") && !skipped.contains(&key.as_str())
        })
        .map(|(_, value)| value.as_str());
    let mode = metadata.map(|m| m.execution_mode.to_string());
    let mutating = metadata.is_some_and(|m| m.mutating).then_some("mutating");
    let mut kinds: Vec<String> = resources
        .iter()
        .map(|r| r.split('/').next().unwrap_or_default().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    let text = |key| policy.field(key).unwrap_or_default();
    Some(CatalogEntry {
        content,
        words: WeightedWords {
            name: field_words([repository.name.as_str(), text(WellKnown::Title)]),
            keywords: field_words(
                resources
                    .iter()
                    .map(String::as_str)
                    .chain(mode.as_deref())
                    .chain(mutating)
                    .chain(annotations),
            ),
            description: field_words([text(WellKnown::Description)]),
            usage: field_words([text(WellKnown::Usage)]),
        },
        facets: Facets {
            mutating: metadata.map(|m| m.mutating),
            mode,
            kinds,
            signed: !shown.signatures.is_empty(),
            verified: shown.trust.as_ref().map(|verdict| verdict.verified),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::index::TaggedPolicy;
    use super::super::module::Policy;
    use super::*;

    #[test]
    fn parses_words_and_filters() {
        let query =
            Query::parse("  Pod   mutating:TRUE mode:wapc kind:Pod signed:no io.x:y ").unwrap();
        assert_eq!(query.words, ["pod", "io.x:y"]);
        assert_eq!(
            query.filters,
            [
                Filter::Mutating(true),
                Filter::Mode(ExecutionMode::KubewardenWapc),
                Filter::Kind("pod".to_string()),
                Filter::Signed(false),
            ]
        );
        assert_eq!(Query::parse("").unwrap(), Query::default());
    }

    #[test]
    fn wrong_filters_say_what_they_take() {
        let mode = Query::parse("mode:rego").unwrap_err();
        assert!(
            mode.contains("opa, gatekeeper") && mode.contains("\"rego\""),
            "{mode}"
        );
        let mutating = Query::parse("mutating:maybe").unwrap_err();
        assert!(mutating.contains("true or false"), "{mutating}");
        assert!(Query::parse("kind:").unwrap_err().contains("kind:Pod"));
    }

    #[test]
    fn kinds_become_resources() {
        for (kind, resource) in [
            ("Pod", "pods"),
            ("Ingress", "ingresses"),
            ("NetworkPolicy", "networkpolicies"),
            ("Gateway", "gateways"),
            ("Deployment", "deployments"),
        ] {
            assert_eq!(plural(kind), resource);
        }
    }

    #[test]
    fn a_query_becomes_catalog_words_and_facets() {
        let catalog = Query::parse(
            "Pod-Guard kind:Ingress mode:wapc signed:yes mutating:false verified:true",
        )
        .unwrap()
        .to_catalog();
        assert_eq!(catalog.words, ["pod", "guard"]);
        assert_eq!(catalog.kinds, ["ingress", "ingresses"]);
        assert_eq!(catalog.mode.as_deref(), Some("kubewarden-wapc"));
        assert_eq!(catalog.verified, Some(true));
        assert_eq!(
            (catalog.signed, catalog.mutating),
            (Some(true), Some(false))
        );
    }

    #[test]
    fn an_entry_is_found_by_its_default_policy_by_weight() {
        let metadata = artifact::metadata::MetadataFile::parse(
            "rules:\n  - {apiGroups: [apps], apiVersions: [v1], resources: [deployments, deployments/scale], operations: [CREATE]}\n\
             mutating: true\nannotations:\n  io.kubewarden.policy.title: Owner Labeler\n  \
             io.kubewarden.policy.description: Adds labels\n  io.kubewarden.policy.category: Hygiene\n",
        )
        .unwrap()
        .metadata;
        let policy = |tag: &str| TaggedPolicy {
            tag: tag.to_string(),
            policy: Policy {
                digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                    .parse()
                    .unwrap(),
                manifest_size: 1,
                module_digest:
                    "sha256:1111111111111111111111111111111111111111111111111111111111111111"
                        .parse()
                        .unwrap(),
                module_size: 1,
                annotations: Default::default(),
                metadata: Some(metadata.clone()),
                problem: None,
            },
            signatures: Vec::new(),
            sboms: Vec::new(),
            trust: None,
        };
        let repository = Repository {
            name: "team/labeler".to_string(),
            policies: vec![policy("v1"), policy("latest")],
        };
        let entry = entry(&repository).unwrap();
        assert_eq!(entry.words.name, "team labeler owner labeler");
        assert_eq!(
            entry.words.keywords,
            "deployments deployments scale kubewarden wapc mutating hygiene"
        );
        assert_eq!(entry.words.description, "adds labels");
        assert_eq!(entry.facets.kinds, ["deployments"]);
        assert_eq!(entry.facets.mutating, Some(true));
        assert!(!entry.facets.signed);
        let shown: Repository = serde_json::from_slice(&entry.content).unwrap();
        assert_eq!(
            shown.policies.len(),
            2,
            "the content is the whole repository"
        );
        let empty = Repository {
            name: "images".to_string(),
            policies: Vec::new(),
        };
        assert!(super::entry(&empty).is_none());
    }
}
