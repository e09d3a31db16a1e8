-- Harvesting (hamlet harvest): why a document has no text, and where each harvest of an
-- OAI-PMH repository stopped, so the next one asks only for what changed since.

ALTER TABLE documents ADD COLUMN unextractable_reason TEXT;

CREATE TABLE harvests (
    -- The base URL, set and metadata format, as "URL set=SPEC format=PREFIX".
    source          TEXT    PRIMARY KEY,
    -- The repository's responseDate when the last complete harvest began: the next one's from.
    harvested_until TEXT    NOT NULL,
    records         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    finished_at     TEXT    NOT NULL
);
