//! Conversations with agents: their storage as a tree of messages, and the
//! turn itself (prompt assembly → model → stored reply with its timings).
//!
//! Architecture invariant: a message is never changed. Regenerate, edit and
//! branch add siblings and move the conversation's head; delete hides.

pub mod lorebook;
pub mod prompt;

use serde::Serialize;
use sqlx::{Row, SqlitePool};

pub use prompt::{Role, Turn};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("no conversation `{0}`; `familiar chat list` shows them")]
    NoConversation(String),
    #[error("no message `{0}` in this conversation")]
    NoMessage(String),
    #[error(transparent)]
    Prompt(#[from] prompt::PromptError),
    #[error("{0}")]
    Invalid(String),
}

/// A conversation's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Conversation {
    pub id: String,
    pub agent_id: String,
    pub title: String,
    pub user_name: String,
    pub head_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChatMessage {
    pub id: String,
    pub parent_id: Option<String>,
    pub role: String,
    pub content: String,
    pub model: Option<String>,
    pub sampling: Option<serde_json::Value>,
    pub timings: Option<serde_json::Value>,
    /// The knowledge-base sources the reply was given (see `api::Citation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citations: Option<serde_json::Value>,
    pub created_at: i64,
}

impl ChatMessage {
    pub fn turn(&self) -> Turn {
        let role = if self.role == "user" { Role::User } else { Role::Assistant };
        Turn { role, content: self.content.clone() }
    }
}

/// What a reply records besides its text.
#[derive(Debug, Clone, Default)]
pub struct ReplyMeta {
    pub model: Option<String>,
    pub sampling: Option<serde_json::Value>,
    pub timings: Option<serde_json::Value>,
    pub citations: Option<serde_json::Value>,
}

