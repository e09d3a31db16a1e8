-- The collection: documents (theses, RFCs, ...), the people who wrote or advised them, their
-- departments, their full text and the works they cite. Mirrors the original Hamlet's data
-- model (../shared/HAMLET.md, "Data model"); `identifier` is the collection's own integer id
-- (the DSpace handle suffix, the RFC number) and is the primary key everywhere.
-- Integers are INTEGER here and BIGINT in Postgres so both decode as i64 through sqlx's Any
-- driver; flags are 0/1 integers for the same reason.

CREATE TABLE documents (
    identifier    INTEGER PRIMARY KEY,
    title         TEXT    NOT NULL,
    year          INTEGER,
    degree        TEXT,
    url           TEXT,
    unextractable INTEGER NOT NULL DEFAULT 0 CHECK (unextractable IN (0, 1)),
    word_count    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX documents_title ON documents (title COLLATE NOCASE);

CREATE TABLE document_texts (
    document_identifier INTEGER PRIMARY KEY REFERENCES documents (identifier) ON DELETE CASCADE,
    body                TEXT    NOT NULL
);

CREATE TABLE people (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
);

CREATE TABLE contributions (
    document_identifier INTEGER NOT NULL REFERENCES documents (identifier) ON DELETE CASCADE,
    person_id           INTEGER NOT NULL REFERENCES people (id),
    role                TEXT    NOT NULL CHECK (role IN ('author', 'advisor')),
    position            INTEGER NOT NULL,
    PRIMARY KEY (document_identifier, role, position)
);
CREATE INDEX contributions_person ON contributions (person_id);

CREATE TABLE departments (
    id     INTEGER PRIMARY KEY,
    name   TEXT    NOT NULL UNIQUE,
    course TEXT
);

CREATE TABLE document_departments (
    document_identifier INTEGER NOT NULL REFERENCES documents (identifier) ON DELETE CASCADE,
    department_id       INTEGER NOT NULL REFERENCES departments (id),
    PRIMARY KEY (document_identifier, department_id)
);
CREATE INDEX document_departments_department ON document_departments (department_id);

-- One row per entry of a document's reference list. `cited_identifier` is what the entry names
-- in the collection's identifier space (for RFCs: "RFC 9001" -> 9001), whether or not that
-- document is in the collection; `target_identifier` is set only when it is.
CREATE TABLE citations (
    document_identifier INTEGER NOT NULL REFERENCES documents (identifier) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    raw_ref             TEXT    NOT NULL,
    doi                 TEXT,
    journal             TEXT,
    url                 TEXT,
    author              TEXT,
    title               TEXT,
    isbn                TEXT,
    publisher           TEXT,
    year                INTEGER,
    cited_identifier    INTEGER,
    target_identifier   INTEGER REFERENCES documents (identifier) ON DELETE SET NULL,
    PRIMARY KEY (document_identifier, position)
);
CREATE INDEX citations_target ON citations (target_identifier);
