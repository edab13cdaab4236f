//! Knowledge bases: documents ingested into chunks with embeddings, stored in
//! SQLite (FTS5 for BM25, little-endian f32 blobs for vectors), and searched
//! by both, fused with reciprocal rank fusion.
//!
//! Architecture invariant: a document's chunks change only inside one
//! transaction (delete the old set, insert the new one, record the new hash),
//! so an interrupted ingest leaves no duplicate and no half document; running
//! it again redoes exactly the documents whose hash is not recorded.

pub mod chunk;
pub mod extract;
pub mod ingest;
pub mod search;

use serde::Serialize;
use sqlx::{Row, SqlitePool};

pub use extract::{DocKind, ExtractError};
pub use ingest::{IngestProgress, IngestReport};
pub use search::{Hit, Mode, Scores, SearchOptions};

/// Default chunk size in the embedding model's tokens (all-MiniLM-L6-v2
/// reads 256; the section heading and special tokens need the rest).
pub const DEFAULT_CHUNK_TOKENS: usize = 200;
/// Tokens shared by neighbouring chunks.
pub const DEFAULT_OVERLAP_TOKENS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("no knowledge base `{0}`; `familiar kb list` shows them")]
    NoBase(String),
    #[error("a knowledge base called `{0}` already exists")]
    Exists(String),
    #[error("no document `{doc}` in knowledge base `{base}`")]
    NoDocument { base: String, doc: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Infer(#[from] familiar_infer::InferError),
    #[error("cancelled; run the same command again to finish (documents already added are kept)")]
    Cancelled,
}

/// A knowledge base's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KnowledgeBase {
    pub id: i64,
    pub name: String,
    pub embedding_model: String,
    pub dim: usize,
    pub chunk_tokens: usize,
    pub overlap_tokens: usize,
    pub documents: i64,
    pub chunks: i64,
    pub created_at: i64,
    /// Changes with every document added or removed (keys the vector cache).
    #[serde(skip)]
    pub generation: i64,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Document {
    pub id: i64,
    pub path: String,
    pub name: String,
    pub kind: String,
    pub title: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub chunks: i64,
    pub added_at: i64,
}

/// A chunk as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Chunk {
    pub id: i64,
    pub kb_id: i64,
    pub document_id: i64,
    pub ord: i64,
    pub page: Option<u32>,
    pub section: Option<String>,
    pub text: String,
    pub tokens: i64,
}

/// A new chunk with its vector.
pub struct NewChunk {
    pub piece: chunk::Piece,
    pub embedding: Vec<f32>,
}

/// A document about to replace its stored version.
pub struct NewDocument<'a> {
    pub path: &'a str,
    pub name: &'a str,
    pub kind: DocKind,
    pub title: Option<&'a str>,
    pub sha256: &'a str,
    pub size: u64,
}

/// The (query, document) prefixes a model was trained with: e5 and nomic
/// mark the two sides, bge an instruction on queries; MiniLM needs none.
pub fn prefixes(model_id: &str) -> (&'static str, &'static str) {
    let id = model_id.to_ascii_lowercase();
    if id.contains("e5-") || id.starts_with("e5") {
        ("query: ", "passage: ")
    } else if id.contains("nomic") {
        ("search_query: ", "search_document: ")
    } else if id.contains("bge-") && id.contains("-en") {
        ("Represent this sentence for searching relevant passages: ", "")
    } else {
        ("", "")
    }
}

pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn blob_to_vector(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn base(row: &sqlx::sqlite::SqliteRow) -> Result<KnowledgeBase, sqlx::Error> {
    Ok(KnowledgeBase {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        embedding_model: row.try_get("embedding_model")?,
        dim: row.try_get::<i64, _>("dim")? as usize,
        chunk_tokens: row.try_get::<i64, _>("chunk_tokens")? as usize,
        overlap_tokens: row.try_get::<i64, _>("overlap_tokens")? as usize,
        documents: row.try_get("documents")?,
        chunks: row.try_get("chunks")?,
        created_at: row.try_get("created_at")?,
        generation: row.try_get("generation")?,
    })
}

/// A document from a row; `id` names the column holding its id.
fn document_row(row: &sqlx::sqlite::SqliteRow, id: &str) -> Result<Document, sqlx::Error> {
    Ok(Document {
        id: row.try_get(id)?,
        path: row.try_get("path")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        chunks: row.try_get("chunk_count")?,
        added_at: row.try_get("added_at")?,
    })
}

/// Deletes a document's chunks (the FTS trigger follows) and its row.
async fn delete_document(tx: &mut sqlx::SqliteConnection, document_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM kb_chunks WHERE document_id = ?").bind(document_id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM kb_documents WHERE id = ?").bind(document_id).execute(&mut *tx).await?;
    Ok(())
}

/// Marks a base as changed (its in-memory vectors are rebuilt on next use).
async fn bump_generation(tx: &mut sqlx::SqliteConnection, kb_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE knowledge_bases SET generation = generation + 1 WHERE id = ?").bind(kb_id).execute(tx).await?;
    Ok(())
}

