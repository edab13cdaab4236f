//! Knowledge bases in the core API: create, add documents, search, attach to
//! agents, and the retrieval each chat turn runs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use familiar_infer::vector::{FlatIndex, VectorIndex};
use familiar_infer::{CancelToken, EmbeddingEngine};
use serde::Serialize;

use super::{Error, Result, Studio, agent, models, update_agent};
use crate::agent::KnowledgeRef;
use crate::chat::prompt::{Reference, Role, Turn};
use crate::knowledge::search::{self, BaseVectors, Query, Target};
use crate::knowledge::{
    self, DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS, Document, Hit, IngestProgress, IngestReport, KnowledgeBase,
    KnowledgeError, KnowledgeStore, SearchOptions,
};
use crate::models::InstalledModel;

/// Loaded embedding models, by model id.
pub(super) type Embedders = Arc<tokio::sync::Mutex<HashMap<String, EmbeddingEngine>>>;
/// Knowledge bases' vectors in memory, by base id.
pub(super) type VectorCache = Arc<tokio::sync::Mutex<HashMap<i64, Arc<BaseVectors>>>>;

fn store(studio: &Studio) -> KnowledgeStore<'_> {
    KnowledgeStore { pool: studio.store.pool() }
}

/// How a new knowledge base cuts and embeds its documents.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeOptions {
    /// An installed sentence-embedding model (default: all-MiniLM-L6-v2).
    pub embedding_model: Option<String>,
    /// Chunk size in the embedding model's tokens.
    pub chunk_tokens: Option<usize>,
    /// Tokens shared by neighbouring chunks.
    pub overlap_tokens: Option<usize>,
}

async fn embedder(studio: &Studio, model: &InstalledModel) -> Result<EmbeddingEngine> {
    let mut loaded = studio.embedders.lock().await;
    if let Some(engine) = loaded.get(&model.id) {
        return Ok(engine.clone());
    }
    let dir = models(studio).path_of(model);
    let engine = tokio::task::spawn_blocking(move || EmbeddingEngine::load(&dir))
        .await
        .map_err(|e| Error::Invalid(format!("the embedding model loader stopped unexpectedly: {e}")))??;
    loaded.insert(model.id.clone(), engine.clone());
    Ok(engine)
}

async fn embedder_of(studio: &Studio, kb: &KnowledgeBase) -> Result<EmbeddingEngine> {
    let model = models(studio).embedding_model(Some(&kb.embedding_model)).await?;
    embedder(studio, &model).await
}

/// Creates an empty knowledge base.
pub async fn create_knowledge_base(studio: &Studio, name: &str, options: KnowledgeOptions) -> Result<KnowledgeBase> {
    let model = models(studio).embedding_model(options.embedding_model.as_deref()).await?;
    let engine = embedder(studio, &model).await?;
    // Room for the section heading and the special tokens inside the model's window.
    let chunk_tokens = options.chunk_tokens.unwrap_or(DEFAULT_CHUNK_TOKENS).min(engine.max_tokens().saturating_sub(8));
    if chunk_tokens < 16 {
        return Err(Error::Invalid("chunks need at least 16 tokens".into()));
    }
    let overlap = options.overlap_tokens.unwrap_or(DEFAULT_OVERLAP_TOKENS.min(chunk_tokens / 4));
    Ok(store(studio).create(name, &model.id, engine.dim(), chunk_tokens, overlap, studio.now()).await?)
}

/// Every knowledge base with its counts.
pub async fn list_knowledge_bases(studio: &Studio) -> Result<Vec<KnowledgeBase>> {
    Ok(store(studio).list().await?)
}

/// A knowledge base and its documents.
pub async fn knowledge_base(studio: &Studio, name: &str) -> Result<(KnowledgeBase, Vec<Document>)> {
    let store = store(studio);
    let kb = store.get(name).await?;
    let docs = store.documents(&kb).await?;
    Ok((kb, docs))
}

/// Deletes a knowledge base and everything in it.
pub async fn remove_knowledge_base(studio: &Studio, name: &str) -> Result<KnowledgeBase> {
    let kb = store(studio).remove(name).await?;
    studio.vectors.lock().await.remove(&kb.id);
    Ok(kb)
}

/// Removes one document (by path, file name or title) and its chunks.
pub async fn remove_knowledge_document(studio: &Studio, name: &str, document: &str) -> Result<Document> {
    let store = store(studio);
    let kb = store.get(name).await?;
    Ok(store.remove_document(&kb, document).await?)
}

