//! Voice: devices, presets, recording with a level meter, voice profiles
//! with consent, a preview in the agent's voice, transcription, and live
//! talk (events stream to a channel; press, release and stop come back
//! through `talk_control`).

use std::path::PathBuf;
use std::sync::Arc;

use familiar::api::talk::{LiveOptions, LiveSummary, TalkControl, TalkEvent, TalkMode};
use familiar::api::voice::{Span, VoiceChoice, VoiceDraftReport, VoiceProfileInfo, VoiceProfileReport, WavReport};
use familiar::api::{self, TurnOptions};
use familiar::voice::VoicePreset;
use familiar_voice::Transcript;
use familiar_voice::devices::{Cpal, DeviceInfo};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::events::{AgentsChanged, emit};
use crate::state::AppState;

/// Microphones and speakers (empty without a sound card).
#[tauri::command(async)]
#[specta::specta]
pub fn sound_devices() -> IpcResult<Vec<DeviceInfo>> {
    Ok(api::voice::sound_devices()?)
}

/// The bundled voice presets.
#[tauri::command(async)]
#[specta::specta]
pub fn voice_presets() -> Vec<VoicePreset> {
    familiar::voice::presets()
}

/// How an agent speaks without a profile: preset, rate and pitch (a new version).
#[tauri::command(async)]
#[specta::specta]
pub async fn set_agent_voice<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    agent: String,
    preset: Option<String>,
    rate: Option<f32>,
    pitch: Option<f32>,
) -> IpcResult<i64> {
    let version = api::voice::set_agent_voice(&state.studio, &agent, preset.as_deref(), rate, pitch).await?;
    emit(&app, AgentsChanged { id: agent });
    Ok(version)
}

/// A microphone's loudness, about ten times a second.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Level {
    pub db: f32,
}

/// Records from a microphone into the data folder's `recordings/` (levels
/// stream to `channel`; `request_id` stops early); returns the file.
#[tauri::command(async)]
#[specta::specta]
pub async fn record_audio(
    state: State<'_, AppState>,
    device: Option<String>,
    seconds: f64,
    request_id: String,
    channel: Channel<Level>,
) -> IpcResult<WavReport> {
    let job = state.job(&request_id);
    let dir = state.studio.home().join("recordings");
    std::fs::create_dir_all(&dir).map_err(|e| api::Error::Io {
        action: "could not create",
        path: dir.display().to_string(),
        source: e,
    })?;
    let out = dir.join(format!("{}.wav", uuid::Uuid::new_v4()));
    let mut last = std::time::Instant::now();
    let level = move |db: f32| {
        if last.elapsed() >= std::time::Duration::from_millis(80) {
            last = std::time::Instant::now();
            let _ = channel.send(Level { db });
        }
    };
    Ok(api::voice::record(device, seconds, &out, level, job.token.clone()).await?)
}

/// Checks up to 60 s of the creator's voice for an agent's profile; returns
/// the checks and the consent sentence to read.
#[tauri::command(async)]
#[specta::specta]
pub async fn import_voice_reference(
    state: State<'_, AppState>,
    agent: String,
    path: PathBuf,
    from: Option<f64>,
    to: Option<f64>,
) -> IpcResult<VoiceDraftReport> {
    Ok(api::voice::import_voice_reference(&state.studio, &agent, &path, Span { from, to }).await?)
}

/// Creates the profile from the read-out of the consent sentence.
#[tauri::command(async)]
#[specta::specta]
pub async fn create_voice_profile<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    agent: String,
    consent: PathBuf,
) -> IpcResult<VoiceProfileReport> {
    let report = api::voice::create_voice_profile(&state.studio, &agent, &consent).await?;
    emit(&app, AgentsChanged { id: report.agent.id.clone() });
    Ok(report)
}

/// An agent's voice profile, a draft waiting for consent, and which voice speaks.
#[tauri::command(async)]
#[specta::specta]
pub async fn voice_profile(state: State<'_, AppState>, agent: String) -> IpcResult<VoiceProfileInfo> {
    Ok(api::voice::voice_profile(&state.studio, &agent).await?)
}

/// Removes an agent's voice profile (a new version).
#[tauri::command(async)]
#[specta::specta]
pub async fn remove_voice_profile<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    agent: String,
) -> IpcResult<i64> {
    let version = api::voice::remove_voice_profile(&state.studio, &agent).await?;
    emit(&app, AgentsChanged { id: agent });
    Ok(version)
}

/// What a preview played.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Preview {
    pub seconds: f64,
    pub voice: VoiceChoice,
}

/// Speaks a text in the agent's voice on a speaker.
#[tauri::command(async)]
#[specta::specta]
pub async fn preview_voice(
    state: State<'_, AppState>,
    agent: String,
    text: String,
    device: Option<String>,
) -> IpcResult<Preview> {
    let (seconds, voice) = api::voice::preview_voice(&state.studio, &agent, &text, device).await?;
    Ok(Preview { seconds, voice })
}

/// The transcript of an audio file.
#[tauri::command(async)]
#[specta::specta]
pub async fn transcribe(state: State<'_, AppState>, path: PathBuf) -> IpcResult<Transcript> {
    Ok(api::voice::transcribe_file(&state.studio, &path, Default::default()).await?)
}

/// How a live talk starts.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
pub struct TalkSettings {
    /// Hands-free, or push-to-talk (`talk_control` press and release).
    pub mode: TalkMode,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    /// Stop the agent when the user speaks over it.
    pub barge_in: bool,
    /// Continue this conversation instead of starting one.
    pub conversation: Option<String>,
}

/// Talks with an agent live; every event streams to `channel`; returns when
/// `talk_control(request_id, stop)` ends it.
#[tauri::command(async)]
#[specta::specta]
pub async fn start_talk(
    state: State<'_, AppState>,
    agent: String,
    settings: TalkSettings,
    request_id: String,
    channel: Channel<TalkEvent>,
) -> IpcResult<LiveSummary> {
    let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    state.add_talk(&request_id, controls);
    let options = LiveOptions {
        mode: settings.mode,
        microphone: settings.microphone,
        speaker: settings.speaker,
        turn: TurnOptions::default(),
        barge_in: settings.barge_in,
        conversation: settings.conversation,
        ..Default::default()
    };
    let result =
        api::talk::talk_live(&state.studio, &agent, Arc::new(Cpal::default()), options, controls_rx, move |e| {
            let _ = channel.send(e);
        })
        .await;
    state.remove_talk(&request_id);
    Ok(result?)
}

/// What the user does in a live talk.
#[derive(Debug, Clone, Copy, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum TalkAction {
    Press,
    Release,
    Stop,
}

/// Presses or releases the talk button, or ends the talk.
#[tauri::command(async)]
#[specta::specta]
pub fn talk_control(state: State<'_, AppState>, request_id: String, action: TalkAction) -> IpcResult<()> {
    let control = match action {
        TalkAction::Press => TalkControl::Press,
        TalkAction::Release => TalkControl::Release,
        TalkAction::Stop => TalkControl::Stop,
    };
    state.control_talk(&request_id, control)
}
