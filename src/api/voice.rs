//! The voice part of the core API: the speech model (converted once from the
//! registry-shipped CTranslate2 Whisper into whisper.cpp's format),
//! transcription of audio files, the default voice (Piper), and a spoken turn
//! from file to file. Decoding and inference run off the async runtime.

use std::path::{Path, PathBuf};

use familiar_voice::tts::{Piper, Prosody};
use familiar_voice::{SttOptions, Transcriber, Transcript, audio, convert, stt};

use super::{Error, Result, Studio};
use crate::models;

/// Audio files longer than this are refused for transcription.
pub const MAX_TRANSCRIBE_SECONDS: f64 = 30.0 * 60.0;

/// Where the speech-to-text model lives in the data folder.
pub fn speech_model_path(studio: &Studio) -> PathBuf {
    studio.home.join("models").join("speech").join("ggml-tiny.en-q8_0.bin")
}

/// Converts the bundled Whisper tiny.en for whisper.cpp, once. Returns the
/// model's path, or `None` when the bundled model is not in the model cache.
pub async fn install_bundled_speech_model(studio: &Studio) -> Result<Option<PathBuf>> {
    let target = speech_model_path(studio);
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
    let model = speech_model_path(studio);
    if !model.is_file() {
        return Err(Error::Voice(
            "no speech-to-text model yet: run `familiar setup` (it converts the bundled Whisper tiny.en)".into(),
        ));
    }
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

/// The bundled Piper voice and ONNX Runtime, as installed in the data folder.
fn voice_paths(studio: &Studio) -> (PathBuf, PathBuf) {
    let models = studio.home.join("models");
    (models.join("voices").join("en_US-joe-medium.onnx"), models.join("onnxruntime").join("libonnxruntime.so"))
}

/// Installs the bundled voice (Piper "joe") and ONNX Runtime from the model
/// cache into the data folder. Returns the voice's path, or `None` when the
/// cache does not have them.
pub async fn install_bundled_voice(studio: &Studio) -> Result<Option<PathBuf>> {
    let (voice, runtime) = voice_paths(studio);
    let Some((cached_voice, cached_runtime)) = models::bundled_voice_files() else { return Ok(None) };
    let pairs = [
        (cached_voice.clone(), voice.clone()),
        (cached_voice.with_extension("onnx.json"), voice.with_extension("onnx.json")),
        (cached_runtime, runtime),
    ];
    for (from, to) in pairs {
        if to.is_file() {
            continue;
        }
        let dir = to.parent().unwrap_or(Path::new("."));
        let io = |source| Error::Io { action: "could not write", path: to.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let partial = to.with_extension("partial");
        std::fs::copy(&from, &partial).map_err(io)?;
        std::fs::rename(&partial, &to).map_err(io)?;
    }
    Ok(Some(voice))
}

fn load_voice(studio: &Studio, threads: Option<usize>) -> Result<Piper> {
    let (voice, runtime) = voice_paths(studio);
    if !voice.is_file() {
        return Err(Error::Voice("no voice yet: run `familiar setup` (it installs the bundled Piper voice)".into()));
    }
    let runtime = std::env::var_os("FAMILIAR_ONNXRUNTIME").map(PathBuf::from).unwrap_or(runtime);
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4));
    Ok(Piper::load(&voice, &runtime, threads)?)
}

/// A WAV file written by `say` or `record`.
#[derive(Debug, Clone, serde::Serialize)]
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

/// Plays an audio file on a speaker (the system's default when `device` is `None`).
pub async fn play_file(path: &Path, device: Option<String>) -> Result<f64> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let audio = audio::decode_file(&path, MAX_TRANSCRIBE_SECONDS)?;
        Cpal::default()
            .play(device.as_deref(), &audio, &std::sync::atomic::AtomicBool::new(false))
            .map_err(|e| Error::Voice(e.to_string()))?;
        Ok(audio.seconds())
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}

/// How long each stage of a spoken turn took, in milliseconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
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
    prosody: Prosody,
) -> Result<TalkReport> {
    use std::sync::mpsc;
    use std::time::Instant;

    let start = Instant::now();
    let transcript = transcribe_file(studio, question, SttOptions::default()).await?;
    if transcript.text.trim().is_empty() {
        return Err(Error::Voice("no words were recognised in the question".into()));
    }
    let stt_done = Instant::now();
    let mut voice = load_voice(studio, Some(1))?;
    let rate = voice.sample_rate();

    // The voice runs on its own thread and speaks each sentence as it arrives.
    let (sentences_tx, sentences_rx) = mpsc::channel::<String>();
    let speaker = std::thread::Builder::new()
        .name("familiar-tts".into())
        .spawn(move || -> std::result::Result<(Vec<f32>, Option<Instant>), familiar_voice::TtsError> {
            let mut samples = Vec::new();
            let mut first = None;
            for sentence in sentences_rx {
                voice.speak(&sentence, prosody, |chunk| {
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
    let pending = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (sink_pending, sink_tx) = (pending.clone(), sentences_tx.clone());
    let sink = Box::new(move |piece: &str| {
        first_token_sink.lock().map(|mut t| *t.get_or_insert_with(Instant::now)).ok();
        let Ok(mut pending) = sink_pending.lock() else { return };
        pending.push_str(piece);
        let mut done = familiar_voice::tts::sentences(&pending);
        let tail = if pending.trim_end().ends_with(['.', '!', '?', '\n']) { None } else { done.pop() };
        for sentence in done {
            let _ = sink_tx.send(sentence);
        }
        *pending = tail.unwrap_or_default();
    });
    let reply =
        super::send_message(studio, &conversation.id, &transcript.text, options, sink, Default::default()).await;
    // The last words, if the reply did not end a sentence; then the voice thread may finish.
    if let Ok(mut tail) = pending.lock()
        && !tail.trim().is_empty()
    {
        let _ = sentences_tx.send(std::mem::take(&mut *tail));
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
    Ok(TalkReport {
        transcript: transcript.text,
        reply: reply.message.content.clone(),
        conversation_id: conversation.id,
        out: out.to_path_buf(),
        answer_seconds: answer.seconds(),
        stages: StageTimes {
            stt_ms: ms(start, Some(stt_done)),
            first_token_ms: ms(stt_done, first_token),
            first_audio_ms: ms(start, first_audio),
            llm_ms: ms(stt_done, Some(llm_done)),
            total_ms: ms(start, Some(Instant::now())),
        },
    })
}

/// The sound devices (an empty list when there are none).
pub fn sound_devices() -> Result<Vec<familiar_voice::devices::DeviceInfo>> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    Cpal::default().devices().map_err(|e| Error::Voice(e.to_string()))
}

/// Records from a microphone into a WAV file; `level` gets each block's loudness (dBFS).
pub async fn record(
    device: Option<String>,
    seconds: f64,
    out: &Path,
    mut level: impl FnMut(f32) + Send + 'static,
) -> Result<WavReport> {
    use familiar_voice::devices::{Cpal, SoundDevices};
    if !(0.1..=600.0).contains(&seconds) {
        return Err(Error::Invalid(format!("a recording of {seconds} s: choose 0.1 to 600 s")));
    }
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let recording = Cpal::default()
            .record(device.as_deref(), seconds, &mut |db| {
                level(db);
                true
            })
            .map_err(|e| Error::Voice(e.to_string()))?;
        audio::write_wav(&out, &recording.audio)?;
        Ok(WavReport { seconds: recording.audio.seconds(), sample_rate: recording.audio.rate, out })
    })
    .await
    .map_err(|e| Error::Invalid(e.to_string()))?
}
