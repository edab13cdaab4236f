//! Speech to text with whisper.cpp (through whisper-rs): a loaded model, and
//! transcripts with segment timestamps. Audio is cut into pieces of at most
//! 29.5 s at its quietest moments, and each piece encodes only as much audio
//! context as it needs (whisper.cpp would otherwise encode a full 30 s window
//! for every piece, however short). A shortened context can send the decoder
//! round a loop ("Stop. What time is it? Stop. What time is it? …"); a piece
//! whose transcript loops is decoded again with the full window.

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
    /// A language code (`en`, `de`, …); `None`: English for `.en` models, detected for the others.
    pub language: Option<String>,
    /// CPU threads (default: all cores, at most 8).
    pub threads: Option<usize>,
    /// Segments with their own times. Without, each piece of audio is one
    /// segment and decoding is ≈ 1.7× faster (no timestamp tokens to write).
    pub timestamps: bool,
    /// A partial utterance (a transcript shown while the user speaks): decoded
    /// once, at temperature 0 only, at most `partial_tokens` long, and shown
    /// `without_loop` (audio cut off mid-word loops easily, and the final
    /// transcript replaces it anyway).
    pub partial: bool,
}

/// A piece of the transcript with its time span.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
}

/// A transcript.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
        let mut params = WhisperContextParameters::default();
        params.flash_attn(true);
        let context =
            WhisperContext::new_with_params(path_str, params).map_err(|e| SttError::Load(name, e.to_string()))?;
        Ok(Transcriber { context })
    }

    /// Transcribes 16 kHz mono samples; `cancelled` is checked before each piece.
    pub fn transcribe(
        &self,
        samples: &[f32],
        options: &SttOptions,
        cancelled: impl Fn() -> bool,
    ) -> Result<Transcript, SttError> {
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        let mut segments = Vec::new();
        for (start, end) in pieces(samples) {
            // Checked between pieces: whisper-rs 0.16's safe abort callback calls the closure
            // through the wrong type (it crashed here), so whisper.cpp is not interrupted mid-piece.
            if cancelled() {
                return Err(SttError::Cancelled);
            }
            let offset = start as f64 / SAMPLE_RATE as f64;
            for mut segment in self.transcribe_piece(&samples[start..end], options)? {
                segment.start_s += offset;
                segment.end_s = (segment.end_s + offset).min(seconds);
                segments.push(segment);
            }
        }
        let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        Ok(Transcript { text, segments, audio_s: seconds })
    }

    /// One piece of at most 30 s: with as much audio context as it needs, or
    /// with the full window when that transcript loops.
    fn transcribe_piece(&self, samples: &[f32], options: &SttOptions) -> Result<Vec<Segment>, SttError> {
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        // 50 encoder frames a second, plus a margin; multiples of 64 keep the matrices aligned.
        let frames = (((seconds * 50.0) as u32 + 128).div_ceil(64) * 64).min(FULL_CONTEXT);
        let mut segments = self.decode(samples, options, frames)?;
        if options.partial {
            for segment in &mut segments {
                segment.text = without_loop(&segment.text);
            }
        } else if frames < FULL_CONTEXT && segments.iter().any(|s| loops(&s.text)) {
            return self.decode(samples, options, FULL_CONTEXT);
        }
        Ok(segments)
    }

    fn decode(&self, samples: &[f32], options: &SttOptions, audio_ctx: u32) -> Result<Vec<Segment>, SttError> {
        let mut state = self.context.create_state().map_err(|e| SttError::Failed(e.to_string()))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let threads =
            options.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8));
        params.set_n_threads(threads as i32);
        // No language means detection, which costs an extra full-window encode; an English-only
        // model needs none (it was ≈ 0.75 s of every short utterance).
        let language = match options.language.as_deref() {
            Some(language) => Some(language),
            None if !self.context.is_multilingual() => Some("en"),
            None => None,
        };
        params.set_language(language);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_no_context(true);
        params.set_no_timestamps(!options.timestamps);
        params.set_single_segment(!options.timestamps);
        params.set_audio_ctx(audio_ctx as i32);
        let seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        if options.partial {
            // A looping partial otherwise wrote tokens up to the window's limit, then again at
            // each fallback temperature: ≈ 2.5 s for 1.3 s of audio, which the final transcript waited for.
            params.set_temperature_inc(0.0);
            params.set_max_tokens(partial_tokens(seconds) as i32);
        }
        // Whisper wants at least one second.
        let mut padded;
        let audio = if samples.len() < SAMPLE_RATE as usize {
            padded = samples.to_vec();
            padded.resize(SAMPLE_RATE as usize + SAMPLE_RATE as usize / 10, 0.0);
            &padded[..]
        } else {
            samples
        };
        state.full(params, audio).map_err(|e| SttError::Failed(e.to_string()))?;
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
        Ok(segments)
    }
}

/// The most tokens a partial transcript of `seconds` of audio may hold: twice
/// what fast speech (4 words a second, ≈ 1.3 tokens a word) needs, and 8 more.
pub fn partial_tokens(seconds: f64) -> usize {
    8 + (seconds * 10.0).ceil() as usize
}

