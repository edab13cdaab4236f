-- Knowledge bases: documents cut into chunks, each chunk with its embedding
-- (little-endian f32) and a full-text index (FTS5, BM25). A document's chunks
-- are replaced in one transaction, so a crash leaves either the old or the
-- new set, never half of one.
CREATE TABLE knowledge_bases (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    -- The embedding model (an id in the models folder) and its vector length.
    embedding_model TEXT NOT NULL,
    dim             INTEGER NOT NULL,
    chunk_tokens    INTEGER NOT NULL,
    overlap_tokens  INTEGER NOT NULL,
    -- Bumped by every change to its chunks; keys the in-memory vector index.
    generation      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE kb_documents (
    id          INTEGER PRIMARY KEY,
    kb_id       INTEGER NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    -- Where it was read from (absolute), and its display name.
    path        TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (kb_id, path)
);

CREATE TABLE kb_chunks (
    id          INTEGER PRIMARY KEY,
    kb_id       INTEGER NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    -- Position in the document (0-based), and where it sits: page or section.
    ord         INTEGER NOT NULL,
    page        INTEGER,
    section     TEXT,
    text        TEXT NOT NULL,
    tokens      INTEGER NOT NULL,
    embedding   BLOB NOT NULL,
    UNIQUE (document_id, ord)
);

CREATE INDEX kb_chunks_by_kb ON kb_chunks (kb_id);

CREATE VIRTUAL TABLE kb_chunks_fts USING fts5 (
    text, section, content = 'kb_chunks', content_rowid = 'id', tokenize = 'porter unicode61'
);

CREATE TRIGGER kb_chunks_fts_insert AFTER INSERT ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts (rowid, text, section) VALUES (new.id, new.text, coalesce(new.section, ''));
END;

CREATE TRIGGER kb_chunks_fts_delete AFTER DELETE ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts (kb_chunks_fts, rowid, text, section)
    VALUES ('delete', old.id, old.text, coalesce(old.section, ''));
END;

-- Which citations a reply was given (JSON array), next to its text.
ALTER TABLE messages ADD COLUMN citations TEXT;
