//! Where each thing lives under the storage root.
//!
//! ```text
//! ROOT/blobs/<alg>/<hex>                                content, shared by all repositories
//! ROOT/repos/<name>/_blobs/<alg>/<hex>                  empty: the repository holds this blob
//! ROOT/repos/<name>/_manifests/<alg>/<hex>              the manifest's media type: the repository holds it
//! ROOT/repos/<name>/_tags/<tag>                         the digest the tag points at
//! ROOT/repos/<name>/_pending/<tag>                      the digest the tag waits to point at, once trusted
//! ROOT/repos/<name>/_referrers/<alg>/<hex>/<alg>-<hex>  descriptor (JSON) of a manifest whose subject is <alg>/<hex>
//! ROOT/uploads/<id>/data, ROOT/uploads/<id>/repo        an upload session's bytes so far, and its repository
//! ROOT/tmp/                                             files being written, renamed into place when complete
//! ROOT/derived/hub/…                                    what the hub derived from content (policy descriptions)
//! ROOT/catalog.sqlite3                                  repository versions and the hub's catalog (SQLite, FTS5)
//! ```
//!
//! Repository names cannot contain `_` at the start of a component, so `_blobs` and friends never clash with a
//! nested repository.

use std::path::{Path, PathBuf};

use artifact::oci::Digest;

use crate::names::{RepoName, Tag};

/// The paths of one storage root.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    /// The content of a blob or manifest.
    pub fn blob(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// The folder holding every repository.
    pub fn repos(&self) -> PathBuf {
        self.root.join("repos")
    }

    /// A repository's folder.
    pub fn repo(&self, repo: &RepoName) -> PathBuf {
        self.repos().join(repo.as_str())
    }

    /// The link saying `repo` holds blob `digest`.
    pub fn blob_link(&self, repo: &RepoName, digest: &Digest) -> PathBuf {
        digest_path(&self.repo(repo).join("_blobs"), digest)
    }

    /// The link saying `repo` holds manifest `digest`.
    pub fn manifest_link(&self, repo: &RepoName, digest: &Digest) -> PathBuf {
        digest_path(&self.repo(repo).join("_manifests"), digest)
    }

    /// The folder of a repository's tags.
    pub fn tags(&self, repo: &RepoName) -> PathBuf {
        self.repo(repo).join("_tags")
    }

    /// A tag file.
    pub fn tag(&self, repo: &RepoName, tag: &Tag) -> PathBuf {
        self.tags(repo).join(tag.as_str())
    }

    /// The folder of the tags waiting for a trusted signature before they are published.
    pub fn pending_tags(&self, repo: &RepoName) -> PathBuf {
        self.repo(repo).join("_pending")
    }

    /// A pending tag's file: the digest it waits to name.
    pub fn pending_tag(&self, repo: &RepoName, tag: &Tag) -> PathBuf {
        self.pending_tags(repo).join(tag.as_str())
    }

    /// The folder of the referrers of `subject`.
    pub fn referrers(&self, repo: &RepoName, subject: &Digest) -> PathBuf {
        digest_path(&self.repo(repo).join("_referrers"), subject)
    }

    /// The entry recording that `referrer` refers to `subject`.
    pub fn referrer(&self, repo: &RepoName, subject: &Digest, referrer: &Digest) -> PathBuf {
        self.referrers(repo, subject)
            .join(format!("{}-{}", referrer.algorithm(), referrer.hex()))
    }

    /// The folder of all upload sessions.
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// An upload session's folder.
    pub fn upload(&self, id: &str) -> PathBuf {
        self.uploads().join(id)
    }

    /// Data derived from content, by key (see [`crate::storage::backend::Storage::derived`]).
    pub fn derived(&self, key: &str) -> PathBuf {
        self.root.join("derived").join(key)
    }

    /// The SQLite file of repository versions and the hub's catalog.
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog.sqlite3")
    }

    /// The staging folder.
    pub fn staging(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn digest_path(base: &Path, digest: &Digest) -> PathBuf {
    base.join(digest.algorithm().name()).join(digest.hex())
}
