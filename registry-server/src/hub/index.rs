//! The hub's index: for every repository, the tags that name policies, each with its description and what is
//! attached to it (cosign signatures and attestations, Sigstore bundles, SBOMs).
//!
//! A manifest push or delete marks its repository ([`Index::touch`]), and so does a change that another server
//! sharing the storage made (each read asks the storage what changed); the next reader rebuilds just the marked
//! repositories (the first one scans everything). Descriptions are cached by manifest digest, in memory and in the
//! storage, so a module is read once however many tags, rebuilds, restarts and replicas there are.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use artifact::cosign::{
    ATTESTATION_TAG_SUFFIX, CYCLONEDX_JSON, SBOM_TAG_SUFFIX, SIGNATURE_TAG_SUFFIX,
    SIGSTORE_BUNDLE_PREFIX, SPDX_JSON, referrers_tag,
};
use artifact::oci::Digest;
use futures_util::StreamExt;
use serde::Serialize;

use super::module::{self, Policy};
use crate::errors::{RegistryError, Result};
use crate::manifest::Descriptor;
use crate::names::{Reference, RepoName, Tag};
use crate::storage::{ChangeMark, Storage, StoredManifest};

/// The hub's shared state: the index of policies, kept current by the hub's `watch` middleware.
#[derive(Debug, Default)]
pub struct Hub {
    /// Every repository's policies.
    pub index: Index,
}

/// A signature or an SBOM attached to a policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    /// `cosign` (a `.sig` tag), `cosign-attestation` (`.att`), `sigstore-bundle`, `spdx`, `cyclonedx` or
    /// `cosign-sbom` (a `.sbom` tag).
    pub kind: &'static str,
    /// The digest of the manifest that carries it.
    pub manifest: Digest,
    /// The tag that names it, for cosign's tag layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The blob holding the document itself (bundle, SBOM), to download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Digest>,
}

/// A tag that names a policy, with what is attached to the policy.
#[derive(Debug, Clone)]
pub struct TaggedPolicy {
    /// The tag.
    pub tag: String,
    /// The policy it names.
    pub policy: Arc<Policy>,
    /// Its signatures: cosign `.sig` and `.att` tags, Sigstore bundle referrers.
    pub signatures: Vec<Attachment>,
    /// Its SBOMs: SPDX and CycloneDX referrers, cosign `.sbom` tags.
    pub sboms: Vec<Attachment>,
}

/// A repository that holds at least one policy.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The repository name.
    pub name: String,
    /// Its policy tags, in natural order (`v2` before `v10`).
    pub policies: Vec<TaggedPolicy>,
}

impl Repository {
    /// The tag a page shows first: `latest` if it names a policy, else the last in natural order.
    pub fn default_policy(&self) -> Option<&TaggedPolicy> {
        self.tagged("latest").or_else(|| self.policies.last())
    }

    /// The policy `tag` names, if it names one.
    pub fn tagged(&self, tag: &str) -> Option<&TaggedPolicy> {
        self.policies.iter().find(|p| p.tag == tag)
    }

    /// The policy `tag` names, or the default one if `tag` is `None`; `MANIFEST_UNKNOWN` if `tag` names none.
    pub fn shown(&self, tag: Option<&str>) -> Result<&TaggedPolicy> {
        match tag {
            Some(tag) => self.tagged(tag),
            None => self.default_policy(),
        }
        .ok_or_else(|| RegistryError::ManifestUnknown {
            reference: tag.unwrap_or_default().to_string(),
        })
    }
}

/// The index at one moment: repositories by name.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The repositories that hold policies, by name.
    pub repositories: BTreeMap<String, Arc<Repository>>,
}

/// What the next reader must rebuild.
#[derive(Debug)]
enum Pending {
    Everything,
    Repositories(BTreeSet<String>),
}

impl Pending {
    fn none() -> Pending {
        Pending::Repositories(BTreeSet::new())
    }

