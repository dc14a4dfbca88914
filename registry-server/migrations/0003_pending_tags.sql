-- Tags that wait for a trusted signature (a `trust:` prefix in `enforce` mode): the manifest is stored, the tag in
-- `tags` is untouched (absent, or on the last verified digest) until the wait ends and the tag moves, in one
-- transaction. A pending tag keeps its manifest from garbage collection.
CREATE TABLE pending_tags (
    repository  TEXT NOT NULL,
    name        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    pushed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