fn conversation(row: &sqlx::sqlite::SqliteRow) -> Result<Conversation, sqlx::Error> {
    Ok(Conversation {
        id: row.try_get("id")?,
        agent_id: row.try_get("agent_id")?,
        title: row.try_get("title")?,
        user_name: row.try_get("user_name")?,
        head_id: row.try_get("head_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn message(row: &sqlx::sqlite::SqliteRow) -> Result<ChatMessage, sqlx::Error> {
    let json = |key: &str| -> Result<Option<serde_json::Value>, sqlx::Error> {
        let text: Option<String> = row.try_get(key)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    };
    Ok(ChatMessage {
        id: row.try_get("id")?,
        parent_id: row.try_get("parent_id")?,
        role: row.try_get("role")?,
        content: row.try_get("content")?,
        model: row.try_get("model")?,
        sampling: json("sampling")?,
        timings: json("timings")?,
        citations: json("citations")?.filter(|c| c.as_array().is_some_and(|a| !a.is_empty())),
        created_at: row.try_get("created_at")?,
    })
}

/// Conversation storage over the store's pool.
pub struct Conversations<'a> {
    pub pool: &'a SqlitePool,
}

impl Conversations<'_> {
    /// Starts a conversation; the greeting (if any) is its first message.
    pub async fn create(
        &self,
        agent_id: &str,
        title: &str,
        user_name: &str,
        greeting: Option<&str>,
        now: i64,
    ) -> Result<Conversation, ChatError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO conversations (id, agent_id, title, user_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(agent_id)
        .bind(title)
        .bind(user_name)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(text) = greeting.filter(|g| !g.trim().is_empty()) {
            let mid = uuid::Uuid::new_v4().to_string();
            sqlx::query("INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at) VALUES (?, ?, NULL, 'assistant', ?, ?)")
                .bind(&mid)
                .bind(&id)
                .bind(text)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE conversations SET head_id = ? WHERE id = ?")
                .bind(&mid)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get(&id).await
    }

    pub async fn get(&self, id: &str) -> Result<Conversation, ChatError> {
        let row =
            sqlx::query("SELECT * FROM conversations WHERE id = ? OR (length(?) >= 6 AND id LIKE ? || '%') LIMIT 2")
                .bind(id)
                .bind(id)
                .bind(id)
                .fetch_all(self.pool)
                .await?;
        match row.as_slice() {
            [one] => Ok(conversation(one)?),
            _ => Err(ChatError::NoConversation(id.to_owned())),
        }
    }

    /// Conversations of one agent (or all), newest first.
    pub async fn list(&self, agent_id: Option<&str>) -> Result<Vec<Conversation>, ChatError> {
        let rows = sqlx::query(
            "SELECT * FROM conversations WHERE ? IS NULL OR agent_id = ? ORDER BY updated_at DESC, created_at DESC",
        )
        .bind(agent_id)
        .bind(agent_id)
        .fetch_all(self.pool)
        .await?;
        Ok(rows.iter().map(conversation).collect::<Result<_, _>>()?)
    }

    pub async fn message(&self, conversation_id: &str, id: &str) -> Result<ChatMessage, ChatError> {
        let row = sqlx::query("SELECT * FROM messages WHERE conversation_id = ? AND id = ? AND deleted_at IS NULL")
            .bind(conversation_id)
            .bind(id)
            .fetch_optional(self.pool)
            .await?
            .ok_or_else(|| ChatError::NoMessage(id.to_owned()))?;
        Ok(message(&row)?)
    }

    /// The thread: messages from the root to the head, oldest first.
    pub async fn thread(&self, conversation: &Conversation) -> Result<Vec<ChatMessage>, ChatError> {
        // One query: walk the parent links up from the head.
        let rows = sqlx::query(
            "WITH RECURSIVE path(id, depth) AS (
                 SELECT ?, 0
                 UNION ALL
                 SELECT m.parent_id, path.depth + 1 FROM messages m JOIN path ON m.id = path.id
                 WHERE m.parent_id IS NOT NULL
             )
             SELECT m.* FROM path JOIN messages m ON m.id = path.id
             WHERE m.conversation_id = ? AND m.deleted_at IS NULL ORDER BY path.depth DESC",
        )
        .bind(&conversation.head_id)
        .bind(&conversation.id)
        .fetch_all(self.pool)
        .await?;
        Ok(rows.iter().map(message).collect::<Result<_, _>>()?)
    }

    /// Adds a message under `parent` and makes it the head.
    pub async fn append(
        &self,
        conversation_id: &str,
        parent: Option<&str>,
        role: Role,
        content: &str,
        meta: ReplyMeta,
        now: i64,
    ) -> Result<ChatMessage, ChatError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, model, sampling, timings, citations,
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(conversation_id)
        .bind(parent)
        .bind(role.as_str())
        .bind(content)
        .bind(meta.model)
        .bind(meta.sampling.map(|v| v.to_string()))
        .bind(meta.timings.map(|v| v.to_string()))
        .bind(meta.citations.map(|v| v.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE conversations SET head_id = ?, updated_at = ? WHERE id = ?")
            .bind(&id)
            .bind(now)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.message(conversation_id, &id).await
    }

    /// Moves the head to any message (branching from there).
    pub async fn checkout(&self, conversation_id: &str, message_id: Option<&str>, now: i64) -> Result<(), ChatError> {
        if let Some(id) = message_id {
            self.message(conversation_id, id).await?;
        }
        sqlx::query("UPDATE conversations SET head_id = ?, updated_at = ? WHERE id = ?")
            .bind(message_id)
            .bind(now)
            .bind(conversation_id)
            .execute(self.pool)
            .await?;
        Ok(())
    }

    /// The most recent message at or below `message_id`: where the
    /// conversation last went on from it.
    pub async fn latest_below(&self, conversation_id: &str, message_id: &str) -> Result<String, ChatError> {
        self.message(conversation_id, message_id).await?;
        let id: String = sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS (
                 SELECT ?
                 UNION ALL
                 SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id WHERE m.deleted_at IS NULL
             )
             SELECT m.id FROM messages m JOIN sub ON m.id = sub.id
             WHERE m.conversation_id = ? ORDER BY m.created_at DESC, m.rowid DESC LIMIT 1",
        )
        .bind(message_id)
        .bind(conversation_id)
        .fetch_one(self.pool)
        .await?;
        Ok(id)
    }

    /// Hides a message and everything after it in its branch; the head moves
    /// to its parent when it was in that branch.
    pub async fn delete(&self, conversation: &Conversation, message_id: &str, now: i64) -> Result<(), ChatError> {
        let target = self.message(&conversation.id, message_id).await?;
        let thread = self.thread(conversation).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL SELECT m.id FROM messages m JOIN sub ON m.parent_id = sub.id)
             UPDATE messages SET deleted_at = ? WHERE id IN (SELECT id FROM sub) AND deleted_at IS NULL",
        )
        .bind(message_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if thread.iter().any(|m| m.id == target.id) {
            sqlx::query("UPDATE conversations SET head_id = ?, updated_at = ? WHERE id = ?")
                .bind(&target.parent_id)
                .bind(now)
                .bind(&conversation.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The other versions of a message (same parent, same role), oldest first.
    pub async fn siblings(&self, conversation_id: &str, of: &ChatMessage) -> Result<Vec<ChatMessage>, ChatError> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ? AND deleted_at IS NULL ORDER BY created_at, rowid",
        )
        .bind(conversation_id)
        .bind(&of.parent_id)
        .bind(&of.role)
        .fetch_all(self.pool)
        .await?;
        Ok(rows.iter().map(message).collect::<Result<_, _>>()?)
    }
}
