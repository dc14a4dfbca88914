-- The hub's catalog, shared by every replica: one row per repository, as of the repository's `version` it describes.
-- `content` is the hub's description of the repository's policies (NULL when it holds none), `document` the words it
-- is found by, weighted from A (name and title) to D (usage text), and the rest what searches filter on.
CREATE TABLE hub_catalog (
    repository  TEXT PRIMARY KEY REFERENCES repositories (name) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    content     BYTEA,
    document    TSVECTOR NOT NULL,
    mutating    BOOLEAN,
    mode        TEXT,
    kinds       TEXT[] NOT NULL,
    signed      BOOLEAN NOT NULL
);
CREATE INDEX hub_catalog_document ON hub_catalog USING GIN (document);

-- Replicas find what changed by comparing versions with the catalog's; the time of the last change is not needed.
DROP INDEX repositories_changed_at;
ALTER TABLE repositories DROP COLUMN changed_at;
