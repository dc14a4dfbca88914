//! Searching the index: a query is words, all of which must match (case-insensitive, anywhere in the repository
//! name, title, description, `io.kubewarden.policy.*` annotations, rule resources, execution mode, usage text,
//! or the word `mutating`), and filters:
//!
//! | filter | keeps |
//! | --- | --- |
//! | `mutating:true`, `mutating:false` | policies that may (may not) change objects |
//! | `mode:opa` (`gatekeeper`, `kubewarden-wapc` or `wapc`, `wasi`) | policies run that way |
//! | `kind:Pod` (or `kind:pods`) | policies whose rules name that resource, then those matching every resource (`*`) |
//! | `signed:true`, `signed:false` | policies with (without) a signature attached |
//!
//! Results come by relevance (a match in the name or title counts most, then annotations, resources and mode,
//! then the description, then the usage text), then by repository name.

use artifact::metadata::{ExecutionMode, WellKnown};

use super::index::{Repository, TaggedPolicy};

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

    /// The repositories that match, most relevant first, then by name; each with the policy that matched (its
    /// default tag) and its score.
    pub fn run<'a>(
        &self,
        repositories: impl IntoIterator<Item = &'a Repository>,
    ) -> Vec<(&'a Repository, &'a TaggedPolicy)> {
        let mut found: Vec<(u32, &Repository, &TaggedPolicy)> = repositories
            .into_iter()
            .filter_map(|repository| {
                let shown = repository.default_policy()?;
                self.score(&repository.name, shown)
                    .map(|score| (score, repository, shown))
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
        found
            .into_iter()
            .map(|(_, repository, shown)| (repository, shown))
            .collect()
    }

    /// How well `shown` of repository `name` matches; `None` if it does not.
    pub fn score(&self, name: &str, shown: &TaggedPolicy) -> Option<u32> {
        let fields = Fields::of(name, shown);
        self.filters
            .iter()
            .map(|filter| filter_score(filter, shown))
            .chain(self.words.iter().map(|word| fields.score(word)))
            .try_fold(0, |total, score| score.map(|s| total + s))
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("`{key}:` takes true or false, not {value:?}")),
    }
}

/// `None` if `shown` fails the filter, else its relevance: a rule naming the kind counts more than a wildcard.
fn filter_score(filter: &Filter, shown: &TaggedPolicy) -> Option<u32> {
    let metadata = shown.policy.metadata.as_ref();
    let passed = match filter {
        Filter::Mutating(wanted) => metadata.is_some_and(|m| m.mutating == *wanted),
        Filter::Mode(wanted) => metadata.is_some_and(|m| m.execution_mode == *wanted),
        Filter::Signed(wanted) => shown.signatures.is_empty() != *wanted,
        Filter::Kind(kind) => {
            let plural = plural(kind);
            let bases: Vec<String> = shown
                .policy
                .resources()
                .into_iter()
                .map(|r| r.split('/').next().unwrap_or_default().to_string())
                .collect();
            if bases.iter().any(|base| *base == *kind || *base == plural) {
                return Some(1);
            }
            bases.iter().any(|base| base == "*")
        }
    };
    passed.then_some(0)
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

/// The searchable text of a policy, lower case, by weight.
struct Fields {
    name: String,
    title: String,
    keywords: Vec<String>,
    description: String,
    usage: String,
    mutating: bool,
}

impl Fields {
    fn of(name: &str, shown: &TaggedPolicy) -> Fields {
        let policy = &shown.policy;
        let text = |key| policy.field(key).unwrap_or_default().to_lowercase();
        let metadata = policy.metadata.as_ref();
        let mut keywords: Vec<String> = policy.resources();
        keywords.extend(metadata.map(|m| m.execution_mode.to_string()));
        let annotations = metadata
            .map(|m| &m.annotations)
            .into_iter()
            .chain([&policy.annotations]);
        let skipped =
            [WellKnown::Title, WellKnown::Description, WellKnown::Usage].map(WellKnown::key);
        for map in annotations {
            keywords.extend(
                map.iter()
                    .filter(|(key, _)| {
                        key.starts_with("io.kubewarden.policy.") && !skipped.contains(&key.as_str())
                    })
                    .map(|(_, value)| value.to_lowercase()),
            );
        }
        Fields {
            name: name.to_lowercase(),
            title: text(WellKnown::Title),
            keywords,
            description: text(WellKnown::Description),
            usage: text(WellKnown::Usage),
            mutating: metadata.is_some_and(|m| m.mutating),
        }
    }

    /// The weight of the best field `word` appears in; `None` if it appears in none.
    fn score(&self, word: &str) -> Option<u32> {
        let last_segment = self.name.rsplit('/').next().unwrap_or(&self.name);
        let candidates = [
            (last_segment == word || self.title == word, 10),
            (self.name.contains(word) || self.title.contains(word), 6),
            (self.keywords.iter().any(|k| k.contains(word)), 4),
            (self.mutating && word == "mutating", 4),
            (self.description.contains(word), 2),
            (self.usage.contains(word), 1),
        ];
        candidates
            .into_iter()
            .find(|(matched, _)| *matched)
            .map(|(_, weight)| weight)
    }
}

#[cfg(test)]
mod tests {
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
}
