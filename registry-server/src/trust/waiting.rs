//! What waits: each tag of an `enforce` prefix that no trusted signature has published yet, checked again now, with
//! why each signature found falls short (for `GET /trust/pending` and `palisade registry pending`).

use artifact::oci::Digest;
use serde::Serialize;
use signing::verify::RequirementResult;

use super::enforce::evaluate;
use super::rules::{TrustMode, TrustPolicy};
use crate::errors::Result;
use crate::names::RepoName;
use crate::storage::Storage;

/// A tag waiting for a trusted signature.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest it is to name once published.
    pub digest: Digest,
    /// The trust policy's prefix.
    pub prefix: String,
    /// How many signatures were found for the digest (both layouts).
    pub signatures_found: usize,
    /// Why the signatures fall short, in one paragraph.
    pub failure: Option<String>,
    /// Each requirement of the verification config, with the signatures that met it and why the others did not.
    pub requirements: Vec<RequirementResult>,
}

/// The waiting tags of the repositories `shown` accepts (by name), sorted by repository and tag.
pub async fn waiting<S: Storage>(
    storage: &S,
    policy: &TrustPolicy,
    shown: impl Fn(&str) -> bool,
) -> Result<Vec<Waiting>> {
    let mut found = Vec::new();
    if policy.is_empty() {
        return Ok(found);
    }
    for name in storage.repositories().await? {
        let Some(rule) = policy
            .rule_for(&name)
            .filter(|rule| rule.mode == TrustMode::Enforce)
        else {
            continue;
        };
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        if !shown(&name) {
            continue;
        }
        for (tag, digest) in storage.pending_tags(&repo).await? {
            let report = evaluate(storage, rule, &repo, &digest).await?;
            found.push(Waiting {
                repository: name.clone(),
                tag,
                digest,
                prefix: rule.prefix.clone(),
                signatures_found: report.signatures_found,
                failure: report.failure,
                requirements: report.requirements,
            });
        }
    }
    Ok(found)
}