    fn is_none(&self) -> bool {
        matches!(self, Pending::Repositories(names) if names.is_empty())
    }

    fn merge(&mut self, other: Pending) {
        match (&mut *self, other) {
            (Pending::Everything, _) => {}
            (_, Pending::Everything) => *self = Pending::Everything,
            (Pending::Repositories(mine), Pending::Repositories(theirs)) => mine.extend(theirs),
        }
    }
}

/// What this server has seen of the storage's changes (see [`Storage::changed_repositories`]).
#[derive(Debug, Default)]
struct Seen {
    mark: Option<ChangeMark>,
    versions: HashMap<String, u64>,
}

/// The index, current as of the last read.
#[derive(Debug)]
pub struct Index {
    pending: Mutex<Pending>,
    seen: Mutex<Seen>,
    current: RwLock<Arc<Snapshot>>,
    /// Descriptions by manifest digest; held while rebuilding, so one reader rebuilds at a time.
    cache: tokio::sync::Mutex<HashMap<Digest, Arc<Policy>>>,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            pending: Mutex::new(Pending::Everything),
            seen: Mutex::default(),
            current: RwLock::default(),
            cache: tokio::sync::Mutex::default(),
        }
    }
}

impl Index {
    /// Marks `repository` as changed: the next read rebuilds it.
    pub fn touch(&self, repository: &str) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge(Pending::Repositories(BTreeSet::from([
                repository.to_string()
            ])));
    }

    /// The index with every change made so far (through this server or another sharing its storage), rebuilding
    /// what changed.
    pub async fn snapshot<S: Storage>(&self, storage: &S) -> Result<Arc<Snapshot>> {
        self.catch_up(storage).await?;
        if self.nothing_pending() {
            return Ok(self.current());
        }
        let mut cache = self.cache.lock().await;
        let mut taken = Taken {
            index: self,
            pending: Some(std::mem::replace(
                &mut *self.lock_pending(),
                Pending::none(),
            )),
        };
        let names = match taken.pending.as_ref() {
            None => return Ok(self.current()),
            Some(pending) if pending.is_none() => return Ok(self.current()),
            Some(Pending::Everything) => None,
            Some(Pending::Repositories(names)) => Some(names.iter().cloned().collect::<Vec<_>>()),
        };
        let mut repositories = self.current().repositories.clone();
        let names = match names {
            Some(names) => names,
            None => {
                repositories.clear();
                storage.repositories().await?
            }
        };
        rebuild(storage, &names, &mut repositories, &mut cache).await?;
        taken.pending = None;
        let kept: BTreeSet<&Digest> = repositories
            .values()
            .flat_map(|r| r.policies.iter().map(|p| &p.policy.digest))
            .collect();
        cache.retain(|digest, _| kept.contains(digest));
        let snapshot = Arc::new(Snapshot { repositories });
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&snapshot);
        Ok(snapshot)
    }

    /// Marks the repositories that changed in the storage since the last look, by whatever server changed them.
    async fn catch_up<S: Storage>(&self, storage: &S) -> Result<()> {
        let since = self.lock_seen().mark;
        let (mark, versions) = storage.changed_repositories(since).await?;
        let mut changed = Vec::new();
        {
            let mut seen = self.lock_seen();
            for (name, version) in versions {
                if seen.versions.insert(name.clone(), version) != Some(version) {
                    changed.push(name);
                }
            }
            seen.mark = Some(mark.max(seen.mark.unwrap_or(mark)));
        }
        for name in changed {
            self.touch(&name);
        }
        Ok(())
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn nothing_pending(&self) -> bool {
        self.lock_pending().is_none()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Changes taken for a rebuild; put back if the rebuild does not finish (an error, or the request dropped).
struct Taken<'a> {
    index: &'a Index,
    pending: Option<Pending>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            self.index.lock_pending().merge(pending);
        }
    }
}