/// Adds files and folders to a knowledge base. Unchanged documents are
/// skipped; a file that cannot be read is reported and the rest proceed.
pub async fn add_to_knowledge_base(
    studio: &Studio,
    name: &str,
    paths: &[PathBuf],
    progress: &(dyn Fn(IngestProgress) + Sync),
    cancel: &CancelToken,
) -> Result<IngestReport> {
    let store = store(studio);
    let kb = store.get(name).await?;
    let engine = embedder_of(studio, &kb).await?;
    let (files, failures) = knowledge::ingest::collect_files(paths);
    let now = || studio.now();
    let mut report = knowledge::ingest::ingest(&store, &kb, &engine, &files, progress, cancel, &now).await?;
    for failure in failures {
        report.failed += 1;
        report.files.push(failure);
    }
    Ok(report)
}

/// The base's vectors in memory (loaded, and indexed, on first use after a change).
async fn vectors(studio: &Studio, kb: &KnowledgeBase) -> Result<Arc<BaseVectors>> {
    let mut cache = studio.vectors.lock().await;
    if let Some(v) = cache.get(&kb.id)
        && v.generation == kb.generation
    {
        return Ok(v.clone());
    }
    let (ids, flat): (Vec<i64>, FlatIndex) = store(studio).vectors(kb).await?;
    let index = tokio::task::spawn_blocking(move || VectorIndex::build(flat))
        .await
        .map_err(|e| Error::Invalid(format!("indexing stopped unexpectedly: {e}")))?;
    let v = Arc::new(BaseVectors { generation: kb.generation, ids, index });
    cache.insert(kb.id, v.clone());
    Ok(v)
}

/// Searches knowledge bases; several `queries` (phrasings of one need) fuse into one list.
pub async fn search_knowledge(
    studio: &Studio,
    bases: &[String],
    queries: &[String],
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    let store = store(studio);
    let mut kbs = Vec::new();
    for name in bases {
        kbs.push(store.get(name).await?);
    }
    search_bases(studio, kbs, queries, options).await
}

/// [`search_knowledge`] over bases already looked up.
async fn search_bases(
    studio: &Studio,
    kbs: Vec<KnowledgeBase>,
    queries: &[String],
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    let store = store(studio);
    let mut targets = Vec::new();
    for kb in kbs {
        let vectors = vectors(studio, &kb).await?;
        targets.push(Target { kb, vectors });
    }
    let texts: Vec<&String> = queries.iter().filter(|q| !q.trim().is_empty()).collect();
    // Every query embedded in one call per embedding model (bases usually share one).
    let mut by_model: HashMap<&str, Vec<Vec<f32>>> = HashMap::new();
    if options.mode != knowledge::Mode::Bm25 {
        for t in &targets {
            let model = t.kb.embedding_model.as_str();
            if by_model.contains_key(model) || texts.is_empty() {
                continue;
            }
            let engine = embedder_of(studio, &t.kb).await?;
            let inputs: Vec<String> = texts.iter().map(|q| format!("{}{q}", knowledge::prefixes(model).0)).collect();
            let vectors = tokio::task::spawn_blocking(move || engine.embed(inputs, &CancelToken::default()))
                .await
                .map_err(|e| Error::Invalid(format!("the embedding thread stopped unexpectedly: {e}")))??;
            by_model.insert(model, vectors);
        }
    }
    let embedded: Vec<Query> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| Query {
            text: (*text).clone(),
            vectors: targets
                .iter()
                .filter_map(|t| by_model.get(t.kb.embedding_model.as_str()).map(|v| v[i].clone()))
                .collect(),
        })
        .collect();
    if embedded.is_empty() {
        return Err(Error::Invalid("the search query is empty".into()));
    }
    Ok(search::search(&store, &targets, &embedded, options).await?)
}

async fn set_knowledge(studio: &Studio, agent_query: &str, base: &str, attach: bool) -> Result<i64> {
    let (_, current) = agent(studio, agent_query).await?;
    let mut spec = current.spec().clone();
    let present = spec.familiar.knowledge.iter().any(|k| k.name == base);
    if attach {
        store(studio).get(base).await?;
        if present {
            return Err(Error::Invalid(format!("`{base}` is already attached to {}", spec.name)));
        }
        spec.familiar.knowledge.push(KnowledgeRef { name: base.to_owned(), ..KnowledgeRef::default() });
    } else {
        if !present {
            return Err(Error::Invalid(format!("`{base}` is not attached to {}", spec.name)));
        }
        spec.familiar.knowledge.retain(|k| k.name != base);
    }
    let reason = if attach { format!("attach knowledge {base}") } else { format!("detach knowledge {base}") };
    update_agent(studio, agent_query, spec, &reason).await
}

