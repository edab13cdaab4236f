//! Speech to text with whisper.cpp (through whisper-rs): a loaded model, and
//! transcripts with segment timestamps. Short clips encode only as much audio
//! context as they need (whisper.cpp would otherwise encode a full 30 s window).

use std::path::Path;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// Whisper listens at 16 kHz.
pub const SAMPLE_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("could not load the speech model {0}: {1}")]
    Load(String, String),
    #[error("transcription failed: {0}")]
    Failed(String),
    #[error("transcription cancelled")]
    Cancelled,
}

/// What to transcribe and how.
#[derive(Debug, Clone, Default)]
pub struct SttOptions {
    /// A language code (`en`, `de`, …); `None` = the model's own (English for `.en` models).
    pub language: Option<String>,
    /// CPU threads (default: all cores, at most 8).
    pub threads: Option<usize>,
}

/// A piece of the transcript with its time span.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
}

/// A transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
    /// Seconds of audio transcribed.
    pub audio_s: f64,
}

/// A loaded whisper model.
pub struct Transcriber {
    context: WhisperContext,
}

impl Transcriber {
    pub fn load(path: &Path) -> Result<Transcriber, SttError> {
        static QUIET: std::sync::Once = std::sync::Once::new();
        // whisper.cpp logs to stderr; route it to the (absent) log backend instead.
        QUIET.call_once(whisper_rs::install_logging_hooks);
        let name = path.display().to_string();
        let path_str = path.to_str().ok_or_else(|| SttError::Load(name.clone(), "the path is not UTF-8".into()))?;
        let context = WhisperContext::new_with_params(path_str, WhisperContextParameters::default())
            .map_err(|e| SttError::Load(name, e.to_string()))?;
        Ok(Transcriber { context })
    }

    /// Transcribes 16 kHz mono samples; `cancelled` is checked while decoding.
    pub fn transcribe(
        &self,
        samples: &[f32],
        options: &SttOptions,
        cancelled: impl Fn() -> bool + 'static,
    ) -> Result<Transcript, SttError> {
        let mut state = self.context.create_state().map_err(|e| SttError::Failed(e.to_string()))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let threads =
            options.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8));
        params.set_n_threads(threads as i32);
        params.set_language(options.language.as_deref());
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_no_context(true);
        // Whisper sees 30 s windows of 1500 frames (50 a second); a short clip needs only its own
        // frames plus a margin. Multiples of 64 keep the encoder's matrices aligned.
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        if seconds < 28.0 {
            let frames = ((seconds * 50.0) as u32 + 128).div_ceil(64) * 64;
            params.set_audio_ctx(frames.min(1500) as i32);
        }
        let aborted = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = aborted.clone();
        params.set_abort_callback_safe(move || {
            let stop = cancelled();
            flag.set(flag.get() || stop);
            stop
        });
        // Whisper wants at least one second.
        let mut padded;
        let audio = if samples.len() < SAMPLE_RATE as usize {
            padded = samples.to_vec();
            padded.resize(SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10, 0.0);
            &padded[..]
        } else {
            samples
        };
        let result = state.full(params, audio);
        if aborted.get() {
            return Err(SttError::Cancelled);
        }
        result.map_err(|e| SttError::Failed(e.to_string()))?;
        let mut segments = Vec::new();
        for segment in state.as_iter() {
            let text = segment.to_str_lossy().map_err(|e| SttError::Failed(e.to_string()))?.trim().to_owned();
            if text.is_empty() {
                continue;
            }
            // Timestamps are in hundredths of a second.
            segments.push(Segment {
                start_s: segment.start_timestamp() as f64 / 100.0,
                end_s: (segment.end_timestamp() as f64 / 100.0).min(seconds),
                text,
            });
        }
        let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Transcript { text, segments, audio_s: seconds })
    }
}
