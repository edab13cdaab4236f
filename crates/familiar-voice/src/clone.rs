//! The cloned voice: MetaVoice-1B on candle, a zero-shot voice-cloning TTS
//! conditioned on a speaker's reference recording.
//!
//! Per sentence (cut at clauses past MetaVoice's 220 characters): the text
//! normalised and cut into MetaVoice's BPE ids; the first stage (a 1.2 B
//! causal transformer, candle-transformers' `metavoice::transformer`, checked
//! against a numpy transcription of MetaVoice's) writes the first two EnCodec codebooks
//! interleaved, guided towards the speaker by classifier-free guidance (a
//! batch of two: with and without the speaker embedding), sampled with
//! temperature and top-p from a seed; the second stage (a 14 M non-causal
//! GPT) writes the other six codebooks; EnCodec's decoder turns the eight into
//! 24 kHz samples. The speaker embedding is MetaVoice's own (its GE2E speaker
//! encoder over the reference). Three parts are ours rather than
//! candle-transformers' because theirs differ from MetaVoice (see `speaker`,
//! `second_stage`, `codec`); MetaVoice's own decoding goes further (multi-band
//! diffusion and DeepFilterNet), which candle has not, so this voice sounds
//! like candle's MetaVoice example, not like MetaVoice's demo.
//!
//! Invariants: a sentence reaches the sink as soon as it is decoded, before
//! the next one is started; a cancel flag is read before every generated token;
//! the same seed, text and reference give the same samples (each sentence is
//! seeded from the seed and its own text, so it sounds the same wherever it
//! falls); generation is bounded per sentence; the model stays on the thread
//! that owns this value (no global state).

mod codec;
#[cfg(test)]
mod parity;
mod second_stage;
mod speaker;
mod text;
mod tiny;
mod weights;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{Device, IndexOp, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::metavoice::{adapters, transformer};

use crate::Audio;
use crate::tts::{Prosody, TtsError, Voice};
pub use tiny::{TinyConfig, write_random_model};
use weights::Safetensors;

/// The name the model manager and the command line know this model by.
pub const MODEL_ID: &str = "metavoice-1b";

/// One file of the real model: where it comes from and its name in the model folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// File name inside the model folder.
    pub name: &'static str,
    /// Hugging Face repository.
    pub repo: &'static str,
    /// Path inside that repository.
    pub path: &'static str,
    /// Size as the Hub lists it (rounded there); the tensor data alone is given in the docs.
    pub approx_bytes: u64,
}

pub const FIRST_STAGE_META: &str = "first_stage.meta.json";
pub const FIRST_STAGE: &str = "first_stage.safetensors";
pub const SECOND_STAGE: &str = "second_stage.safetensors";
pub const SPEAKER_ENCODER: &str = "speaker_encoder.safetensors";
pub const ENCODEC: &str = "encodec_24khz.safetensors";

/// The files of MetaVoice-1B as candle reads them. `lmz/candle-metavoice` holds
/// MetaVoice's checkpoints (`metavoiceio/metavoice-1B-v0.1`, torch pickles)
/// converted to safetensors, f32:
/// - `first_stage.safetensors`: 1,248,438,272 parameters (4,993,753,088 bytes of tensors);
/// - `second_stage.safetensors`: 14,459,136 parameters (57,836,544 bytes), `speaker_cond_pos` included;
/// - `speaker_encoder.safetensors`: 1,423,616 parameters (5,694,464 bytes);
/// - EnCodec's `model.safetensors` holds encoder, decoder and 32 codebooks;
///   only the decoder and the first 8 codebooks are read.
///
/// The repository also has `first_stage_q4k.gguf` (703 MB) and `first_stage_q6k.gguf`
/// (1.02 GB), not used here, and `spk_emb.safetensors` (a fixed speaker, 592 B), not needed.
pub const FILES: [ModelFile; 5] = [
    ModelFile { name: FIRST_STAGE_META, repo: "lmz/candle-metavoice", path: FIRST_STAGE_META, approx_bytes: 6_410 },
    ModelFile { name: FIRST_STAGE, repo: "lmz/candle-metavoice", path: FIRST_STAGE, approx_bytes: 4_990_000_000 },
    ModelFile { name: SECOND_STAGE, repo: "lmz/candle-metavoice", path: SECOND_STAGE, approx_bytes: 57_800_000 },
    ModelFile { name: SPEAKER_ENCODER, repo: "lmz/candle-metavoice", path: SPEAKER_ENCODER, approx_bytes: 5_700_000 },
    ModelFile { name: ENCODEC, repo: "facebook/encodec_24khz", path: "model.safetensors", approx_bytes: 93_100_000 },
];

