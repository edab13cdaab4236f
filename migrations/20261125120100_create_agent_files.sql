-- Files that agents embed (avatars, other assets), stored once by content
-- and listed per agent version, so history keeps every file it needs.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL
);

CREATE TABLE agent_files (
    agent_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    path     TEXT NOT NULL,
    sha256   TEXT NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (agent_id, version, path),
    FOREIGN KEY (agent_id, version) REFERENCES agent_versions (agent_id, version) ON DELETE CASCADE
);
