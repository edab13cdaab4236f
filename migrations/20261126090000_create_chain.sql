-- The chain: settings (network, gateways), the packages this studio publishes
-- by CID, mints recorded before they are sent, the contract's events as read
-- (the marketplace is computed from them), and where imported agents came from.
CREATE TABLE chain_settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE published_packages (
    cid        TEXT PRIMARY KEY NOT NULL,
    sha256     TEXT NOT NULL,
    agent_id   TEXT,
    size       INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- status: sent (signed, recorded, maybe on the wire) | minted
CREATE TABLE mint_intents (
    chain_id     INTEGER NOT NULL,
    contract     TEXT NOT NULL,
    token        TEXT NOT NULL,
    creator      TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    cid          TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    raw_tx       BLOB NOT NULL,
    status       TEXT NOT NULL,
    error        TEXT,
    block_number INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (chain_id, contract, token)
);

CREATE TABLE chain_events (
    chain_id     INTEGER NOT NULL,
    contract     TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    event        TEXT NOT NULL,
    PRIMARY KEY (chain_id, contract, block_number, log_index)
);

CREATE TABLE chain_sync (
    chain_id   INTEGER NOT NULL,
    contract   TEXT NOT NULL,
    last_block INTEGER NOT NULL,
    last_hash  TEXT NOT NULL,
    PRIMARY KEY (chain_id, contract)
);

-- A token's agent data, read once (it never changes after the mint).
CREATE TABLE chain_tokens (
    chain_id          INTEGER NOT NULL,
    contract          TEXT NOT NULL,
    token             TEXT NOT NULL,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    model             TEXT NOT NULL,
    prompts_encrypted INTEGER NOT NULL,
    token_uri         TEXT NOT NULL,
    PRIMARY KEY (chain_id, contract, token)
);

CREATE TABLE agent_provenance (
    agent_id     TEXT PRIMARY KEY NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    chain_id     INTEGER NOT NULL,
    contract     TEXT NOT NULL,
    token        TEXT NOT NULL,
    creator      TEXT NOT NULL,
    owner        TEXT NOT NULL,
    cid          TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);