/// The files of [`FILES`] that `folder` lacks: empty when the model is
/// installed (a check for the front ends that reads no weights).
pub fn missing_files(folder: &Path) -> Vec<ModelFile> {
    FILES.iter().filter(|f| !folder.join(f.name).is_file()).copied().collect()
}

/// Output rate of the voice.
pub const SAMPLE_RATE: u32 = codec::RATE;
/// EnCodec frames per second at 24 kHz (320 samples a frame).
const FRAME_RATE: f32 = 75.0;
/// The first stage's end-of-audio token (after 2 × 1024 interleaved codes).
const END_OF_AUDIO: u32 = 2 * codec::CODEBOOK_SIZE as u32;
/// The pad and end token of the codebooks (the first stage's text ids minus this are the second stage's).
const PAD: u32 = codec::CODEBOOK_SIZE as u32;
/// MetaVoice-1B's first stage has 16 heads, its second stage 6; shapes cannot tell.
const FIRST_STAGE_HEADS: usize = 16;
/// The longest reference accepted.
pub const MAX_REFERENCE_SECONDS: f64 = 60.0;

#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error("the cloned voice is not installed: {0} is missing (run `familiar models pull {MODEL_ID}`)")]
    NotInstalled(String),
    #[error("{file} is not a usable model file: {reason} (run `familiar models pull {MODEL_ID}` again)")]
    BadFile { file: String, reason: String },
    #[error("{file} lacks the tensor {tensor} (run `familiar models pull {MODEL_ID}` again)")]
    MissingTensor { file: String, tensor: String },
    #[error("{file}: the tensor {tensor} has the shape {found:?} where the model needs {expected:?}")]
    WrongShape { file: String, tensor: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("the speaker reference cannot be used: {0}")]
    Reference(String),
    #[error("the model failed while {context}: {source}")]
    Model { context: String, source: candle_core::Error },
    #[error("could not write {0}: {1}")]
    Write(String, String),
    #[error("the tiny model configuration is invalid: {0}")]
    TinyConfig(String),
}

impl From<CloneError> for TtsError {
    fn from(e: CloneError) -> Self {
        TtsError::Failed(e.to_string())
    }
}

/// How the cloned voice samples. `Default` is MetaVoice's (`fam/llm/fast_inference.py`).
#[derive(Debug, Clone)]
pub struct CloneOptions {
    /// Seed of the sampling (MetaVoice: 1337).
    pub seed: u64,
    /// Sampling temperature of both stages (1.0); 0 picks the most likely token.
    pub temperature: f64,
    /// Nucleus sampling of the first stage (0.95).
    pub top_p: f64,
    /// Classifier-free guidance towards the speaker (3.0; 1.0 switches it off).
    pub guidance: f64,
    /// Top-k sampling of the second stage (200).
    pub second_stage_top_k: usize,
    /// The longest audio one sentence may produce (MetaVoice: 864 frames, 11.5 s).
    pub max_seconds_per_sentence: f32,
    /// Where the model runs (the CPU; a CUDA device with the `cuda` feature).
    pub device: Device,
}

impl Default for CloneOptions {
    fn default() -> Self {
        CloneOptions {
            seed: 1337,
            temperature: 1.0,
            top_p: 0.95,
            guidance: 3.0,
            second_stage_top_k: 200,
            max_seconds_per_sentence: 11.52,
            device: Device::Cpu,
        }
    }
}

/// What the last `speak` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeakStats {
    /// Sentences handed to the sink.
    pub sentences: usize,
    /// First-stage tokens generated, over all sentences.
    pub tokens: usize,
}

/// MetaVoice-1B loaded, with a speaker once [`ClonedVoice::set_reference`] ran.
pub struct ClonedVoice {
    first: transformer::Model,
    first_block: usize,
    second: second_stage::SecondStage,
    codec: codec::Decoder,
    speaker_encoder: speaker::SpeakerEncoder,
    tokenizer: text::Tokenizer,
    speaker: Option<(Vec<f32>, Tensor)>,
    options: CloneOptions,
    cancel: Option<Arc<AtomicBool>>,
    stats: SpeakStats,
}