/// Lets an agent answer from a knowledge base (a new agent version).
pub async fn attach_knowledge(studio: &Studio, agent_query: &str, base: &str) -> Result<i64> {
    set_knowledge(studio, agent_query, base, true).await
}

/// Stops an agent answering from a knowledge base (a new agent version).
pub async fn detach_knowledge(studio: &Studio, agent_query: &str, base: &str) -> Result<i64> {
    set_knowledge(studio, agent_query, base, false).await
}

/// A source a reply was given, as stored with the reply.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Citation {
    /// The number the prompt gave it (`[1]`).
    pub n: usize,
    /// The knowledge base.
    pub base: String,
    /// The document's file name, and its title when it has one.
    pub document: String,
    /// The document's title.
    pub title: Option<String>,
    /// Where the document was read from.
    pub path: String,
    /// `page 4`, `section Installation` or `chunk 3`.
    pub location: String,
    /// The page (PDF).
    pub page: Option<u32>,
    /// The section's heading path.
    pub section: Option<String>,
    /// The chunk's id and position in its document.
    pub chunk_id: i64,
    /// The chunk's 0-based position in its document.
    pub ord: i64,
    /// The start of the passage (up to 400 characters), to show with the source.
    pub excerpt: String,
    /// The fused score, and the BM25 and vector scores behind it.
    pub scores: knowledge::Scores,
    /// The reply refers to it by its number.
    pub cited: bool,
}

/// The start of a passage, cut at a word, for showing beside its source.
fn excerpt(text: &str) -> String {
    const MAX: usize = 400;
    let text = text.trim();
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    let at_word = cut.rfind(char::is_whitespace).filter(|&i| i > MAX / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

/// Chunks retrieved for a turn, at most this many.
const TURN_HITS: usize = 4;

/// The queries for a turn: the user's message, and, after earlier turns,
/// a stand-alone version that carries the conversation's subject (a follow-up
/// like "what does it eat?" says nothing on its own).
pub fn turn_queries(history: &[Turn]) -> Vec<String> {
    let mut users = history.iter().rev().filter(|t| t.role == Role::User).map(|t| t.content.trim());
    let Some(last) = users.next() else { return Vec::new() };
    let mut queries = vec![last.to_owned()];
    let earlier: Vec<&str> = users.take(2).collect();
    if !earlier.is_empty() {
        let mut context: Vec<&str> = earlier.into_iter().rev().collect();
        context.push(last);
        queries.push(context.join(" "));
    }
    queries
}

/// Retrieves references for an agent's next reply from its knowledge bases.
pub(super) async fn references_for_turn(
    studio: &Studio,
    spec: &crate::agent::AgentSpec,
    history: &[Turn],
) -> Result<Vec<(Reference, Citation)>> {
    let store = store(studio);
    let mut bases = Vec::new();
    for k in &spec.familiar.knowledge {
        match store.get(&k.name).await {
            Ok(kb) => bases.push(kb),
            // A base deleted since it was attached answers nothing; the chat goes on.
            Err(KnowledgeError::NoBase(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let queries = turn_queries(history);
    if bases.is_empty() || queries.is_empty() {
        return Ok(Vec::new());
    }
    let options = SearchOptions { limit: TURN_HITS, mode: knowledge::Mode::Hybrid, mmr: Some(0.7) };
    let hits = search_bases(studio, bases, &queries, &options).await?;
    Ok(hits
        .into_iter()
        .enumerate()
        .map(|(i, hit)| {
            let source = format!("{}, {}", hit.document, hit.location);
            let reference = Reference { n: i + 1, source, text: hit.chunk.text.clone() };
            let citation = Citation {
                n: i + 1,
                base: hit.base,
                document: hit.document,
                title: hit.title,
                path: hit.path,
                location: hit.location,
                page: hit.chunk.page,
                section: hit.chunk.section.clone(),
                chunk_id: hit.chunk.id,
                ord: hit.chunk.ord,
                excerpt: excerpt(&hit.chunk.text),
                scores: hit.scores,
                cited: false,
            };
            (reference, citation)
        })
        .collect())
}

/// The citations whose references made it into the prompt, each marked
/// `cited` when the reply names its number.
pub(super) fn used_citations(
    mut citations: Vec<Citation>,
    assembled: &crate::chat::prompt::Assembled,
    reply: &str,
) -> Vec<Citation> {
    citations.truncate(assembled.references);
    for c in &mut citations {
        c.cited = reply.contains(&format!("[{}]", c.n));
    }
    citations
}
