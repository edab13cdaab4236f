//! Knowledge bases: create, add documents with per-file progress (cancel
//! with `cancel_job`), remove, search, attach to an agent.

use std::path::PathBuf;

use familiar::api::{self, KnowledgeOptions};
use familiar::knowledge::{Document, Hit, IngestProgress, IngestReport, KnowledgeBase, SearchOptions};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::events::{AgentsChanged, emit};
use crate::state::AppState;

/// Every knowledge base.
#[tauri::command(async)]
#[specta::specta]
pub async fn list_knowledge_bases(state: State<'_, AppState>) -> IpcResult<Vec<KnowledgeBase>> {
    Ok(api::list_knowledge_bases(&state.studio).await?)
}

/// Creates an empty knowledge base with the default embedding model.
#[tauri::command(async)]
#[specta::specta]
pub async fn create_knowledge_base(state: State<'_, AppState>, name: String) -> IpcResult<KnowledgeBase> {
    Ok(api::create_knowledge_base(&state.studio, &name, KnowledgeOptions::default()).await?)
}

/// A knowledge base and its documents.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct KnowledgeBaseView {
    pub base: KnowledgeBase,
    pub documents: Vec<Document>,
}

/// A knowledge base with its documents.
#[tauri::command(async)]
#[specta::specta]
pub async fn get_knowledge_base(state: State<'_, AppState>, name: String) -> IpcResult<KnowledgeBaseView> {
    let (base, documents) = api::knowledge_base(&state.studio, &name).await?;
    Ok(KnowledgeBaseView { base, documents })
}

/// Adds files and folders; progress streams to `channel`; `request_id`
/// stops it (finished documents stay).
#[tauri::command(async)]
#[specta::specta]
pub async fn add_documents(
    state: State<'_, AppState>,
    name: String,
    paths: Vec<PathBuf>,
    request_id: String,
    channel: Channel<IngestProgress>,
) -> IpcResult<IngestReport> {
    let job = state.job(&request_id);
    let progress = move |p: IngestProgress| {
        let _ = channel.send(p);
    };
    Ok(api::add_to_knowledge_base(&state.studio, &name, &paths, &progress, &job.token).await?)
}

/// Removes one document from a base.
#[tauri::command(async)]
#[specta::specta]
pub async fn remove_document(state: State<'_, AppState>, name: String, document: String) -> IpcResult<Document> {
    Ok(api::remove_knowledge_document(&state.studio, &name, &document).await?)
}

/// Deletes a knowledge base.
#[tauri::command(async)]
#[specta::specta]
pub async fn remove_knowledge_base(state: State<'_, AppState>, name: String) -> IpcResult<KnowledgeBase> {
    Ok(api::remove_knowledge_base(&state.studio, &name).await?)
}

/// Searches a base (hybrid: keywords and meaning).
#[tauri::command(async)]
#[specta::specta]
pub async fn search_knowledge(
    state: State<'_, AppState>,
    name: String,
    query: String,
    limit: u32,
) -> IpcResult<Vec<Hit>> {
    let options = SearchOptions { limit: limit.clamp(1, 50) as usize, ..Default::default() };
    Ok(api::search_knowledge(&state.studio, &[name], &[query], &options).await?)
}

/// Lets an agent answer from a base (a new version of the agent).
#[tauri::command(async)]
#[specta::specta]
pub async fn attach_knowledge<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    agent: String,
    base: String,
) -> IpcResult<i64> {
    let version = api::attach_knowledge(&state.studio, &agent, &base).await?;
    emit(&app, AgentsChanged { id: agent });
    Ok(version)
}

/// Stops an agent answering from a base.
#[tauri::command(async)]
#[specta::specta]
pub async fn detach_knowledge<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    agent: String,
    base: String,
) -> IpcResult<i64> {
    let version = api::detach_knowledge(&state.studio, &agent, &base).await?;
    emit(&app, AgentsChanged { id: agent });
    Ok(version)
}