fn shape2(file: &Safetensors, tensor: &str) -> Result<(usize, usize), CloneError> {
    match file.shape(tensor)? {
        [a, b] => Ok((*a, *b)),
        other => Err(CloneError::BadFile {
            file: file.file_name(),
            reason: format!("{tensor} has {} dimensions, not 2", other.len()),
        }),
    }
}

fn bad(file: &Safetensors, reason: String) -> CloneError {
    CloneError::BadFile { file: file.file_name(), reason }
}

impl ClonedVoice {
    /// Loads the model folder (the files of [`FILES`]). Sizes are read from the
    /// files' shapes, so the tiny models of [`write_random_model`] load the same way.
    pub fn load(folder: &Path, options: CloneOptions) -> Result<ClonedVoice, CloneError> {
        if let Some(missing) = missing_files(folder).first() {
            return Err(CloneError::NotInstalled(folder.join(missing.name).display().to_string()));
        }
        let device = options.device.clone();
        let codec_device = if device.is_metal() { Device::Cpu } else { device.clone() };

        let first_file = Arc::new(Safetensors::open(&folder.join(FIRST_STAGE))?);
        let first_config = first_stage_config(&first_file)?;
        let first = transformer::Model::new(&first_config, first_file.var_builder(&device))
            .map_err(|e| first_file.error("loading the first stage", e))?;
        let tokenizer = text::Tokenizer::load(&folder.join(FIRST_STAGE_META), first_config.vocab_size)?;

        let second_file = Arc::new(Safetensors::open(&folder.join(SECOND_STAGE))?);
        let second_config = second_stage_config(&second_file)?;
        let second = second_stage::SecondStage::new(&second_config, second_file.var_builder(&device))
            .map_err(|e| second_file.error("loading the second stage", e))?;

        let speaker_file = Arc::new(Safetensors::open(&folder.join(SPEAKER_ENCODER))?);
        // torch's names, or those candle-transformers' own speaker encoder asks for.
        let numbered = speaker_file.contains("lstm.0.weight_hh_l0");
        let lstm = |i: usize, what: &str| match numbered {
            true => format!("lstm.{i}.{what}_l{i}"),
            false => format!("lstm.{what}_l{i}"),
        };
        let (four_hidden, hidden) = shape2(&speaker_file, &lstm(0, "weight_hh"))?;
        let (embedding, _) = shape2(&speaker_file, "linear.weight")?;
        let layers = (0..).take_while(|&i| speaker_file.contains(&lstm(i, "weight_ih"))).count();
        if hidden == 0 || embedding == 0 || layers == 0 || four_hidden != 4 * hidden {
            return Err(bad(&speaker_file, format!("lstm.weight_hh_l0 is {four_hidden}×{hidden}, not 4h×h")));
        }
        if embedding != first_config.speaker_emb_dim || second_config.speaker_emb_dim.is_some_and(|d| d != embedding) {
            return Err(bad(
                &speaker_file,
                format!(
                    "its embeddings have {embedding} values; the first stage takes {}",
                    first_config.speaker_emb_dim
                ),
            ));
        }
        let speaker_encoder =
            speaker::SpeakerEncoder::new(speaker_file.var_builder(&Device::Cpu), layers, hidden, embedding, numbered)
                .map_err(|e| speaker_file.error("loading the speaker encoder", e))?;

        let codec_file = Arc::new(Safetensors::open(&folder.join(ENCODEC))?);
        let codec_config = codec_config(&codec_file)?;
        let codec = codec::Decoder::new(codec_config, codec_file.var_builder(&codec_device))
            .map_err(|e| codec_file.error("loading the EnCodec decoder", e))?;

        Ok(ClonedVoice {
            first,
            first_block: first_config.block_size,
            second,
            codec,
            speaker_encoder,
            tokenizer,
            speaker: None,
            options,
            cancel: None,
            stats: SpeakStats::default(),
        })
    }

    /// Conditions the voice on reference audio (any rate; up to 60 s) — computes MetaVoice's speaker embedding.
    pub fn set_reference(&mut self, reference: &Audio) -> Result<(), CloneError> {
        if reference.rate == 0 || reference.samples.is_empty() {
            return Err(CloneError::Reference("the recording holds no samples".into()));
        }
        if reference.seconds() > MAX_REFERENCE_SECONDS + 0.5 {
            return Err(CloneError::Reference(format!(
                "the recording is {:.0} s long; at most {MAX_REFERENCE_SECONDS:.0} s are used",
                reference.seconds()
            )));
        }
        if reference.samples.iter().any(|s| !s.is_finite()) {
            return Err(CloneError::Reference("the recording has samples that are not numbers".into()));
        }
        let embedding = self.speaker_encoder.embed(reference)?;
        self.set_speaker_embedding(&embedding)
    }

