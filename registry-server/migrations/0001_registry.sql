-- The replicated registry's metadata. Blob bytes live in object storage (`blobs/<algorithm>/<hex>`); a row in
-- `blobs` exists only while that object holds verified bytes. Manifests are small and live here, whole.

CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- `version` counts the changes to a repository's tags and manifests, `changed_at` dates the last: each replica's hub
-- catches up with the repositories changed since it last looked.
CREATE TABLE repositories (
    name        TEXT PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    version     BIGINT NOT NULL DEFAULT 0,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX repositories_changed_at ON repositories (changed_at);

-- The blobs a repository holds (pushed or mounted), with when each was last pushed, mounted or checked: garbage
-- collection keeps what was used within its grace period.
CREATE TABLE repository_blobs (
    repository  TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest      TEXT NOT NULL REFERENCES blobs (digest),
    used_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository  TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    content     BYTEA NOT NULL,
    -- The manifest this one refers to (OCI 1.1 `subject`), and its descriptor as the referrers API lists it.
    subject     TEXT,
    descriptor  BYTEA,
    used_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, digest)
);
CREATE INDEX manifests_subject ON manifests (repository, subject) WHERE subject IS NOT NULL;

-- What a manifest names: the blobs it needs (which the repository must keep while the manifest exists) and the
-- manifests an index lists. Garbage collection follows these edges.
CREATE TABLE manifest_blobs (
    repository  TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    digest      TEXT NOT NULL,
    PRIMARY KEY (repository, manifest, digest),
    FOREIGN KEY (repository, manifest) REFERENCES manifests (repository, digest) ON DELETE CASCADE,
    FOREIGN KEY (repository, digest) REFERENCES repository_blobs (repository, digest)
);
CREATE INDEX manifest_blobs_digest ON manifest_blobs (repository, digest);

CREATE TABLE manifest_children (
    repository  TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    child       TEXT NOT NULL,
    PRIMARY KEY (repository, manifest, child),
    FOREIGN KEY (repository, manifest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);

CREATE TABLE tags (
    repository  TEXT NOT NULL,
    name        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, name),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);

-- Upload sessions: any replica may take the next chunk. `hash_state` is the running hash after `size` bytes, so a
-- chunk is hashed once, wherever it lands; each chunk is its own object under `uploads/<id>/`.
CREATE TABLE uploads (
    id          UUID PRIMARY KEY,
    repository  TEXT NOT NULL,
    size        BIGINT NOT NULL DEFAULT 0,
    hash_state  BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE upload_chunks (
    upload      UUID NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    start       BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    object      TEXT NOT NULL,
    PRIMARY KEY (upload, start)
);

-- Data derived from content (the hub's description of a policy), computed once by whichever replica needs it first.
CREATE TABLE derived (
    key         TEXT PRIMARY KEY,
    content     BYTEA NOT NULL
);
