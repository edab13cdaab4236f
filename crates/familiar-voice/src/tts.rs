//! The default voice: a Piper VITS model run by ONNX Runtime (the `ort` crate,
//! loading the `libonnxruntime.so` the PyPI `onnxruntime` wheel ships), with
//! phonemes from Debian's `espeak-ng` program (called, not linked: espeak-ng
//! is GPL). Text is spoken sentence by sentence, each handed to a sink as soon
//! as it is ready, so playback can start before the whole reply is synthesised.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use unicode_normalization::UnicodeNormalization;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("the voice {0} could not be read: {1}")]
    Voice(String, String),
    #[error(
        "ONNX Runtime could not be loaded from {0}: {1} (run scripts/fetch-models.sh, or set FAMILIAR_ONNXRUNTIME to a libonnxruntime.so)"
    )]
    Runtime(String, String),
    #[error("espeak-ng is needed for phonemes and could not run: {0} (install the Debian package espeak-ng)")]
    Espeak(String),
    #[error("speech synthesis failed: {0}")]
    Failed(String),
    #[error("speech synthesis cancelled")]
    Cancelled,
}

/// How the voice speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prosody {
    /// Speaking rate: 1.0 is the voice's own, 1.5 is 50 % faster.
    pub rate: f32,
}

impl Default for Prosody {
    fn default() -> Self {
        Prosody { rate: 1.0 }
    }
}

#[derive(serde::Deserialize)]
struct VoiceConfig {
    audio: AudioConfig,
    espeak: EspeakConfig,
    inference: InferenceConfig,
    phoneme_id_map: HashMap<String, Vec<i64>>,
}

#[derive(serde::Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(serde::Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(serde::Deserialize)]
struct InferenceConfig {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

/// A loaded Piper voice.
pub struct Piper {
    session: ort::session::Session,
    config: VoiceConfig,
    ids: HashMap<char, Vec<i64>>,
}

/// ONNX Runtime, loaded from `library` once per process (it allows one environment).
fn runtime(library: &Path) -> Result<&'static ort::environment::Environment, TtsError> {
    static LOADED: std::sync::OnceLock<Result<ort::environment::Environment, String>> = std::sync::OnceLock::new();
    let result = LOADED.get_or_init(|| {
        if !library.is_file() {
            return Err("the file does not exist".into());
        }
        ort::init_from(library).map_err(|e| e.to_string())?.with_name("familiar").build().map_err(|e| e.to_string())
    });
    result.as_ref().map_err(|e| TtsError::Runtime(library.display().to_string(), e.clone()))
}

impl Piper {
    /// Loads `<model>.onnx` and its `<model>.onnx.json`.
    pub fn load(model: &Path, onnxruntime: &Path, threads: usize) -> Result<Piper, TtsError> {
        let environment = runtime(onnxruntime)?;
        let name = model.display().to_string();
        let json_path = model.with_extension("onnx.json");
        let json =
            std::fs::read(&json_path).map_err(|e| TtsError::Voice(json_path.display().to_string(), e.to_string()))?;
        let config: VoiceConfig = serde_json::from_slice(&json)
            .map_err(|e| TtsError::Voice(json_path.display().to_string(), e.to_string()))?;
        let ids = config
            .phoneme_id_map
            .iter()
            .filter_map(|(k, v)| {
                let mut chars = k.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some((c, v.clone())),
                    _ => None,
                }
            })
            .collect();
        let voice_error = |e: String| TtsError::Voice(name.clone(), e);
        let session = ort::session::Session::builder(environment)
            .map_err(|e| voice_error(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| voice_error(e.to_string()))?
            .commit_from_file(model)
            .map_err(|e| voice_error(e.to_string()))?;
        Ok(Piper { session, config, ids })
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.audio.sample_rate
    }

    /// Speaks `text` sentence by sentence; `sink` receives each sentence's samples
    /// (mono f32 at [`Piper::sample_rate`]) and returns false to stop.
    pub fn speak(
        &mut self,
        text: &str,
        prosody: Prosody,
        mut sink: impl FnMut(&[f32]) -> bool,
    ) -> Result<(), TtsError> {
        for sentence in sentences(text) {
            let phonemes = phonemize(&sentence, &self.config.espeak.voice)?;
            if phonemes.trim().is_empty() {
                continue;
            }
            let samples = self.synthesize(&phonemes, prosody)?;
            if !sink(&samples) {
                return Err(TtsError::Cancelled);
            }
        }
        Ok(())
    }

