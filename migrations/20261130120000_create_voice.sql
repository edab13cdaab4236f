-- Voice: a profile waiting for its consent read-out, and the stages of spoken turns.

-- A reference recording that passed its checks, and the sentence the creator
-- must read to consent. One per agent: a new import replaces it. The profile
-- itself lives in the agent (assets + `familiar/voice`), so it travels with it.
CREATE TABLE voice_profile_drafts (
    agent_id    TEXT PRIMARY KEY NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    -- The reference as a mono 16-bit WAV.
    reference   BLOB NOT NULL,
    -- The reference's fingerprint and checks (JSON).
    fingerprint TEXT NOT NULL,
    report      TEXT NOT NULL,
    sentence    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- How long each stage of a spoken turn took (JSON), kept beside the reply.
CREATE TABLE voice_turns (
    message_id      TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- `default` (Piper) or `cloned`, and why the default spoke when a profile exists.
    voice           TEXT NOT NULL,
    voice_note      TEXT,
    stages          TEXT NOT NULL,
    interrupted     INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE INDEX voice_turns_by_conversation ON voice_turns (conversation_id, created_at);
