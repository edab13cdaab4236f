//! Ingestion: files and folders → text → chunks → embeddings → one
//! transaction per document. Unchanged documents (same sha256) are skipped,
//! a file that cannot be read fails alone, progress is reported per batch,
//! and cancellation stops between batches with every finished document kept.

use std::path::{Path, PathBuf};
use std::time::Instant;

use familiar_infer::{CancelToken, EmbeddingEngine};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::chunk::{self, Piece};
use super::extract::{self, DocKind, ExtractError, Extracted, MAX_DOCUMENT_BYTES};
use super::{KnowledgeBase, KnowledgeError, KnowledgeStore, NewChunk, NewDocument};

/// Chunks embedded per request to the model thread (progress granularity).
const EMBED_BATCH: usize = 64;

/// Where an ingest stands, for progress bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestProgress {
    pub files_done: usize,
    pub files_total: usize,
    pub chunks_done: usize,
    /// The file being read.
    pub current: Option<String>,
    /// Seconds left, estimated from the bytes read so far.
    pub eta_seconds: Option<f64>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FileOutcome {
    pub path: String,
    /// `added`, `updated`, `unchanged` or `failed`.
    pub status: &'static str,
    pub kind: Option<DocKind>,
    pub chunks: usize,
    pub error: Option<String>,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestReport {
    pub base: String,
    pub files: Vec<FileOutcome>,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub chunks: usize,
}

impl IngestReport {
    fn record(&mut self, outcome: FileOutcome) {
        match outcome.status {
            "added" => self.added += 1,
            "updated" => self.updated += 1,
            "unchanged" => self.unchanged += 1,
            _ => self.failed += 1,
        }
        self.chunks += outcome.chunks;
        self.files.push(outcome);
    }
}

fn failed(path: &Path, kind: Option<DocKind>, error: impl ToString) -> FileOutcome {
    FileOutcome { path: path.display().to_string(), status: "failed", kind, chunks: 0, error: Some(error.to_string()) }
}

/// The files to ingest: named files as they are, folders walked (hidden
/// entries and symlinked folders skipped; only document formats taken, not
/// images). Missing paths come back as failures.
pub fn collect_files(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileOutcome>) {
    let (mut files, mut failures) = (Vec::new(), Vec::new());
    for input in inputs {
        match std::fs::metadata(input) {
            Ok(m) if m.is_dir() => walk(input, &mut files),
            Ok(_) => files.push(input.clone()),
            Err(e) => failures.push(failed(input, None, format!("cannot read it: {e}"))),
        }
    }
    files.dedup();
    (files, failures)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, files);
        } else if kind.is_file() && DocKind::from_name(&name).is_some_and(|k| k != DocKind::Lorebook) {
            files.push(path);
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Extraction and chunking, on a thread of their own (named so that a panic
/// in a document parser is reported as that file's failure, not as a bug).
async fn read_document(
    name: String,
    bytes: Vec<u8>,
    engine: EmbeddingEngine,
    kb: &KnowledgeBase,
) -> Result<(Extracted, Vec<Piece>), ExtractError> {
    let (chunk_tokens, overlap) = (kb.chunk_tokens, kb.overlap_tokens);
    let work = move || {
        let doc = extract::extract(&name, &bytes)?;
        let pieces = chunk::split(&doc, engine.tokenizer(), chunk_tokens, overlap);
        Ok((doc, pieces))
    };
    let joined = tokio::task::spawn_blocking(move || {
        std::thread::Builder::new()
            .name(EXTRACT_THREAD.into())
            // Parsers recurse; a deep stack turns hostile nesting into an error, not a crash.
            .stack_size(64 << 20)
            .spawn(work)
            .map_err(ExtractError::Thread)?
            .join()
            .map_err(|_| ExtractError::Crashed)?
    })
    .await;
    joined.map_err(|_| ExtractError::Crashed)?
}

/// The name of the threads that parse documents.
pub const EXTRACT_THREAD: &str = "familiar-extract";

/// Ingests `files` into `kb`.
pub async fn ingest(
    store: &KnowledgeStore<'_>,
    kb: &KnowledgeBase,
    engine: &EmbeddingEngine,
    files: &[PathBuf],
    progress: &(dyn Fn(IngestProgress) + Sync),
    cancel: &CancelToken,
    now: &(dyn Fn() -> i64 + Sync),
) -> Result<IngestReport, KnowledgeError> {
    let mut report = IngestReport { base: kb.name.clone(), ..IngestReport::default() };
    let sizes: Vec<u64> = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).collect();
    let total_bytes: u64 = sizes.iter().sum();
    let (started, mut bytes_done, mut chunks_done) = (Instant::now(), 0u64, 0usize);
    let eta = |bytes_done: u64| {
        let elapsed = started.elapsed().as_secs_f64();
        (bytes_done > 0 && elapsed > 0.2)
            .then(|| elapsed * (total_bytes.saturating_sub(bytes_done)) as f64 / bytes_done as f64)
    };
    for (i, file) in files.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(KnowledgeError::Cancelled);
        }
        let display = file.display().to_string();
        progress(IngestProgress {
            files_done: i,
            files_total: files.len(),
            chunks_done,
            current: Some(display.clone()),
            eta_seconds: eta(bytes_done),
        });
        let outcome = ingest_one(
            store,
            kb,
            engine,
            file,
            &mut chunks_done,
            &|chunks| {
                progress(IngestProgress {
                    files_done: i,
                    files_total: files.len(),
                    chunks_done: chunks,
                    current: Some(display.clone()),
                    eta_seconds: eta(bytes_done),
                })
            },
            cancel,
            now,
        )
        .await?;
        bytes_done += sizes[i];
        report.record(outcome);
    }
    progress(IngestProgress {
        files_done: files.len(),
        files_total: files.len(),
        chunks_done,
        current: None,
        eta_seconds: Some(0.0),
    });
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn ingest_one(
    store: &KnowledgeStore<'_>,
    kb: &KnowledgeBase,
    engine: &EmbeddingEngine,
    file: &Path,
    chunks_done: &mut usize,
    progress: &(dyn Fn(usize) + Sync),
    cancel: &CancelToken,
    now: &(dyn Fn() -> i64 + Sync),
) -> Result<FileOutcome, KnowledgeError> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let kind = DocKind::from_name(&name);
    if kind.is_none() {
        return Ok(failed(file, None, ExtractError::Unsupported));
    }
    match std::fs::metadata(file) {
        Ok(m) if m.len() > MAX_DOCUMENT_BYTES as u64 => return Ok(failed(file, kind, ExtractError::TooLarge)),
        Err(e) => return Ok(failed(file, kind, format!("cannot read it: {e}"))),
        Ok(_) => {}
    }
    let bytes = match tokio::fs::read(file).await {
        Ok(b) => b,
        Err(e) => return Ok(failed(file, kind, format!("cannot read it: {e}"))),
    };
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()).display().to_string();
    let sha = sha256(&bytes);
    let stored = store.stored_hash(kb, &path).await?;
    if stored.as_deref() == Some(sha.as_str()) {
        return Ok(FileOutcome { path, status: "unchanged", kind, chunks: 0, error: None });
    }
    let size = bytes.len() as u64;
    let (doc, pieces) = match read_document(name.clone(), bytes, engine.clone(), kb).await {
        Ok(read) => read,
        Err(e) => return Ok(failed(file, kind, e)),
    };
    let mut chunks = Vec::with_capacity(pieces.len());
    for batch in pieces.chunks(EMBED_BATCH) {
        if cancel.is_cancelled() {
            return Err(KnowledgeError::Cancelled);
        }
        let prefix = super::prefixes(&kb.embedding_model).1;
        let texts: Vec<String> = batch.iter().map(|p| format!("{prefix}{}", p.embedding_text())).collect();
        let (engine, cancel) = (engine.clone(), cancel.clone());
        let vectors = tokio::task::spawn_blocking(move || engine.embed(texts, &cancel))
            .await
            .map_err(|e| KnowledgeError::Invalid(format!("the embedding thread stopped unexpectedly: {e}")))?
            .map_err(|e| match e {
                familiar_infer::InferError::Cancelled => KnowledgeError::Cancelled,
                e => e.into(),
            })?;
        chunks.extend(batch.iter().cloned().zip(vectors).map(|(piece, embedding)| NewChunk { piece, embedding }));
        *chunks_done += batch.len();
        progress(*chunks_done);
    }
    let new = NewDocument { path: &path, name: &name, kind: doc.kind, title: doc.title.as_deref(), sha256: &sha, size };
    store.replace_document(kb, &new, &chunks, now()).await?;
    let status = if stored.is_some() { "updated" } else { "added" };
    Ok(FileOutcome { path, status, kind: Some(doc.kind), chunks: chunks.len(), error: None })
}
