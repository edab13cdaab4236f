//! The voice part of the core API: the speech model (converted once from the
//! registry-shipped CTranslate2 Whisper into whisper.cpp's format) and
//! transcription of audio files. Decoding and inference run off the async runtime.

use std::path::{Path, PathBuf};

use familiar_voice::{SttOptions, Transcriber, Transcript, audio, convert, stt};

use super::{Error, Result, Studio};
use crate::models;

/// Audio files longer than this are refused for transcription.
pub const MAX_TRANSCRIBE_SECONDS: f64 = 30.0 * 60.0;

/// Where the speech-to-text model lives in the data folder.
pub fn speech_model_path(studio: &Studio) -> PathBuf {
    studio.home.join("models").join("speech").join("ggml-tiny.en.bin")
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
/// ggml file at `out` (written to a temporary name, then renamed).
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
    convert::convert(&model, &vocabulary, file).map_err(|e| Error::Voice(e.to_string()))?;
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
