//! The store: one SQLite file (WAL) holding agents, their files and their
//! full version history, through sqlx with the embedded `migrations/`.
//!
//! Architecture invariants:
//! - A version, once written, is never changed; saving or restoring adds one.
//! - Every multi-row write (an import, a save, a restore) is one transaction,
//!   so a crash leaves either the whole change or none of it.
//! - Cards read back from the database are validated like any import.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, Transaction};

use crate::agent::{Agent, CardError, parse_card_json, spec_from_v3};

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("could not bring the database up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not create the data folder {0}: {1}")]
    Folder(String, std::io::Error),
    #[error("no agent matches `{0}`; `familiar agent list` shows them")]
    NotFound(String),
    #[error("`{0}` matches several agents ({1}); use more of the id")]
    Ambiguous(String, String),
    #[error("agent {id} has no version {version}; `familiar agent history {id}` lists them")]
    NoSuchVersion { id: String, version: i64 },
    #[error("agent {id} is in the trash; undelete it first")]
    Deleted { id: String },
    #[error("stored card of agent {id} is unreadable: {source}")]
    Corrupt { id: String, source: CardError },
}

/// One line of the agent list.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSummary {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub origin: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// One entry of an agent's history.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    pub version: i64,
    pub name: String,
    pub reason: String,
    pub created_at: i64,
}