/// Encoder frames in whisper's full 30 s window.
const FULL_CONTEXT: u32 = 1500;

/// Whether a transcript goes round a loop: a phrase of two or more words said
/// three times running, or of three or more words twice running. People do
/// repeat themselves, so in a final transcript a loop only earns a second
/// decode, never an edit.
pub fn loops(text: &str) -> bool {
    loop_start(text).is_some()
}

/// Where the first loop of `text` comes round again: the index, among its
/// whitespace-separated pieces, of the repeat's first piece.
fn loop_start(text: &str) -> Option<usize> {
    // The words, and the index of the piece each came from.
    let (at, words): (Vec<usize>, Vec<String>) = text
        .split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>())
        .enumerate()
        .filter(|(_, w)| !w.is_empty())
        .unzip();
    let repeated = |start: usize, n: usize, times: usize| {
        start + n * times <= words.len()
            && (1..times).all(|k| words[start..start + n] == words[start + k * n..start + (k + 1) * n])
    };
    (0..words.len()).find_map(|start| {
        (2..=words.len() / 2).find(|&n| repeated(start, n, if n >= 3 { 2 } else { 3 })).map(|n| at[start + n])
    })
}

/// A partial transcript without the loop audio cut off mid-word sends Whisper
/// round ("How do I export? How do I export? How do" → "How do I export? …").
pub fn without_loop(text: &str) -> String {
    match loop_start(text) {
        Some(cut) => format!("{} …", text.split_whitespace().take(cut).collect::<Vec<_>>().join(" ")),
        None => text.to_owned(),
    }
}

/// Cuts audio into pieces of at most 29.5 s, each ending at the quietest 20 ms
/// of its last 9.5 s (so a cut falls between words, not inside one); of
/// equally quiet moments (digital silence), the latest, so pieces are few.
pub fn pieces(samples: &[f32]) -> Vec<(usize, usize)> {
    let rate = SAMPLE_RATE as usize;
    let (longest, search, frame) = (rate * 59 / 2, rate * 19 / 2, rate / 50);
    let mut out = Vec::new();
    let mut start = 0;
    while samples.len() - start > longest {
        let (from, to) = (start + longest - search, start + longest);
        let energy = |at: usize| samples[at..at + frame].iter().map(|s| s * s).sum::<f32>();
        let cut =
            (from..to - frame).step_by(frame).rev().min_by(|&a, &b| energy(a).total_cmp(&energy(b))).unwrap_or(to);
        let cut = cut + frame / 2;
        out.push((start, cut));
        start = cut;
    }
    out.push((start, samples.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_said_over_and_over_is_a_loop_and_ordinary_speech_is_not() {
        assert!(loops("Stop. What time is it? Stop. What time is it? Stop. What time is it?"));
        assert!(loops("I think that I think that I think that"));
        assert!(loops("go home, go home, go home"));
        assert!(!loops("Stop! What time is it?"));
        assert!(!loops("very very good"));
        assert!(!loops("go home, go home"));
        assert!(!loops("the cat and the dog and the bird"));
        assert!(!loops(""));
    }

    #[test]
    fn a_partial_transcript_keeps_its_loop_once() {
        assert_eq!(without_loop("How do I export? How do I export? How do I export? How do"), "How do I export? …");
        assert_eq!(without_loop("Well, go home, go home, go home now"), "Well, go home, …");
        assert_eq!(without_loop("How do I export my notes?"), "How do I export my notes?");
        assert_eq!(without_loop("— go home — go home — go home"), "— go home — …");
    }

    #[test]
    fn long_audio_is_cut_at_its_quiet_moments_into_pieces_whisper_can_take() {
        let rate = SAMPLE_RATE as usize;
        // 70 s of "speech" with a silent gap at 25–25.3 s and at 52–52.3 s.
        let mut audio: Vec<f32> = (0..70 * rate).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
        for gap in [25 * rate, 52 * rate] {
            audio[gap..gap + rate * 3 / 10].iter_mut().for_each(|s| *s = 0.0);
        }
        let pieces = pieces(&audio);
        assert_eq!(pieces.len(), 3);
        assert_eq!((pieces[0].0, pieces[2].1), (0, audio.len()));
        for window in pieces.windows(2) {
            assert_eq!(window[0].1, window[1].0, "no sample lost or repeated");
        }
        for &(start, end) in &pieces {
            assert!(end - start <= rate * 59 / 2);
        }
        let cut = pieces[0].1 as f64 / rate as f64;
        assert!((25.0..25.3).contains(&cut), "cut at {cut} s");
        assert_eq!(super::pieces(&audio[..10 * rate]), vec![(0, 10 * rate)]);

        // Two silent gaps in reach of one cut: the later one, so the first piece is as long as it may be.
        audio[22 * rate..22 * rate + rate * 3 / 10].iter_mut().for_each(|s| *s = 0.0);
        let cut = super::pieces(&audio)[0].1 as f64 / rate as f64;
        assert!((25.0..25.3).contains(&cut), "cut at {cut} s");
    }
}