/// Rebuilds the repositories `names` into `repositories`, dropping those that no longer hold a policy.
async fn rebuild<S: Storage>(
    storage: &S,
    names: &[String],
    repositories: &mut BTreeMap<String, Arc<Repository>>,
    cache: &mut HashMap<Digest, Arc<Policy>>,
) -> Result<()> {
    // Names come from the storage or from a request the registry accepted; anything else is not a repository.
    let valid: Vec<(String, RepoName)> = names
        .iter()
        .filter_map(|name| {
            RepoName::parse(name)
                .ok()
                .map(|repository| (name.clone(), repository))
        })
        .collect();
    // Each repository costs a few storage round trips; several at once keep a database or object store busy
    // instead of waiting on each answer in turn.
    let shared = Mutex::new(std::mem::take(cache));
    let indexed: Vec<Result<(String, Option<Repository>)>> = futures_util::stream::iter(valid)
        .map(|(name, repository)| index_named(storage, name, repository, &shared))
        .buffer_unordered(REBUILT_AT_ONCE)
        .collect()
        .await;
    *cache = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    for result in indexed {
        match result? {
            (name, Some(indexed)) => repositories.insert(name, Arc::new(indexed)),
            (name, None) => repositories.remove(&name),
        };
    }
    Ok(())
}

/// [`index_repository`], with the name it is indexed under.
async fn index_named<S: Storage>(
    storage: &S,
    name: String,
    repository: RepoName,
    cache: &Mutex<HashMap<Digest, Arc<Policy>>>,
) -> Result<(String, Option<Repository>)> {
    Ok((name, index_repository(storage, &repository, cache).await?))
}

/// The descriptions cache, for a moment (never held across an await).
fn lock(
    cache: &Mutex<HashMap<Digest, Arc<Policy>>>,
) -> std::sync::MutexGuard<'_, HashMap<Digest, Arc<Policy>>> {
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Repositories indexed at once during a rebuild.
const REBUILT_AT_ONCE: usize = 16;

/// The policies of one repository; `None` if it holds none.
async fn index_repository<S: Storage>(
    storage: &S,
    repository: &RepoName,
    cache: &Mutex<HashMap<Digest, Arc<Policy>>>,
) -> Result<Option<Repository>> {
    let Some(mut tags) = storage.tags(repository).await? else {
        return Ok(None);
    };
    tags.sort_by(|a, b| natural_order(a, b));
    let mut policies = Vec::new();
    for tag in &tags {
        let Some(stored) = tagged_manifest(storage, repository, tag).await? else {
            continue;
        };
        let cached = lock(cache).get(&stored.digest).cloned();
        let policy = match cached {
            Some(policy) => policy,
            None => match module::describe(storage, repository, &stored).await? {
                Some(policy) => {
                    let policy = Arc::new(policy);
                    lock(cache).insert(stored.digest.clone(), Arc::clone(&policy));
                    policy
                }
                None => continue,
            },
        };
        let (signatures, sboms) = attachments(storage, repository, &tags, &policy.digest).await?;
        policies.push(TaggedPolicy {
            tag: tag.clone(),
            policy,
            signatures,
            sboms,
        });
    }
    Ok((!policies.is_empty()).then(|| Repository {
        name: repository.to_string(),
        policies,
    }))
}

/// The manifest a tag names; none when the tag is not a valid tag name or names nothing.
async fn tagged_manifest<S: Storage>(
    storage: &S,
    repository: &RepoName,
    tag: &str,
) -> Result<Option<StoredManifest>> {
    let Ok(parsed) = Tag::parse(tag) else {
        return Ok(None);
    };
    storage
        .get_manifest(repository, &Reference::Tag(parsed))
        .await
}