/// Handle to the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Folder(dir.display().to_string(), e))?;
        }
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options(path)).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool })
    }

    /// The underlying pool, for modules that keep their own tables.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Stores a new agent as version 1, in one transaction. Returns its id.
    pub async fn insert_agent(&self, agent: &Agent, origin: Option<&str>, now: i64) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO agents (id, name, head_version, origin, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?)",
        )
        .bind(&id)
        .bind(agent.name())
        .bind(origin)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        write_version(&mut tx, &id, 1, agent, "import", now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves a new version of an agent; the previous one stays in history.
    /// Saving an unchanged agent adds nothing and returns the head version.
    pub async fn save_agent(&self, id: &str, agent: &Agent, reason: &str, now: i64) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let head = head_version(&mut tx, id).await?;
        if load_version(&mut tx, id, head).await? == *agent {
            return Ok(head);
        }
        let version = head + 1;
        write_version(&mut tx, id, version, agent, reason, now).await?;
        sqlx::query("UPDATE agents SET head_version = ?, name = ?, updated_at = ? WHERE id = ?")
            .bind(version)
            .bind(agent.name())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Makes an old version current again by saving a copy of it as a new
    /// version, so the restore itself can be undone.
    pub async fn restore(&self, id: &str, version: i64, now: i64) -> Result<i64, StoreError> {
        let old = {
            let mut conn = self.pool.acquire().await?;
            load_version(&mut conn, id, version).await?
        };
        self.save_agent(id, &old, &format!("restore {version}"), now).await
    }

    pub async fn list_agents(&self, include_deleted: bool) -> Result<Vec<AgentSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, head_version, origin, created_at, updated_at, deleted_at FROM agents
             WHERE ? OR deleted_at IS NULL ORDER BY name COLLATE NOCASE, created_at",
        )
        .bind(include_deleted)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    pub async fn summary(&self, id: &str) -> Result<AgentSummary, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, head_version, origin, created_at, updated_at, deleted_at FROM agents WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        summary(&row)
    }

    /// The current version of an agent.
    pub async fn agent(&self, id: &str) -> Result<Agent, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let head = head_version(&mut conn, id).await?;
        load_version(&mut conn, id, head).await
    }

    /// Any version of an agent.
    pub async fn agent_version(&self, id: &str, version: i64) -> Result<Agent, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_version(&mut conn, id, version).await
    }

    /// Every version, newest first.
    pub async fn history(&self, id: &str) -> Result<Vec<VersionInfo>, StoreError> {
        self.summary(id).await?;
        let rows = sqlx::query(
            "SELECT version, card_json, reason, created_at FROM agent_versions WHERE agent_id = ? ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let card: String = row.try_get("card_json")?;
                let name = serde_json::from_str::<serde_json::Value>(&card)
                    .ok()
                    .and_then(|v| v.pointer("/data/name").and_then(|n| n.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                Ok(VersionInfo {
                    version: row.try_get("version")?,
                    name,
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Moves an agent to the trash; [`Store::undelete`] brings it back.
    pub async fn delete(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.summary(id).await?;
        sqlx::query("UPDATE agents SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn undelete(&self, id: &str) -> Result<(), StoreError> {
        self.summary(id).await?;
        sqlx::query("UPDATE agents SET deleted_at = NULL WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Removes an agent, its history and the files no other agent uses. Final.
    pub async fn purge(&self, id: &str) -> Result<(), StoreError> {
        self.summary(id).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM agent_files WHERE agent_id = ?").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM agent_versions WHERE agent_id = ?").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM agents WHERE id = ?").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM agent_files)").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds an agent by id, unique id prefix, or exact name (any case).
    /// Agents in the trash are found only by their full id.
    pub async fn resolve(&self, query: &str) -> Result<String, StoreError> {
        let query = query.trim();
        let exact = sqlx::query("SELECT id FROM agents WHERE id = ?").bind(query).fetch_optional(&self.pool).await?;
        if let Some(row) = exact {
            return Ok(row.try_get("id")?);
        }
        let rows = sqlx::query(
            "SELECT id, name FROM agents WHERE deleted_at IS NULL AND (id LIKE ? || '%' ESCAPE '\\' OR name = ? COLLATE NOCASE)
             ORDER BY created_at",
        )
        .bind(query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
        .bind(query)
        .fetch_all(&self.pool)
        .await?;
        match rows.as_slice() {
            [] => Err(StoreError::NotFound(query.to_owned())),
            [one] => Ok(one.try_get("id")?),
            many => {
                let ids: Vec<String> = many.iter().filter_map(|r| r.try_get::<String, _>("id").ok()).collect();
                Err(StoreError::Ambiguous(query.to_owned(), ids.join(", ")))
            }
        }
    }

    /// Whether any agent (even one in the trash) came from `origin`.
    pub async fn has_origin(&self, origin: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM agents WHERE origin = ? LIMIT 1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

fn summary(row: &sqlx::sqlite::SqliteRow) -> Result<AgentSummary, StoreError> {
    Ok(AgentSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        version: row.try_get("head_version")?,
        origin: row.try_get("origin")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

async fn head_version(conn: &mut sqlx::SqliteConnection, id: &str) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT head_version FROM agents WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
    Ok(row.try_get("head_version")?)
}

async fn load_version(conn: &mut sqlx::SqliteConnection, id: &str, version: i64) -> Result<Agent, StoreError> {
    let row = sqlx::query("SELECT card_json FROM agent_versions WHERE agent_id = ? AND version = ?")
        .bind(id)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        head_version(conn, id).await?;
        return Err(StoreError::NoSuchVersion { id: id.to_owned(), version });
    };
    let card: String = row.try_get("card_json")?;
    let files = sqlx::query(
        "SELECT f.path, b.data FROM agent_files f JOIN blobs b ON b.sha256 = f.sha256
         WHERE f.agent_id = ? AND f.version = ?",
    )
    .bind(id)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<String, _>("path")?, r.try_get::<Vec<u8>, _>("data")?)))
    .collect::<Result<BTreeMap<_, _>, sqlx::Error>>()?;
    let corrupt = |source| StoreError::Corrupt { id: id.to_owned(), source };
    let spec = parse_card_json(card.as_bytes()).and_then(|v| spec_from_v3(&v)).map_err(corrupt)?;
    Agent::new(spec, files).map_err(corrupt)
}

async fn write_version(
    tx: &mut Transaction<'_, Sqlite>,
    id: &str,
    version: i64,
    agent: &Agent,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    let card = serde_json::to_string(&agent.card_json()).unwrap_or_default();
    sqlx::query("INSERT INTO agent_versions (agent_id, version, card_json, reason, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(version)
        .bind(card)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    for (path, data) in agent.files() {
        let sha = hex::encode(Sha256::digest(data));
        sqlx::query("INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)")
            .bind(&sha)
            .bind(data.len() as i64)
            .bind(data.as_slice())
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO agent_files (agent_id, version, path, sha256) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(version)
            .bind(path)
            .bind(&sha)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