    /// Speaks all of `text` and returns the samples.
    pub fn speak_all(&mut self, text: &str, prosody: Prosody) -> Result<Vec<f32>, TtsError> {
        let mut out = Vec::new();
        self.speak(text, prosody, |s| {
            out.extend_from_slice(s);
            true
        })?;
        Ok(out)
    }

    /// Piper's ids: `^`, then each phoneme (NFD code point) followed by the pad `_`, then `$`.
    fn phoneme_ids(&self, phonemes: &str) -> Vec<i64> {
        let id = |c: char| self.ids.get(&c).cloned().unwrap_or_default();
        let mut out = id('^');
        out.extend(id('_'));
        for c in phonemes.nfd() {
            if let Some(ids) = self.ids.get(&c) {
                out.extend(ids);
                out.extend(id('_'));
            }
        }
        out.extend(id('$'));
        out
    }

    fn synthesize(&mut self, phonemes: &str, prosody: Prosody) -> Result<Vec<f32>, TtsError> {
        use ort::value::Tensor;
        let ids = self.phoneme_ids(phonemes);
        let n = ids.len();
        let inference = &self.config.inference;
        let length_scale = inference.length_scale / prosody.rate.clamp(0.25, 4.0);
        let scales = vec![inference.noise_scale, length_scale, inference.noise_w];
        let failed = |e: ort::Error| TtsError::Failed(e.to_string());
        let input = Tensor::from_array(([1usize, n], ids)).map_err(failed)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(failed)?;
        let scales = Tensor::from_array(([3usize], scales)).map_err(failed)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales])
            .map_err(failed)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(failed)?;
        Ok(audio.to_vec())
    }
}

/// Sentences, each ending with its own punctuation.
pub fn sentences(text: &str) -> Vec<String> {
    split_after(text, &['.', '!', '?', '\n'])
}

fn split_after(text: &str, marks: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if marks.contains(&c) && chars.peek().is_none_or(|n| n.is_whitespace()) {
            if !current.trim().is_empty() {
                out.push(current.trim().to_owned());
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// A sentence's phonemes as Piper was trained on them: each clause through
/// `espeak-ng --ipa`, followed by the clause's punctuation, clauses joined by
/// spaces. One espeak-ng run per sentence (a clause per line, a line back per clause).
pub fn phonemize(sentence: &str, voice: &str) -> Result<String, TtsError> {
    let mut clauses = Vec::new();
    for clause in split_after(sentence, &[',', ';', ':', '.', '!', '?']) {
        let (body, mark) = match clause.chars().last() {
            Some(c) if ",;:.!?".contains(c) => (clause[..clause.len() - c.len_utf8()].trim().to_owned(), Some(c)),
            _ => (clause.trim().to_owned(), None),
        };
        if !body.is_empty() {
            clauses.push((body.replace('\n', " "), mark));
        }
    }
    if clauses.is_empty() {
        return Ok(String::new());
    }
    let bodies: Vec<&str> = clauses.iter().map(|(b, _)| b.as_str()).collect();
    let mut lines = espeak(&bodies.join("\n"), voice)?;
    if lines.len() != clauses.len() {
        // espeak-ng split a clause itself: ask clause by clause.
        lines = bodies.iter().map(|b| espeak(b, voice).map(|l| l.join(" "))).collect::<Result<_, _>>()?;
    }
    let parts: Vec<String> = lines
        .iter()
        .zip(&clauses)
        .map(|(ipa, (_, mark))| format!("{ipa}{}", mark.map(String::from).unwrap_or_default()))
        .collect();
    Ok(parts.join(" "))
}

/// espeak-ng's IPA for `text`, one line per line of output, spaces normalised.
fn espeak(text: &str, voice: &str) -> Result<Vec<String>, TtsError> {
    let output = Command::new("espeak-ng")
        .args(["-q", "--ipa", "-v", voice])
        .arg(text)
        .output()
        .map_err(|e| TtsError::Espeak(e.to_string()))?;
    if !output.status.success() {
        return Err(TtsError::Espeak(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_into_sentences_that_keep_their_punctuation() {
        assert_eq!(sentences("Hello there. How are you? Fine!"), ["Hello there.", "How are you?", "Fine!"]);
        assert_eq!(sentences("Version 2.5 is out"), ["Version 2.5 is out"]);
        assert!(sentences("  ").is_empty());
    }

    #[test]
    fn phonemes_keep_clause_punctuation_as_piper_does() {
        let p = phonemize("Hello there, my friend.", "en-us").unwrap();
        assert_eq!(p, "həlˈoʊ ðˈɛɹ, maɪ fɹˈɛnd.");
        assert_eq!(phonemize("Well: yes; no!", "en-us").unwrap(), "wˈɛl: jˈɛs; nˈoʊ!");
    }
}
