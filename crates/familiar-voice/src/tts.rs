//! The default voice: a Piper VITS model run by ONNX Runtime (the `ort` crate,
//! loading the `libonnxruntime.so` the PyPI `onnxruntime` wheel ships), with
//! phonemes from Debian's `espeak-ng` program (called, not linked: espeak-ng
//! is GPL). Text is spoken sentence by sentence, each handed to a sink as soon
//! as it is ready, so playback can start before the whole reply is synthesised.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use unicode_normalization::UnicodeNormalization;

use crate::clone::ModelFile;

#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("the voice {0} could not be read: {1}")]
    Voice(String, String),
    #[error(
        "ONNX Runtime could not be loaded from {0}: {1} (download the default voice, which brings it, on the Models screen or with `familiar models pull piper-joe-medium`; or set FAMILIAR_ONNXRUNTIME to a libonnxruntime.so)"
    )]
    Runtime(String, RuntimeError),
    #[error("espeak-ng is needed for phonemes and could not run: {0} (install the Debian package espeak-ng)")]
    Espeak(String),
    #[error("speech synthesis failed: {0}")]
    Failed(String),
    #[error("speech synthesis cancelled")]
    Cancelled,
}

/// Why ONNX Runtime could not be loaded. Loading a library that is there is
/// tried once per process and its outcome kept, so every later caller gets a
/// clone of the same cause; a missing library is looked for again next time
/// (it may have been downloaded since).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("the file does not exist")]
    Missing,
    #[error(transparent)]
    Load(std::sync::Arc<ort::LoadDynamicError>),
    #[error(transparent)]
    Ort(std::sync::Arc<ort::Error>),
}

/// How the voice speaks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prosody {
    /// Speaking rate: 1.0 is the voice's own, 1.5 is 50 % faster.
    pub rate: f32,
    /// Pitch shift in semitones: 0 is the voice's own, +12 an octave up.
    pub pitch: f32,
}

impl Default for Prosody {
    fn default() -> Self {
        Prosody { rate: 1.0, pitch: 0.0 }
    }
}

