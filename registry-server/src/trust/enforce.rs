//! Trust decisions: a tag pushed into an `enforce` prefix waits for its digest until the signatures in the storage
//! satisfy the prefix's rule, and is then published in one step; a signature pushed later (a cosign `.sig` tag, a
//! Sigstore bundle referrer) publishes the tags that were waiting for what it signs.
//!
//! Ordering makes the race of a tag and its signature safe: a tag push records its wait before it looks for
//! signatures, and a signature push stores the signature before it looks for waiting tags, so whichever comes second
//! sees the other and publishes.

use artifact::cosign::{ATTESTATION_TAG_SUFFIX, SBOM_TAG_SUFFIX, SIGNATURE_TAG_SUFFIX};
use artifact::oci::Digest;
use signing::verify::{Report, evaluate_with_trust_root};

use super::evidence;
use super::rules::TrustRule;
use crate::errors::{RegistryError, Result};
use crate::names::{RepoName, Tag};
use crate::storage::Storage;

/// Checks the signatures the storage holds for `digest` of `repo` against `rule`.
pub async fn evaluate<S: Storage>(
    storage: &S,
    rule: &TrustRule,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Report> {
    let evidence = evidence::gather(storage, repo, digest).await?;
    evaluate_with_trust_root(
        &format!("{repo}@{digest}"),
        digest,
        &evidence,
        &rule.config,
        rule.trust_root.as_ref(),
    )
    .map_err(|e| RegistryError::Config(format!("trust rule of prefix {:?}: {e}", rule.prefix)))
}

/// A tag pushed into an `enforce` prefix: it waits for `digest`, and is published at once if the signatures
/// already there satisfy `rule`. Returns the verification's report.
pub async fn push_tag<S: Storage>(
    storage: &S,
    rule: &TrustRule,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<Report> {
    storage.set_pending_tag(repo, tag, digest).await?;
    settle(storage, rule, repo, tag, digest).await
}

/// Publishes `tag` on `digest` if the signatures satisfy `rule` (and the tag still waits for it).
pub async fn settle<S: Storage>(
    storage: &S,
    rule: &TrustRule,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<Report> {
    let report = evaluate(storage, rule, repo, digest).await?;
    if report.verified && storage.publish_tag(repo, tag, digest).await? {
        tracing::info!(repository = %repo, %tag, %digest, "published: its signatures satisfy the trust policy");
    }
    Ok(report)
}

/// After a push that may vouch for `subject`: publishes the tags of `repo` waiting for it that now satisfy `rule`.
pub async fn signature_arrived<S: Storage>(
    storage: &S,
    rule: &TrustRule,
    repo: &RepoName,
    subject: &Digest,
) -> Result<()> {
    for (name, digest) in storage.pending_tags(repo).await? {
        if &digest != subject {
            continue;
        }
        if let Ok(tag) = Tag::parse(&name) {
            settle(storage, rule, repo, &tag, &digest).await?;
        }
    }
    Ok(())
}

/// The digest a pushed manifest may vouch for: the one a cosign `.sig` tag names, or the manifest's subject.
pub fn vouched_for(tag: Option<&Tag>, subject: Option<&Digest>) -> Option<Digest> {
    tag.and_then(|tag| signed_digest(tag.as_str()))
        .or_else(|| subject.cloned())
}

/// The digest `<alg>-<hex>.sig` names.
fn signed_digest(tag: &str) -> Option<Digest> {
    let (algorithm, hex) = tag.strip_suffix(SIGNATURE_TAG_SUFFIX)?.split_once('-')?;
    format!("{algorithm}:{hex}").parse().ok()
}

/// Whether `tag` is one of cosign's attachment tags (`<alg>-<hex>.sig`, `.att`, `.sbom`): those are published as
/// pushed, since clients need them to verify what waits.
pub fn is_attachment_tag(tag: &str) -> bool {
    [
        SIGNATURE_TAG_SUFFIX,
        ATTESTATION_TAG_SUFFIX,
        SBOM_TAG_SUFFIX,
    ]
    .iter()
    .filter_map(|suffix| tag.strip_suffix(suffix))
    .any(|base| {
        base.split_once('-')
            .and_then(|(algorithm, hex)| format!("{algorithm}:{hex}").parse::<Digest>().ok())
            .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4d829e00a70e0fdc11ac52039a55c0259c28c818deca52adf27ccc6ed03939c0";

    #[test]
    fn signature_tags_name_what_they_vouch_for() {
        let tag = Tag::parse(&format!("sha256-{HEX}.sig")).unwrap();
        let digest: Digest = format!("sha256:{HEX}").parse().unwrap();
        assert_eq!(vouched_for(Some(&tag), None), Some(digest.clone()));
        let v1 = Tag::parse("v1").unwrap();
        assert_eq!(vouched_for(Some(&v1), None), None);
        assert_eq!(vouched_for(None, Some(&digest)), Some(digest));
        for attachment in [".sig", ".att", ".sbom"] {
            assert!(is_attachment_tag(&format!("sha256-{HEX}{attachment}")));
        }
        assert!(!is_attachment_tag("v1.sig"));
        assert!(!is_attachment_tag("sha256-zz.sig"));
    }
}
