-- Agents and their version history. Every save adds a version; nothing a
-- user wrote is overwritten.
CREATE TABLE agents (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    head_version INTEGER NOT NULL,
    -- Where the agent came from, e.g. `sample:lena` or `import:ccv3-png`.
    origin       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- Set while the agent is in the trash; cleared by undelete.
    deleted_at   INTEGER
);

CREATE TABLE agent_versions (
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    -- The agent as Character Card V3 JSON, assets as `embeded://` URIs.
    card_json  TEXT NOT NULL,
    -- Why this version exists: `import`, `edit`, `restore 3`, …
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, version)
);

CREATE INDEX agents_by_name ON agents (name);
