-- The folder storage's SQLite file. Blobs, manifests and tags stay plain files; this holds what those files cannot
-- say cheaply: how often each repository changed, and the hub's catalog with its full-text index.

-- `version` counts the changes to a repository's tags and manifests, by any process writing the folder.
CREATE TABLE repositories (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
);

-- The hub's entry for each repository, as of `version`; `content` is NULL when the repository holds no policy.
-- `kinds` lists the resources its rules name between spaces (` pods * `).
CREATE TABLE hub_catalog (
    repository  TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    content     BLOB,
    mutating    INTEGER,
    mode        TEXT,
    kinds       TEXT NOT NULL DEFAULT '',
    signed      INTEGER NOT NULL DEFAULT 0
);

-- The words each entry is found by, one row per `hub_catalog` row (same rowid), weighted at query time from the
-- name and title (strongest) to the usage text (weakest).
CREATE VIRTUAL TABLE hub_search USING fts5 (
    name, keywords, description, usage,
    tokenize = 'unicode61 remove_diacritics 0'
);
