//! Checking every tag again after the trust policy changed (`palisade registry reverify`): in `enforce` prefixes,
//! waiting tags whose signatures now satisfy the rule are published, and published tags whose signatures no longer
//! do are withdrawn (they wait again); outside them, nothing waits any more.

use artifact::oci::Digest;
use serde::Serialize;

use super::enforce::{evaluate, is_attachment_tag, settle};
use super::rules::{TrustMode, TrustPolicy};
use crate::errors::Result;
use crate::names::{Reference, RepoName, Tag};
use crate::storage::Storage;

/// A tag that a check moved.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// The repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest it was published on, or withdrawn from.
    pub digest: Digest,
    /// Why it was withdrawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a check of every tag did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reverified {
    /// Tags published: their signatures now satisfy their rule, or their prefix no longer enforces one.
    pub published: Vec<Moved>,
    /// Tags taken back: their signatures no longer satisfy their rule.
    pub withdrawn: Vec<Moved>,
    /// Tags still waiting.
    pub waiting: usize,
}

/// Checks every tag of every repository against `policy`.
pub async fn reverify<S: Storage>(storage: &S, policy: &TrustPolicy) -> Result<Reverified> {
    let mut done = Reverified::default();
    for name in storage.repositories().await? {
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        let moved = |tag: &str, digest: &Digest, reason: Option<String>| Moved {
            repository: name.clone(),
            tag: tag.to_string(),
            digest: digest.clone(),
            reason,
        };
        let rule = policy
            .rule_for(&name)
            .filter(|rule| rule.mode == TrustMode::Enforce);
        for (tag_name, digest) in storage.pending_tags(&repo).await? {
            let Ok(tag) = Tag::parse(&tag_name) else {
                continue;
            };
            let published = match rule {
                Some(rule) => {
                    settle(storage, rule, &repo, &tag, &digest).await?.verified
                        && !storage
                            .pending_tags(&repo)
                            .await?
                            .iter()
                            .any(|(waiting, _)| waiting == &tag_name)
                }
                None => storage.publish_tag(&repo, &tag, &digest).await?,
            };
            if published {
                done.published.push(moved(&tag_name, &digest, None));
            } else {
                done.waiting += 1;
            }
        }
        let Some(rule) = rule else {
            continue;
        };
        for tag_name in storage.tags(&repo).await?.unwrap_or_default() {
            let Ok(tag) = Tag::parse(&tag_name) else {
                continue;
            };
            if is_attachment_tag(&tag_name) {
                continue;
            }
            let Some(stored) = storage
                .get_manifest(&repo, &Reference::Tag(tag.clone()))
                .await?
            else {
                continue;
            };
            let report = evaluate(storage, rule, &repo, &stored.digest).await?;
            if !report.verified && storage.withdraw_tag(&repo, &tag, &stored.digest).await? {
                done.withdrawn
                    .push(moved(&tag_name, &stored.digest, report.failure));
            }
        }
    }
    Ok(done)
}