pub(crate) fn chunk_row(row: &sqlx::sqlite::SqliteRow) -> Result<Chunk, sqlx::Error> {
    Ok(Chunk {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        document_id: row.try_get("document_id")?,
        ord: row.try_get("ord")?,
        page: row.try_get::<Option<i64>, _>("page")?.map(|p| p as u32),
        section: row.try_get("section")?,
        text: row.try_get("text")?,
        tokens: row.try_get("tokens")?,
    })
}

const BASE_SELECT: &str = "SELECT b.*, \
     (SELECT count(*) FROM kb_documents d WHERE d.kb_id = b.id) AS documents, \
     (SELECT count(*) FROM kb_chunks c WHERE c.kb_id = b.id) AS chunks \
     FROM knowledge_bases b";

/// The knowledge tables of the studio's database.
pub struct KnowledgeStore<'a> {
    pub pool: &'a SqlitePool,
}

impl KnowledgeStore<'_> {
    pub async fn create(
        &self,
        name: &str,
        embedding_model: &str,
        dim: usize,
        chunk_tokens: usize,
        overlap_tokens: usize,
        now: i64,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(KnowledgeError::Invalid("a knowledge base needs a name of 1 to 100 characters".into()));
        }
        if overlap_tokens >= chunk_tokens {
            return Err(KnowledgeError::Invalid("the overlap must be smaller than the chunk size".into()));
        }
        let inserted = sqlx::query(
            "INSERT INTO knowledge_bases (name, embedding_model, dim, chunk_tokens, overlap_tokens, created_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(embedding_model)
        .bind(dim as i64)
        .bind(chunk_tokens as i64)
        .bind(overlap_tokens as i64)
        .bind(now)
        .execute(self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(KnowledgeError::Exists(name.to_owned()));
        }
        self.get(name).await
    }

    pub async fn get(&self, name: &str) -> Result<KnowledgeBase, KnowledgeError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{BASE_SELECT} WHERE b.name = ?")))
            .bind(name.trim())
            .fetch_optional(self.pool)
            .await?
            .ok_or_else(|| KnowledgeError::NoBase(name.to_owned()))?;
        Ok(base(&row)?)
    }

    pub async fn list(&self) -> Result<Vec<KnowledgeBase>, KnowledgeError> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{BASE_SELECT} ORDER BY b.name"))).fetch_all(self.pool).await?;
        Ok(rows.iter().map(base).collect::<Result<_, _>>()?)
    }

    /// Deletes a knowledge base with its documents and chunks.
    pub async fn remove(&self, name: &str) -> Result<KnowledgeBase, KnowledgeError> {
        let kb = self.get(name).await?;
        let mut tx = self.pool.begin().await?;
        // Chunks first, row by row through the FTS trigger, then the rest.
        sqlx::query("DELETE FROM kb_chunks WHERE kb_id = ?").bind(kb.id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM knowledge_bases WHERE id = ?").bind(kb.id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(kb)
    }

    pub async fn documents(&self, kb: &KnowledgeBase) -> Result<Vec<Document>, KnowledgeError> {
        let rows = sqlx::query("SELECT * FROM kb_documents WHERE kb_id = ? ORDER BY name, path")
            .bind(kb.id)
            .fetch_all(self.pool)
            .await?;
        Ok(rows.iter().map(|r| document_row(r, "id")).collect::<Result<_, _>>()?)
    }

    /// The hash recorded for a document, when it is stored whole.
    pub async fn stored_hash(&self, kb: &KnowledgeBase, path: &str) -> Result<Option<String>, KnowledgeError> {
        Ok(sqlx::query_scalar("SELECT sha256 FROM kb_documents WHERE kb_id = ? AND path = ?")
            .bind(kb.id)
            .bind(path)
            .fetch_optional(self.pool)
            .await?)
    }

    /// Replaces a document's chunks in one transaction.
    pub async fn replace_document(
        &self,
        kb: &KnowledgeBase,
        doc: &NewDocument<'_>,
        chunks: &[NewChunk],
        now: i64,
    ) -> Result<i64, KnowledgeError> {
        let mut tx = self.pool.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_documents WHERE kb_id = ? AND path = ?")
            .bind(kb.id)
            .bind(doc.path)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = existing {
            delete_document(&mut tx, id).await?;
        }
        let document_id: i64 = sqlx::query_scalar(
            "INSERT INTO kb_documents (kb_id, path, name, kind, title, sha256, size, chunk_count, added_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(kb.id)
        .bind(doc.path)
        .bind(doc.name)
        .bind(doc.kind.as_str())
        .bind(doc.title)
        .bind(doc.sha256)
        .bind(doc.size as i64)
        .bind(chunks.len() as i64)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (ord, chunk) in chunks.iter().enumerate() {
            if chunk.embedding.len() != kb.dim {
                return Err(KnowledgeError::Invalid(format!(
                    "the embedding model gave {} numbers, the knowledge base holds {}",
                    chunk.embedding.len(),
                    kb.dim
                )));
            }
            sqlx::query(
                "INSERT INTO kb_chunks (kb_id, document_id, ord, page, section, text, tokens, embedding)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(kb.id)
            .bind(document_id)
            .bind(ord as i64)
            .bind(chunk.piece.page.map(i64::from))
            .bind(chunk.piece.section.as_deref())
            .bind(&chunk.piece.text)
            .bind(chunk.piece.tokens as i64)
            .bind(vector_to_blob(&chunk.embedding))
            .execute(&mut *tx)
            .await?;
        }
        bump_generation(&mut tx, kb.id).await?;
        tx.commit().await?;
        Ok(document_id)
    }

    /// Removes a document (by path, file name or title) and its chunks.
    pub async fn remove_document(&self, kb: &KnowledgeBase, which: &str) -> Result<Document, KnowledgeError> {
        let docs = self.documents(kb).await?;
        let matches: Vec<&Document> =
            docs.iter().filter(|d| d.path == which || d.name == which || d.title.as_deref() == Some(which)).collect();
        let doc = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => return Err(KnowledgeError::NoDocument { base: kb.name.clone(), doc: which.to_owned() }),
            _ => {
                return Err(KnowledgeError::Invalid(format!(
                    "`{which}` names {} documents; give the full path",
                    matches.len()
                )));
            }
        };
        let mut tx = self.pool.begin().await?;
        delete_document(&mut tx, doc.id).await?;
        bump_generation(&mut tx, kb.id).await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// Every chunk id of a base with its vector, in id order.
    pub async fn vectors(
        &self,
        kb: &KnowledgeBase,
    ) -> Result<(Vec<i64>, familiar_infer::vector::FlatIndex), KnowledgeError> {
        use futures_util::TryStreamExt;
        let mut rows =
            sqlx::query("SELECT id, embedding FROM kb_chunks WHERE kb_id = ? ORDER BY id").bind(kb.id).fetch(self.pool);
        let mut ids = Vec::new();
        let mut flat = familiar_infer::vector::FlatIndex::new(kb.dim);
        while let Some(row) = rows.try_next().await? {
            let blob: Vec<u8> = row.try_get("embedding")?;
            if blob.len() != kb.dim * 4 {
                return Err(KnowledgeError::Invalid(format!("a stored vector of `{}` has the wrong length", kb.name)));
            }
            ids.push(row.try_get("id")?);
            flat.push(&blob_to_vector(&blob));
        }
        Ok((ids, flat))
    }

    /// Chunks by id, in the order asked.
    pub async fn chunks(&self, ids: &[i64]) -> Result<Vec<(Chunk, Document, Vec<f32>)>, KnowledgeError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT c.*, d.id AS doc_id, d.path, d.name, d.kind, d.title, d.sha256, d.size, d.chunk_count, d.added_at
             FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id WHERE c.id IN ({placeholders})"
        );
        // Only `?` placeholders are formatted in; every id is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id);
        }
        let mut found = std::collections::HashMap::new();
        for row in q.fetch_all(self.pool).await? {
            let chunk = chunk_row(&row)?;
            let doc = document_row(&row, "doc_id")?;
            let embedding = blob_to_vector(&row.try_get::<Vec<u8>, _>("embedding")?);
            found.insert(chunk.id, (chunk, doc, embedding));
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// BM25 over the chunks of `kbs`: (chunk id, score; higher is better).
    pub async fn bm25(&self, kbs: &[i64], query: &str, limit: usize) -> Result<Vec<(i64, f32)>, KnowledgeError> {
        let Some(fts) = fts_query(query) else { return Ok(Vec::new()) };
        let placeholders = vec!["?"; kbs.len()].join(", ");
        let sql = format!(
            "SELECT c.id AS id, bm25(kb_chunks_fts) AS score FROM kb_chunks_fts
             JOIN kb_chunks c ON c.id = kb_chunks_fts.rowid
             WHERE kb_chunks_fts MATCH ? AND c.kb_id IN ({placeholders}) ORDER BY score LIMIT ?"
        );
        // Only `?` placeholders are formatted in; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fts);
        for kb in kbs {
            q = q.bind(kb);
        }
        let rows = q.bind(limit as i64).fetch_all(self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, -r.try_get::<f64, _>("score")? as f32)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

/// A user's text as an FTS5 query: each word quoted (no operator injection),
/// any of them may match; BM25 ranks chunks with more and rarer words first.
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(64)
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" OR "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fts_queries_quote_every_word() {
        assert_eq!(
            super::fts_query("What's NEAR(x)? AND \"y\"").unwrap(),
            r#""what" OR "s" OR "near" OR "x" OR "and" OR "y""#
        );
        assert_eq!(super::fts_query("  ?! "), None);
    }

    #[test]
    fn vectors_survive_the_blob_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        assert_eq!(super::blob_to_vector(&super::vector_to_blob(&v)), v);
    }
}
