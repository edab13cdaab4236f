-- Conversations with an agent. Messages form a tree (regenerate, edit and
-- branch add siblings); a conversation's thread is the path from the root to
-- its head. Nothing is overwritten: deleting a message only hides it.
CREATE TABLE conversations (
    id         TEXT PRIMARY KEY NOT NULL,
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    head_id    TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    parent_id       TEXT REFERENCES messages (id),
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    -- For replies: which model answered, with which sampling, how fast (JSON).
    model           TEXT,
    sampling        TEXT,
    timings         TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);

CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);
CREATE INDEX conversations_by_agent ON conversations (agent_id, updated_at);

-- Models installed in the models folder.
CREATE TABLE models (
    id         TEXT PRIMARY KEY NOT NULL,
    file       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    arch       TEXT NOT NULL,
    source     TEXT NOT NULL,
    added_at   INTEGER NOT NULL
);