    /// Conditions the voice on a speaker embedding computed before (kept with a voice profile).
    pub fn set_speaker_embedding(&mut self, embedding: &[f32]) -> Result<(), CloneError> {
        let expected = self.speaker_dim();
        if embedding.len() != expected || embedding.iter().any(|v| !v.is_finite()) {
            return Err(CloneError::Reference(format!(
                "a speaker embedding of {} values where the model takes {expected} finite values",
                embedding.len()
            )));
        }
        let tensor = Tensor::from_slice(embedding, (1, expected), &self.options.device)
            .map_err(|source| CloneError::Model { context: "storing the speaker embedding".into(), source })?;
        self.speaker = Some((embedding.to_vec(), tensor));
        Ok(())
    }

    /// MetaVoice's speaker embedding of the current reference (unit length).
    pub fn speaker_embedding(&self) -> Option<&[f32]> {
        self.speaker.as_ref().map(|(v, _)| v.as_slice())
    }

    /// A flag that stops `speak` before the next token once set (the caller resets it).
    pub fn set_cancel_flag(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    pub fn options(&self) -> &CloneOptions {
        &self.options
    }

    /// Changes the sampling (seed, temperature, …); the device stays the one loaded on.
    pub fn set_options(&mut self, options: CloneOptions) {
        let device = self.options.device.clone();
        self.options = CloneOptions { device, ..options };
    }

    /// What the last `speak` did.
    pub fn stats(&self) -> SpeakStats {
        self.stats
    }

    fn speaker_dim(&self) -> usize {
        self.speaker_encoder.embedding_dim()
    }

    fn check_cancel(&self) -> Result<(), TtsError> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(TtsError::Cancelled),
            _ => Ok(()),
        }
    }

    /// One sentence (normalised) to 24 kHz samples, before prosody.
    fn synthesize(&mut self, sentence: &str, speaker: &Tensor) -> Result<Vec<f32>, TtsError> {
        let failed = |context: &str| {
            let context = context.to_owned();
            move |source: candle_core::Error| TtsError::from(CloneError::Model { context, source })
        };
        let options = self.options.clone();
        let seed = options.seed ^ weights::fnv1a(sentence);
        let prompt = self.tokenizer.encode(sentence)?;
        let second_block = self.second.config().block_size;
        let frames_wanted = (options.max_seconds_per_sentence.max(0.0) * FRAME_RATE).ceil() as usize;
        let second_room = second_block.saturating_sub(prompt.len() + 1);
        let max_tokens =
            (2 * frames_wanted.max(1)).min(self.first_block.saturating_sub(prompt.len())).min(2 * second_room);
        if max_tokens == 0 {
            return Err(TtsError::Failed(format!(
                "the sentence is too long for the cloned voice ({} tokens): {sentence:?}",
                prompt.len()
            )));
        }

        // First stage: two codebooks, interleaved, with classifier-free guidance.
        let device = options.device.clone();
        let temperature = (options.temperature > 0.0).then_some(options.temperature);
        let mut sampler = LogitsProcessor::new(seed, temperature, Some(options.top_p));
        let mut tokens = prompt.clone();
        self.first.clear_kv_cache();
        let result = (|| {
            for step in 0..max_tokens {
                self.check_cancel()?;
                let context = if step == 0 { &tokens[..] } else { &tokens[tokens.len() - 1..] };
                let position = tokens.len() - context.len();
                let input = Tensor::new(context, &device)
                    .and_then(|t| t.unsqueeze(0))
                    .map_err(failed("preparing the first stage"))?;
                let input = Tensor::cat(&[&input, &input], 0).map_err(failed("preparing the first stage"))?;
                let logits =
                    self.first.forward(&input, speaker, position).map_err(failed("running the first stage"))?;
                let guided = (|| {
                    let conditioned = logits.i((0, 0))?;
                    let unconditioned = logits.i((1, 0))?;
                    (conditioned * options.guidance)? + (unconditioned * (1.0 - options.guidance))?
                })()
                .map_err(failed("guiding the first stage"))?;
                let next = sampler.sample(&guided).map_err(failed("sampling the first stage"))?;
                tokens.push(next);
                self.stats.tokens += 1;
                if next == END_OF_AUDIO {
                    break;
                }
            }
            Ok::<(), TtsError>(())
        })();
        self.first.clear_kv_cache();
        result?;

        let (_, first_book, second_book) =
            adapters::FlattenedInterleavedEncodec2Codebook::new(PAD).decode(&tokens[prompt.len()..]);
        let frames = first_book.len().min(second_book.len()).min(second_room);
        if frames == 0 {
            return Ok(Vec::new());
        }

        // Second stage: the other six codebooks, all positions at once.
        let text_vocab = self.second.config().vocab_sizes[0] as u32;
        let text: Vec<u32> = prompt.iter().map(|t| t.saturating_sub(PAD)).collect();
        if let Some(t) = text.iter().find(|&&t| !(PAD + 1..text_vocab).contains(&t)) {
            return Err(TtsError::Failed(format!("the text id {t} does not fit the second stage's vocabulary")));
        }
        let mut book1 = [text.as_slice(), &first_book[..frames], &[PAD]].concat();
        let mut book2 = [vec![PAD; text.len()].as_slice(), &second_book[..frames], &[PAD]].concat();
        book1.resize(second_block, PAD);
        book2.resize(second_block, PAD);
        let input = Tensor::from_vec([book1.as_slice(), book2.as_slice()].concat(), (1, 2, second_block), &device)
            .map_err(failed("preparing the second stage"))?;
        self.check_cancel()?;
        let heads = self.second.forward(&input, speaker).map_err(failed("running the second stage"))?;
        let sampling = match temperature {
            Some(temperature) => Sampling::TopK { k: options.second_stage_top_k.max(1), temperature },
            None => Sampling::ArgMax,
        };
        let mut sampler = LogitsProcessor::from_sampling(seed.wrapping_add(1), sampling);
        let mut books = vec![book1, book2];
        for head in heads {
            self.check_cancel()?;
            // One copy to the CPU, then one row per position.
            let head =
                head.i(0).and_then(|h| h.to_device(&Device::Cpu)).map_err(failed("sampling the second stage"))?;
            let row = (0..second_block)
                .map(|t| head.i(t).and_then(|logits| sampler.sample(&logits)))
                .collect::<candle_core::Result<Vec<u32>>>()
                .map_err(failed("sampling the second stage"))?;
            books.push(row);
        }
        let (_, codes) = adapters::TiltedEncodec::new(PAD).decode(&books);
        if codes.first().is_none_or(|c| c.is_empty()) {
            return Ok(Vec::new());
        }

        self.check_cancel()?;
        let mut samples = self.codec.decode(&codes).map_err(failed("decoding EnCodec"))?;
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(TtsError::Failed("the cloned voice produced samples that are not numbers".into()));
        }
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        if peak > 0.99 {
            let gain = 0.99 / peak;
            samples.iter_mut().for_each(|s| *s *= gain);
        }
        Ok(samples)
    }
}

