//! Garbage collection: removes manifests and blobs that no tag reaches (directly, through an index, or as a
//! referrer of something reached), keeping anything written or used within a grace period so that it is safe to
//! run while clients push.
//!
//! Each repository is marked from its tags and from its fresh manifests; then its unreached manifests and blob
//! links are removed; then content under `blobs/` that no repository still reaches is removed. Every removal
//! re-checks the file's age just before unlinking it.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use artifact::oci::{Algorithm, Digest};

use super::folder::LocalStorage;
use super::listing;
use super::manifests;
use super::pending;
use crate::errors::Result;
use crate::manifest;
use crate::names::{Reference, RepoName};
use crate::storage::collection::{GcOptions, GcReport};

/// Runs a collection over every repository and the blob store.
pub async fn collect(storage: &LocalStorage, options: &GcOptions) -> Result<GcReport> {
    let mut report = GcReport::default();
    let mut live = HashSet::new();
    for name in listing::repositories(&storage.layout, &storage.fs).await? {
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        collect_repo(storage, &repo, options, &mut live, &mut report).await?;
    }
    for algorithm in Algorithm::ALL {
        let dir = storage.layout.root().join("blobs").join(algorithm.name());
        for digest in digests_in(storage, &dir, algorithm).await? {
            let path = storage.layout.blob(&digest);
            if live.contains(&digest) || is_fresh(&path, options.grace).await {
                continue;
            }
            let size = tokio::fs::metadata(&path)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            if options.dry_run || storage.fs.remove_file(&path).await? {
                report.blobs += 1;
                report.bytes += size;
            }
        }
    }
    Ok(report)
}

async fn collect_repo(
    storage: &LocalStorage,
    repo: &RepoName,
    options: &GcOptions,
    live: &mut HashSet<Digest>,
    report: &mut GcReport,
) -> Result<()> {
    let manifests_dir = storage.layout.repo(repo).join("_manifests");
    let blobs_dir = storage.layout.repo(repo).join("_blobs");
    let mut held_manifests = Vec::new();
    let mut held_blobs = Vec::new();
    for algorithm in Algorithm::ALL {
        held_manifests
            .extend(digests_in(storage, &manifests_dir.join(algorithm.name()), algorithm).await?);
        held_blobs.extend(digests_in(storage, &blobs_dir.join(algorithm.name()), algorithm).await?);
    }

    let mut roots = Vec::new();
    for tag in storage.fs.list_dir(&storage.layout.tags(repo)).await? {
        let path = storage.layout.tags(repo).join(tag);
        if let Some(digest) = storage
            .fs
            .read_optional(&path)
            .await?
            .and_then(|b| parse_digest(&b))
        {
            roots.push(digest);
        }
    }
    roots.extend(
        pending::list(storage, repo)
            .await?
            .into_iter()
            .map(|(_, digest)| digest),
    );
    for digest in &held_manifests {
        if is_fresh(&storage.layout.manifest_link(repo, digest), options.grace).await {
            roots.push(digest.clone());
        }
    }
    let (reached_manifests, reached_blobs) = mark(storage, repo, roots).await?;

    for digest in held_manifests {
        let link = storage.layout.manifest_link(repo, &digest);
        if reached_manifests.contains(&digest) || is_fresh(&link, options.grace).await {
            live.insert(digest);
        } else if options.dry_run
            || manifests::delete(storage, repo, &Reference::Digest(digest)).await?
        {
            report.manifests += 1;
        }
    }
    for digest in held_blobs {
        let link = storage.layout.blob_link(repo, &digest);
        if reached_blobs.contains(&digest) || is_fresh(&link, options.grace).await {
            live.insert(digest);
        } else if options.dry_run || storage.fs.remove_file(&link).await? {
            report.blob_links += 1;
        }
    }
    Ok(())
}

/// The manifests and blobs reached from `roots`: index entries, config and layers, and referrers.
async fn mark(
    storage: &LocalStorage,
    repo: &RepoName,
    roots: Vec<Digest>,
) -> Result<(HashSet<Digest>, HashSet<Digest>)> {
    let mut manifests_seen = HashSet::new();
    let mut blobs_seen = HashSet::new();
    let mut queue: VecDeque<Digest> = roots.into();
    while let Some(digest) = queue.pop_front() {
        if !manifests_seen.insert(digest.clone()) {
            continue;
        }
        let Some(stored) =
            manifests::get(storage, repo, &Reference::Digest(digest.clone())).await?
        else {
            continue;
        };
        if let Ok(checked) = manifest::check(Some(&stored.media_type), &stored.bytes) {
            queue.extend(checked.manifests);
            blobs_seen.extend(checked.blobs);
        }
        for name in storage
            .fs
            .list_dir(&storage.layout.referrers(repo, &digest))
            .await?
        {
            if let Some(referrer) = name.split_once('-').and_then(|(alg, hex)| {
                Algorithm::from_name(alg).and_then(|alg| Digest::new(alg, hex).ok())
            }) {
                queue.push_back(referrer);
            }
        }
    }
    Ok((manifests_seen, blobs_seen))
}

fn parse_digest(bytes: &[u8]) -> Option<Digest> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The digests named by the files of `dir` (`<dir>/<hex>`), skipping anything else.
async fn digests_in(
    storage: &LocalStorage,
    dir: &Path,
    algorithm: Algorithm,
) -> Result<Vec<Digest>> {
    Ok(storage
        .fs
        .list_dir(dir)
        .await?
        .into_iter()
        .filter_map(|hex| Digest::new(algorithm, hex).ok())
        .collect())
}

/// Whether `path` was modified within `grace` (a file that cannot be read counts as fresh: keep it).
async fn is_fresh(path: &PathBuf, grace: Duration) -> bool {
    match tokio::fs::metadata(path).await.and_then(|m| m.modified()) {
        Ok(modified) => {
            SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default()
                < grace
        }
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}
