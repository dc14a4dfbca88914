//! Who depends on whom, and how.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::dependency::Dependency;

/// How one package depends on another, when it is not an ordinary (normal) dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// A build dependency (build script, procedural macro).
    Build,
    /// A development (test) dependency.
    Dev,
    /// A dependency on other compilation targets only.
    OtherTarget,
    /// Required through another package that could not be named (go.mod `// indirect`).
    Indirect,
}

/// The dependency graph: what the project itself depends on, and which package depends on which.
/// Its dependencies identify packages; what is known of them is in the dependency list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The packages the project's own code depends on.
    pub direct: BTreeSet<Dependency>,
    /// `(a, b)`: package `a` depends on package `b`.
    pub edges: BTreeSet<(Dependency, Dependency)>,
    /// The edges that are not normal dependencies: `(None, b)` for the project's own, `(Some(a),
    /// b)` for an edge of [`Graph::edges`]. An edge not listed is a normal one.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "serialize_entries"
    )]
    pub kinds: BTreeMap<(Option<Dependency>, Dependency), EdgeKind>,
}

/// A map with composite keys as a list of `[key, value]` pairs (JSON keys must be strings).
fn serialize_entries<S: serde::Serializer, K: Serialize, V: Serialize>(
    map: &BTreeMap<K, V>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(map.iter())
}

impl Graph {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.edges.is_empty()
    }

    /// What `dependency` depends on, sorted.
    pub fn dependencies_of<'a>(
        &'a self,
        dependency: &'a Dependency,
    ) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.edges
            .iter()
            .filter(move |(from, _)| from == dependency)
            .map(|(_, to)| to)
    }

    /// The kind of the edge from `from` (`None`: the project) to `to`; `None` for a normal one.
    pub fn kind(&self, from: Option<&Dependency>, to: &Dependency) -> Option<EdgeKind> {
        self.kinds.get(&(from.cloned(), to.clone())).copied()
    }

    /// Adds what `other` records.
    pub fn extend(&mut self, other: Graph) {
        self.direct.extend(other.direct);
        self.edges.extend(other.edges);
        self.kinds.extend(other.kinds);
    }
}