impl Voice for ClonedVoice {
    fn sample_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    fn speak(&mut self, text: &str, prosody: Prosody, sink: &mut dyn FnMut(&[f32]) -> bool) -> Result<(), TtsError> {
        self.stats = SpeakStats::default();
        let Some((_, speaker)) = self.speaker.clone() else {
            return Err(TtsError::Failed("the cloned voice has no speaker reference yet".into()));
        };
        let pieces =
            crate::tts::sentences(text).iter().flat_map(|s| text::pieces(&text::normalize(s))).collect::<Vec<_>>();
        for sentence in pieces {
            if !sentence.chars().any(|c| c.is_alphanumeric()) {
                continue;
            }
            let samples = self.synthesize(&sentence, &speaker)?;
            if samples.is_empty() {
                continue;
            }
            let samples =
                crate::prosody::apply(samples, SAMPLE_RATE, prosody).map_err(|e| TtsError::Failed(e.to_string()))?;
            self.check_cancel()?;
            self.stats.sentences += 1;
            if !sink(&samples) {
                return Err(TtsError::Cancelled);
            }
        }
        Ok(())
    }
}

fn first_stage_config(file: &Safetensors) -> Result<transformer::Config, CloneError> {
    let (vocab_size, dim) = shape2(file, "tok_embeddings.weight")?;
    let (block_size, _) = shape2(file, "pos_embeddings.weight")?;
    let (_, speaker_emb_dim) = shape2(file, "speaker_cond_pos.weight")?;
    let (intermediate, _) = shape2(file, "layers.0.feed_forward.swiglu.w1.weight")?;
    let n_layer = file.count("layers");
    if dim == 0 || !dim.is_multiple_of(FIRST_STAGE_HEADS) {
        return Err(bad(file, format!("the width {dim} is not a multiple of {FIRST_STAGE_HEADS} heads")));
    }
    if vocab_size <= END_OF_AUDIO as usize {
        return Err(bad(file, format!("a vocabulary of {vocab_size} has no room for the audio tokens")));
    }
    Ok(transformer::Config {
        block_size,
        vocab_size,
        n_layer,
        n_head: FIRST_STAGE_HEADS,
        dim,
        speaker_emb_dim,
        intermediate_size: Some(intermediate),
        n_local_heads: None,
        norm_eps: 1e-5,
    })
}

