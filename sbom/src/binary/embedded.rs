//! The dependency list a module embeds.

use crate::lockfile::{Dependency, Ecosystem, Graph, Note};

/// The dependency list a module embeds, as SBOM components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// What recorded it, for the user (`cargo auditable (.dep-v0 section, format 1)`).
    pub recorded_by: String,
    /// The ecosystem of its packages.
    pub ecosystem: Ecosystem,
    /// Every package of the build but the policy's own, sorted, without duplicates; each with
    /// its scope: [`Scope::Runtime`](crate::lockfile::Scope::Runtime) when compiled in,
    /// [`Scope::Build`](crate::lockfile::Scope::Build) when only used to build.
    pub dependencies: Vec<Dependency>,
    /// Who depends on whom (the policy on [`Graph::direct`]).
    pub graph: Graph,
    /// What the list cannot tell, said in the document (its "not established" note).
    pub note: Note,
    /// What else the list says (the Go main module, build settings…), as document properties.
    pub properties: Vec<(String, String)>,
    /// What the list cannot tell, for the user.
    pub warnings: Vec<String>,
}

impl Embedded {
    /// The packages compiled into the module: every dependency but the build-only ones.
    pub fn runtime(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies
            .iter()
            .filter(|dependency| !dependency.scope.is_excluded())
    }
}