/// The signatures and SBOMs attached to `digest`: cosign's `<alg>-<hex>.sig`, `.att` and `.sbom` tags, and the
/// referrers whose artifact type is a Sigstore bundle or an SBOM.
async fn attachments<S: Storage>(
    storage: &S,
    repository: &RepoName,
    tags: &[String],
    digest: &Digest,
) -> Result<(Vec<Attachment>, Vec<Attachment>)> {
    let mut signatures = Vec::new();
    let mut sboms = Vec::new();
    let base = referrers_tag(digest);
    for (suffix, kind) in [
        (SIGNATURE_TAG_SUFFIX, "cosign"),
        (ATTESTATION_TAG_SUFFIX, "cosign-attestation"),
        (SBOM_TAG_SUFFIX, "cosign-sbom"),
    ] {
        let tag = format!("{base}{suffix}");
        if !tags.contains(&tag) {
            continue;
        }
        let Some(stored) = tagged_manifest(storage, repository, &tag).await? else {
            continue;
        };
        let document = (kind == "cosign-sbom")
            .then(|| first_layer(&stored))
            .flatten();
        let attachment = Attachment {
            kind,
            manifest: stored.digest,
            tag: Some(tag),
            document,
        };
        if kind == "cosign-sbom" {
            sboms.push(attachment);
        } else {
            signatures.push(attachment);
        }
    }
    for referrer in storage.referrers(repository, digest).await? {
        let Some(kind) = referrer_kind(&referrer) else {
            continue;
        };
        let document = storage
            .get_manifest(repository, &Reference::Digest(referrer.digest.clone()))
            .await?
            .and_then(|stored| first_layer(&stored));
        let attachment = Attachment {
            kind,
            manifest: referrer.digest,
            tag: None,
            document,
        };
        if kind == "sigstore-bundle" {
            signatures.push(attachment);
        } else {
            sboms.push(attachment);
        }
    }
    Ok((signatures, sboms))
}

/// What a referrer is, by its artifact type: `sigstore-bundle`, `spdx`, `cyclonedx`; `None` for anything else.
fn referrer_kind(referrer: &Descriptor) -> Option<&'static str> {
    match referrer.artifact_type.as_deref()? {
        t if t.starts_with(SIGSTORE_BUNDLE_PREFIX) => Some("sigstore-bundle"),
        SPDX_JSON => Some("spdx"),
        CYCLONEDX_JSON => Some("cyclonedx"),
        _ => None,
    }
}

fn first_layer(stored: &StoredManifest) -> Option<Digest> {
    module::image_manifest(stored)?
        .layers
        .into_iter()
        .next()
        .map(|layer| layer.digest)
}

/// Compares tags as people read versions: runs of digits by value (`v2` < `v10`), the rest as text.
pub fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (left, right) = (chunks(a), chunks(b));
    for ((a_digits, a), (b_digits, b)) in left.iter().zip(&right) {
        let order = if *a_digits && *b_digits {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        } else {
            a.cmp(b)
        };
        if order.is_ne() {
            return order;
        }
    }
    left.len().cmp(&right.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_sort_as_versions() {
        let mut tags = vec!["v10.0.0", "v2.0.0", "latest", "v2.0.10", "v2.0.9", "1", ""];
        tags.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            tags,
            ["", "1", "latest", "v2.0.0", "v2.0.9", "v2.0.10", "v10.0.0"]
        );
    }

    #[test]
    fn an_unfinished_rebuild_puts_its_changes_back() {
        let index = Index::default();
        *index.lock_pending() = Pending::none();
        index.touch("a");
        let taken = Taken {
            index: &index,
            pending: Some(std::mem::replace(
                &mut *index.lock_pending(),
                Pending::none(),
            )),
        };
        index.touch("b");
        drop(taken);
        let Pending::Repositories(names) = &*index.lock_pending() else {
            panic!("only repositories were touched")
        };
        assert_eq!(names.iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn pending_changes_merge() {
        let mut pending = Pending::none();
        assert!(pending.is_none());
        pending.merge(Pending::Repositories(BTreeSet::from(["a".to_string()])));
        assert!(!pending.is_none());
        pending.merge(Pending::Everything);
        pending.merge(Pending::Repositories(BTreeSet::from(["b".to_string()])));
        assert!(matches!(pending, Pending::Everything));
    }
}
