//! The library and the editor: agents as cards, import and export, edit,
//! history, trash.

use std::path::PathBuf;

use familiar::agent::{ExportFormat, ImportOptions};
use familiar::api::editor::{AgentCard, AgentDetail, AgentForm};
use familiar::api::{self, AgentRef, ImportReport};
use serde::Serialize;
use tauri::State;

use crate::error::{IpcError, IpcResult};
use crate::events::{AgentsChanged, emit};
use crate::state::AppState;

/// The library (or the trash).
#[tauri::command(async)]
#[specta::specta]
pub async fn list_agents(state: State<'_, AppState>, trash: bool) -> IpcResult<Vec<AgentCard>> {
    Ok(api::editor::agent_cards(&state.studio, trash).await?)
}

/// One agent, for the editor.
#[tauri::command(async)]
#[specta::specta]
pub async fn get_agent(state: State<'_, AppState>, id: String) -> IpcResult<AgentDetail> {
    Ok(api::editor::agent_detail(&state.studio, &id).await?)
}

/// Saves the editor's form as a new version.
#[tauri::command(async)]
#[specta::specta]
pub async fn save_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    form: AgentForm,
) -> IpcResult<i64> {
    let version = api::editor::save_agent_form(&state.studio, &id, form).await?;
    emit(&app, AgentsChanged { id });
    Ok(version)
}

/// Imports a card file (PNG, CHARX, JSON, elizaOS, Modelfile) or a CHARX folder.
#[tauri::command(async)]
#[specta::specta]
pub async fn import_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> IpcResult<ImportReport> {
    let report = api::import_agent(&state.studio, &path, ImportOptions::default()).await?;
    emit(&app, AgentsChanged { id: report.id.clone() });
    Ok(report)
}

/// The formats an agent can be exported to.
#[derive(Debug, Clone, Copy, serde::Deserialize, specta::Type)]
#[serde(rename_all = "kebab-case")]
pub enum ExportKind {
    Ccv3Png,
    Charx,
    Ccv2Json,
    Ccv3Json,
    ElizaJson,
}

/// Exports an agent to a file.
#[tauri::command(async)]
#[specta::specta]
pub async fn export_agent(
    state: State<'_, AppState>,
    id: String,
    format: ExportKind,
    path: PathBuf,
) -> IpcResult<AgentRef> {
    let format = match format {
        ExportKind::Ccv3Png => ExportFormat::Ccv3Png,
        ExportKind::Charx => ExportFormat::Charx,
        ExportKind::Ccv2Json => ExportFormat::Ccv2Json,
        ExportKind::Ccv3Json => ExportFormat::Ccv3Json,
        ExportKind::ElizaJson => ExportFormat::ElizaJson,
    };
    Ok(api::export_agent(&state.studio, &id, format, &path).await?)
}

/// Moves an agent to the trash (undo: `undelete_agent`).
#[tauri::command(async)]
#[specta::specta]
pub async fn delete_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<AgentRef> {
    let agent = api::delete_agent(&state.studio, &id, false).await?;
    emit(&app, AgentsChanged { id: agent.id.clone() });
    Ok(agent)
}

/// Removes an agent from the trash for good, with its history.
#[tauri::command(async)]
#[specta::specta]
pub async fn purge_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<AgentRef> {
    let summary = state.studio.store().summary(&id).await.map_err(api::Error::from)?;
    if summary.deleted_at.is_none() {
        return Err(IpcError::invalid(format!("{} is not in the trash: delete it first", summary.name)));
    }
    let agent = api::delete_agent(&state.studio, &id, true).await?;
    emit(&app, AgentsChanged { id: agent.id.clone() });
    Ok(agent)
}

/// Takes an agent out of the trash.
#[tauri::command(async)]
#[specta::specta]
pub async fn undelete_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<AgentRef> {
    let agent = api::undelete_agent(&state.studio, &id).await?;
    emit(&app, AgentsChanged { id: agent.id.clone() });
    Ok(agent)
}

/// One saved version of an agent.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Version {
    pub version: i64,
    pub name: String,
    /// Why it was saved (`import`, `edit`, `voice profile`, `restore 3`, …).
    pub reason: String,
    pub created_at: i64,
}

/// An agent's versions, newest first.
#[tauri::command(async)]
#[specta::specta]
pub async fn agent_history(state: State<'_, AppState>, id: String) -> IpcResult<Vec<Version>> {
    let history = api::agent_history(&state.studio, &id).await?;
    Ok(history
        .into_iter()
        .map(|v| Version { version: v.version, name: v.name, reason: v.reason, created_at: v.created_at })
        .collect())
}

/// Makes an old version current again (saved as a new version).
#[tauri::command(async)]
#[specta::specta]
pub async fn restore_agent<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    version: i64,
) -> IpcResult<i64> {
    if version < 1 {
        return Err(IpcError::invalid(format!("version {version} does not exist")));
    }
    let restored = api::restore_agent(&state.studio, &id, version).await?;
    emit(&app, AgentsChanged { id });
    Ok(restored)
}