fn second_stage_config(file: &Safetensors) -> Result<second_stage::Config, CloneError> {
    let (block_size, n_embd) = shape2(file, "transformer.wpe.weight")?;
    let vocab_sizes = (0..file.count("transformer.wtes"))
        .map(|i| shape2(file, &format!("transformer.wtes.{i}.weight")).map(|s| s.0))
        .collect::<Result<Vec<_>, _>>()?;
    let target_vocab_sizes = (0..file.count("lm_heads"))
        .map(|i| shape2(file, &format!("lm_heads.{i}.weight")).map(|s| s.0))
        .collect::<Result<Vec<_>, _>>()?;
    let speaker_emb_dim = match file.contains("speaker_cond_pos.weight") {
        true => Some(shape2(file, "speaker_cond_pos.weight")?.1),
        false => None,
    };
    let books = vocab_sizes.len() + target_vocab_sizes.len();
    if vocab_sizes.len() != 2 || books != codec::CODEBOOKS {
        return Err(bad(
            file,
            format!(
                "{} inputs and {} outputs where MetaVoice has 2 and 6",
                vocab_sizes.len(),
                target_vocab_sizes.len()
            ),
        ));
    }
    if vocab_sizes[1] <= PAD as usize || target_vocab_sizes.iter().any(|&v| v <= PAD as usize) {
        return Err(bad(file, "its codebook vocabularies have no pad token".into()));
    }
    if n_embd == 0 || !n_embd.is_multiple_of(second_stage::N_HEAD) {
        return Err(bad(file, format!("the width {n_embd} is not a multiple of {} heads", second_stage::N_HEAD)));
    }
    Ok(second_stage::Config {
        block_size,
        vocab_sizes,
        target_vocab_sizes,
        n_layer: file.count("transformer.h"),
        n_embd,
        speaker_emb_dim,
    })
}

fn codec_config(file: &Safetensors) -> Result<codec::Config, CloneError> {
    let shape = file.shape("decoder.layers.0.conv.weight_v")?;
    let [width, hidden_size, _] = shape else {
        return Err(bad(file, "decoder.layers.0.conv.weight_v is not 3-dimensional".into()));
    };
    let (width, hidden_size) = (*width, *hidden_size);
    let num_filters = width / 16;
    let block = file.shape("decoder.layers.4.block.1.conv.weight_v")?;
    let compress = match block.first() {
        Some(&h) if h > 0 && (width / 2).is_multiple_of(h) => (width / 2) / h,
        _ => return Err(bad(file, "decoder.layers.4.block.1.conv.weight_v has no usable width".into())),
    };
    if num_filters == 0 || !width.is_multiple_of(16) {
        return Err(bad(file, format!("a decoder width of {width} is not 16 × the filters")));
    }
    Ok(codec::Config { num_filters, hidden_size, compress })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_first_stage_config_matches_candle() {
        let real = transformer::Config::cfg1b_v0_1();
        assert_eq!(tiny::intermediate_size(real.dim), 5632);
        assert_eq!(real.n_head, FIRST_STAGE_HEADS);
    }

    #[test]
    fn options_default_to_metavoice() {
        let o = CloneOptions::default();
        assert_eq!((o.seed, o.temperature, o.top_p, o.guidance, o.second_stage_top_k), (1337, 1.0, 0.95, 3.0, 200));
    }
}
