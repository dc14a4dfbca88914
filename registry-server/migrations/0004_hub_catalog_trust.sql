-- The hub's verdicts depend on the registry's trust policy: an entry records the policy's fingerprint it was made
-- under (and is made again under another), and whether its policy's signatures satisfy its prefix's rule (NULL
-- outside every trust prefix).
ALTER TABLE hub_catalog ADD COLUMN trust TEXT NOT NULL DEFAULT '';
ALTER TABLE hub_catalog ADD COLUMN verified BOOLEAN;
