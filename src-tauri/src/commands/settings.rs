//! The settings screen: the data folder, and the first-run setup (sample
//! agents, bundled models, the sample knowledge base).

use familiar::api;
use familiar::knowledge::IngestProgress;
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::events::{AgentsChanged, ModelsChanged, emit};
use crate::state::AppState;

/// The data folder in use.
#[tauri::command(async)]
#[specta::specta]
pub fn data_folder(state: State<'_, AppState>) -> String {
    state.studio.home().display().to_string()
}

/// What the setup installed.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SetupReport {
    /// Sample agents installed now (none when they were there).
    pub agents: Vec<String>,
    /// Models installed now.
    pub models: Vec<String>,
    /// Whether the speech model, the default voice and the speaker model are ready.
    pub speech: bool,
    pub voice: bool,
    pub speaker: bool,
}

/// Installs what the studio ships with, when missing: the sample agents, the
/// bundled models from the machine's model cache, the sample knowledge base
/// (its progress streams to `channel`). Running it again changes nothing.
#[tauri::command(async)]
#[specta::specta]
pub async fn setup_studio<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    channel: Channel<IngestProgress>,
) -> IpcResult<SetupReport> {
    let studio = &state.studio;
    let installed = api::install_samples(studio).await?;
    let agents = installed.iter().map(|r| r.name.clone()).collect();
    let mut models = Vec::new();
    models.extend(api::install_bundled_model(studio).await?.map(|m| m.id));
    models.extend(api::install_bundled_embedding_model(studio).await?.map(|m| m.id));
    let speech = api::voice::install_bundled_speech_model(studio).await?.is_some();
    let voice = api::voice::install_bundled_voice(studio).await?.is_some();
    let speaker = api::voice::install_bundled_speaker_model(studio).await?.is_some();
    if api::list_models(studio).await?.iter().any(|m| m.is_embedding()) {
        let progress = move |p: IngestProgress| {
            let _ = channel.send(p);
        };
        api::install_sample_knowledge(studio, &progress).await?;
    }
    let report = SetupReport { agents, models, speech, voice, speaker };
    for agent in &installed {
        emit(&app, AgentsChanged { id: agent.id.clone() });
    }
    for model in &report.models {
        emit(&app, ModelsChanged { id: model.clone() });
    }
    Ok(report)
}