/// A text-to-speech engine: the default voice ([`Piper`]) and the cloned voice
/// implement it, so a spoken turn does not care which one speaks.
pub trait Voice: Send {
    /// The rate of the samples handed to the sink.
    fn sample_rate(&self) -> u32;
    /// Speaks `text` sentence by sentence; `sink` receives each sentence's samples
    /// (mono f32 at [`Voice::sample_rate`]) as soon as they are ready and returns
    /// false to stop (then the result is [`TtsError::Cancelled`]).
    fn speak(&mut self, text: &str, prosody: Prosody, sink: &mut dyn FnMut(&[f32]) -> bool) -> Result<(), TtsError>;
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

/// The default voice as the model manager installs it: its id there, and its
/// files in Piper's own repository on the Hugging Face Hub.
pub const DEFAULT_VOICE_ID: &str = "piper-joe-medium";
/// The default voice's model file; its `.onnx.json` lies beside it.
pub const DEFAULT_VOICE_MODEL: &str = "en_US-joe-medium.onnx";
pub const DEFAULT_VOICE_FILES: [ModelFile; 2] = [
    ModelFile {
        name: DEFAULT_VOICE_MODEL,
        repo: "rhasspy/piper-voices",
        path: "en/en_US/joe/medium/en_US-joe-medium.onnx",
        approx_bytes: 63_201_294,
    },
    ModelFile {
        name: "en_US-joe-medium.onnx.json",
        repo: "rhasspy/piper-voices",
        path: "en/en_US/joe/medium/en_US-joe-medium.onnx.json",
        approx_bytes: 4_794,
    },
];

/// A loaded Piper voice.
pub struct Piper {
    session: ort::session::Session,
    config: VoiceConfig,
    ids: HashMap<char, Vec<i64>>,
    espeak: Option<Espeak>,
}

/// ONNX Runtime, loaded from `library` once per process (it allows one environment).
fn runtime(library: &Path) -> Result<&'static ort::environment::Environment, TtsError> {
    static LOADED: std::sync::OnceLock<Result<ort::environment::Environment, RuntimeError>> =
        std::sync::OnceLock::new();
    if LOADED.get().is_none() && !library.is_file() {
        return Err(TtsError::Runtime(library.display().to_string(), RuntimeError::Missing));
    }
    let result = LOADED.get_or_init(|| {
        let builder = ort::init_from(library).map_err(|e| RuntimeError::Load(e.into()))?;
        builder.with_name("familiar").build().map_err(|e| RuntimeError::Ort(e.into()))
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
        Ok(Piper { session, config, ids, espeak: None })
    }

    /// A sentence's phonemes from the long-lived espeak-ng, started on first
    /// use and again after it failed.
    fn phonemize(&mut self, sentence: &str) -> Result<String, TtsError> {
        let espeak = match &mut self.espeak {
            Some(espeak) => espeak,
            None => self.espeak.insert(Espeak::start(&self.config.espeak.voice)?),
        };
        espeak.phonemize(sentence).inspect_err(|_| self.espeak = None)
    }

    /// Speaks all of `text` and returns the samples.
    pub fn speak_all(&mut self, text: &str, prosody: Prosody) -> Result<Vec<f32>, TtsError> {
        let mut out = Vec::new();
        self.speak(text, prosody, &mut |s| {
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
        let rate = self.config.audio.sample_rate;
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
        // Piper sets the rate itself; the pitch is moved afterwards, the length kept.
        crate::prosody::apply(audio.to_vec(), rate, Prosody { rate: 1.0, pitch: prosody.pitch })
            .map_err(|e| TtsError::Failed(e.to_string()))
    }
}

impl Voice for Piper {
    fn sample_rate(&self) -> u32 {
        self.config.audio.sample_rate
    }

    fn speak(&mut self, text: &str, prosody: Prosody, sink: &mut dyn FnMut(&[f32]) -> bool) -> Result<(), TtsError> {
        for sentence in sentences(text) {
            let phonemes = self.phonemize(&sentence)?;
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
}

/// Cuts text that arrives in pieces (a reply being written) into finished
/// sentences, so each can be spoken while the rest is still being written.
/// The first piece of a reply may be its first clause (ended by a comma,
/// semicolon or colon after at least [`FIRST_CLAUSE_WORDS`] words): the voice
/// starts without waiting for the whole first sentence to be written.
#[derive(Debug, Default)]
pub struct SentenceCutter {
    pending: String,
    /// Whether a piece has been given out (only the first may be a clause).
    started: bool,
}

/// The fewest words a first clause is spoken on its own with.
pub const FIRST_CLAUSE_WORDS: usize = 2;

impl SentenceCutter {
    /// Adds a piece; returns the sentences (or first clause) it finished.
    pub fn push(&mut self, piece: &str) -> Vec<String> {
        self.pending.push_str(piece);
        let mut done = Vec::new();
        if !self.started
            && let Some(end) = first_clause_end(&self.pending)
        {
            done.push(self.pending[..end].trim().to_owned());
            self.pending = self.pending[end..].to_owned();
        }
        let mut finished = sentences(&self.pending);
        let ended = self.pending.trim_end().ends_with(['.', '!', '?', '\n']);
        let tail = if ended { None } else { finished.pop() };
        self.pending = tail.unwrap_or_default();
        done.extend(finished);
        self.started |= !done.is_empty();
        done
    }

    /// The unfinished rest, if any (the reply ended without punctuation).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.trim().is_empty()).then_some(rest)
    }
}

/// Where the first clause of `text` ends (just after its mark), when it ends
/// before the first sentence does and has enough words.
fn first_clause_end(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let followed_by_space = chars.peek().is_some_and(|(_, n)| n.is_whitespace());
        if !followed_by_space {
            continue;
        }
        if ".!?\n".contains(c) {
            return None;
        }
        if ",;:".contains(c) {
            let end = at + c.len_utf8();
            return (text[..end].split_whitespace().count() >= FIRST_CLAUSE_WORDS).then_some(end);
        }
    }
    None
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

/// A sentence's clauses, each with the punctuation that ended it.
fn clauses(sentence: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    for clause in split_after(sentence, &[',', ';', ':', '.', '!', '?']) {
        let (body, mark) = match clause.chars().last() {
            Some(c) if ",;:.!?".contains(c) => (clause[..clause.len() - c.len_utf8()].trim().to_owned(), Some(c)),
            _ => (clause.trim().to_owned(), None),
        };
        if !body.is_empty() {
            out.push((body.replace('\n', " "), mark));
        }
    }
    out
}

/// Each clause's IPA followed by its punctuation, clauses joined by spaces.
fn join_clauses(lines: &[String], clauses: &[(String, Option<char>)]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .zip(clauses)
        .map(|(ipa, (_, mark))| format!("{ipa}{}", mark.map(String::from).unwrap_or_default()))
        .collect();
    parts.join(" ")
}

/// A sentence's phonemes as Piper was trained on them: each clause through
/// `espeak-ng --ipa`, followed by the clause's punctuation, clauses joined by
/// spaces. One espeak-ng run per sentence (a clause per line, a line back per clause).
pub fn phonemize(sentence: &str, voice: &str) -> Result<String, TtsError> {
    let clauses = clauses(sentence);
    if clauses.is_empty() {
        return Ok(String::new());
    }
    let bodies: Vec<&str> = clauses.iter().map(|(b, _)| b.as_str()).collect();
    let mut lines = espeak(&bodies.join("\n"), voice)?;
    if lines.len() != clauses.len() {
        // espeak-ng split a clause itself: ask clause by clause.
        lines = bodies.iter().map(|b| espeak(b, voice).map(|l| l.join(" "))).collect::<Result<_, _>>()?;
    }
    Ok(join_clauses(&lines, &clauses))
}

/// espeak-ng's IPA for each of `words` (stress marks kept), in one run: a word a line.
pub fn phonemize_words(words: &[String], voice: &str) -> Result<Vec<String>, TtsError> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let lines = espeak(&words.join("\n"), voice)?;
    if lines.len() == words.len() {
        return Ok(lines);
    }
    // A "word" espeak-ng read as two lines, or as none: ask word by word.
    words.iter().map(|w| espeak(w, voice).map(|l| l.join(" "))).collect()
}

/// How espeak-ng is asked for phonemes: quiet, IPA, at `SPEED`.
const ESPEAK_ARGS: [&str; 5] = ["-q", "--ipa", "-s", SPEED, "-v"];

/// espeak-ng's speed in words a minute. The program synthesizes the speech it
/// is asked the phonemes of (unheard): at 400 rather than its default 175 there
/// is less of it, and a sentence takes ≈ 0.9 ms instead of ≈ 1.8. The phonemes
/// are the same; above 450 espeak-ng switches to another, slower, speed-up.
const SPEED: &str = "400";

/// espeak-ng's IPA for `text`, one line per line of output, spaces normalised.
fn espeak(text: &str, voice: &str) -> Result<Vec<String>, TtsError> {
    let output = Command::new("espeak-ng")
        .args(ESPEAK_ARGS)
        .arg(voice)
        .arg(text)
        .output()
        .map_err(|e| TtsError::Espeak(e.to_string()))?;
    if !output.status.success() {
        return Err(TtsError::Espeak(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().filter_map(normalise).collect())
}

/// An IPA line with its spaces normalised; `None` when it is empty.
fn normalise(line: &str) -> Option<String> {
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then_some(line)
}

/// A line whose IPA ends each request to the long-lived espeak-ng: phonemes
/// given as such (`[[…]]`), read back as `xʃx` (`rʃr` in Portuguese), which no
/// clause gives alone (espeak-ng stresses every word with a vowel and spells
/// out the rest). Synthesizing it costs ≈ 0.03 ms; four rare words cost 0.6 ms.
const SENTINEL: &str = "[[xSx]]";

/// A long-lived `espeak-ng` process that reads text a line at a time and
/// answers each with its IPA at once: what piper-tts gets from linking the
/// library, without linking it (espeak-ng is GPL). After each request's lines
/// comes the sentinel line, so the answer's end is known however espeak-ng
/// splits a line.
struct Espeak {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
    sentinel: String,
}

impl Espeak {
    fn start(voice: &str) -> Result<Espeak, TtsError> {
        use std::process::Stdio;
        let mut child = Command::new("espeak-ng")
            .args(ESPEAK_ARGS)
            .arg(voice)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TtsError::Espeak(e.to_string()))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(TtsError::Espeak("no pipes to the espeak-ng process".into()));
        };
        let mut espeak = Espeak { child, input, output: std::io::BufReader::new(output), sentinel: String::new() };
        espeak.write_line(SENTINEL)?;
        espeak.sentinel = espeak.read_line()?;
        Ok(espeak)
    }

    fn write_line(&mut self, line: &str) -> Result<(), TtsError> {
        use std::io::Write;
        writeln!(self.input, "{line}").and_then(|()| self.input.flush()).map_err(|e| TtsError::Espeak(e.to_string()))
    }

    /// The next non-empty line of IPA.
    fn read_line(&mut self) -> Result<String, TtsError> {
        use std::io::BufRead;
        loop {
            let mut line = String::new();
            let n = self.output.read_line(&mut line).map_err(|e| TtsError::Espeak(e.to_string()))?;
            if n == 0 {
                return Err(TtsError::Espeak("the espeak-ng process ended".into()));
            }
            if let Some(line) = normalise(&line) {
                return Ok(line);
            }
        }
    }

    /// The IPA lines of `lines` (espeak-ng may split one line into several).
    fn ipa(&mut self, lines: &[&str]) -> Result<Vec<String>, TtsError> {
        for line in lines {
            self.write_line(line)?;
        }
        self.write_line(SENTINEL)?;
        let mut out = Vec::new();
        loop {
            let line = self.read_line()?;
            if line == self.sentinel {
                return Ok(out);
            }
            out.push(line);
        }
    }

    /// A sentence's phonemes, as [`phonemize`] gives them.
    fn phonemize(&mut self, sentence: &str) -> Result<String, TtsError> {
        let clauses = clauses(sentence);
        if clauses.is_empty() {
            return Ok(String::new());
        }
        let bodies: Vec<&str> = clauses.iter().map(|(b, _)| b.as_str()).collect();
        let mut lines = self.ipa(&bodies)?;
        if lines.len() != clauses.len() {
            // espeak-ng split a clause itself: ask clause by clause.
            lines = bodies.iter().map(|b| self.ipa(&[b]).map(|l| l.join(" "))).collect::<Result<_, _>>()?;
        }
        Ok(join_clauses(&lines, &clauses))
    }
}

impl Drop for Espeak {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_written_in_pieces_is_cut_into_sentences_as_they_finish() {
        let mut cutter = SentenceCutter::default();
        assert!(cutter.push("Hello").is_empty());
        assert_eq!(cutter.push(" there. How"), ["Hello there."]);
        assert!(cutter.push(" are you").is_empty());
        assert_eq!(cutter.push("? I am"), ["How are you?"]);
        assert_eq!(cutter.finish().as_deref(), Some("I am"));
        assert_eq!(cutter.finish(), None);
    }

    #[test]
    fn the_first_clause_of_a_reply_is_spoken_without_waiting_for_its_sentence() {
        let mut cutter = SentenceCutter::default();
        assert!(cutter.push("To export").is_empty());
        assert_eq!(cutter.push(" your notes, open"), ["To export your notes,"]);
        // Later clauses wait for their sentence.
        assert!(cutter.push(" the File menu, then").is_empty());
        assert_eq!(cutter.push(" Export. Done"), ["open the File menu, then Export."]);
        assert_eq!(cutter.finish().as_deref(), Some("Done"));
        // A clause of two words is enough ("I'm Orbit, …"); one word, a number's comma, or a
        // sentence that ends first: sentences only.
        let mut two = SentenceCutter::default();
        assert_eq!(two.push("I'm Orbit, the"), ["I'm Orbit,"]);
        let mut short = SentenceCutter::default();
        assert!(short.push("Yes, of course").is_empty());
        assert_eq!(short.push(". Next"), ["Yes, of course."]);
        let mut number = SentenceCutter::default();
        assert!(number.push("It costs 1,000 coins").is_empty());
        let mut sentence = SentenceCutter::default();
        assert_eq!(sentence.push("Hi there. Well, you see"), ["Hi there."]);
        assert!(sentence.push(", it works").is_empty());
    }

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

    #[test]
    fn asked_at_our_speed_espeak_gives_the_phonemes_of_its_default_speed() {
        let text = "It costs $1,234.56 on 3/4/2025, or 12% less.\nDr. Smith lives at 221B Baker St.\n\
                    I read the book yesterday, and I will read it again tomorrow.\nWow... that's amazing!";
        let ipa = |args: &[&str]| {
            let out = Command::new("espeak-ng").args(args).arg(text).output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        };
        let ours = ipa(&[&ESPEAK_ARGS[..], &["en-us"]].concat());
        assert!(ours.contains("θˈaʊzənd"), "{ours}");
        assert_eq!(ours, ipa(&["-q", "--ipa", "-v", "en-us"]));
    }

    #[test]
    fn the_long_lived_espeak_answers_as_a_fresh_one_does() {
        let mut espeak = Espeak::start("en-us").unwrap();
        for sentence in ["Hello there, my friend.", "Well: yes; no!", "Seventeen zebras, quantum harbour.", ""] {
            assert_eq!(espeak.phonemize(sentence).unwrap(), phonemize(sentence, "en-us").unwrap(), "{sentence}");
        }
        // Text espeak-ng cuts into clauses of its own does not put the process out of step.
        let odd = espeak.phonemize("It costs $1,234.56 on 3/4/2025 — or 12% less (see p. 7).").unwrap();
        assert!(odd.contains("θˈaʊzənd") && odd.contains("pɚsˈɛnt"), "{odd}");
        assert_eq!(espeak.phonemize("Hello there, my friend.").unwrap(), "həlˈoʊ ðˈɛɹ, maɪ fɹˈɛnd.");
    }

    #[test]
    fn words_are_phonemized_one_for_one() {
        let words: Vec<String> = ["avalanche", "I've", "a", "lunch", "3"].map(String::from).into();
        let ipa = phonemize_words(&words, "en-us").unwrap();
        assert_eq!(ipa, ["ˈævəlˌænʃ", "ˈaɪv", "ˈeɪ", "lˈʌntʃ", "θɹˈiː"], "{ipa:?}");
        assert!(phonemize_words(&[], "en-us").unwrap().is_empty());
    }
}
