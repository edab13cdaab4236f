//! Tiny MetaVoice models: the real architecture (module structure, tensor
//! and file names, head counts, vocabularies, EnCodec's strides and 1024-code
//! codebooks, the speaker encoder's 40 mel bands) with small widths, written
//! as the real model folder with values drawn deterministically from a seed.
//! The modules are built over a recorder that lists the tensors they ask for,
//! so the files hold exactly what loading reads.

use std::path::Path;

use candle_transformers::models::metavoice::transformer;

use super::{
    CloneError, ENCODEC, END_OF_AUDIO, FIRST_STAGE, FIRST_STAGE_HEADS, FIRST_STAGE_META, SECOND_STAGE, SPEAKER_ENCODER,
    codec, second_stage, speaker, text, weights,
};

/// Sizes of a tiny MetaVoice: the real architecture (head counts, vocabularies,
/// EnCodec's strides and 1024-code codebooks, the speaker encoder's 40 mel
/// bands) with small widths and few layers.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyConfig {
    /// First-stage width, a multiple of its 16 heads (real: 2048).
    pub first_stage_width: usize,
    pub first_stage_layers: usize,
    /// First-stage context in tokens (real: 2048).
    pub first_stage_context: usize,
    /// Second-stage width, a multiple of its 6 heads (real: 384).
    pub second_stage_width: usize,
    pub second_stage_layers: usize,
    /// Second-stage context in positions (real: 1024).
    pub second_stage_context: usize,
    pub speaker_hidden: usize,
    pub speaker_layers: usize,
    /// Length of the speaker embedding (real: 256).
    pub speaker_embedding: usize,
    /// EnCodec's filters (real: 32) and latent width (real: 128).
    pub codec_filters: usize,
    pub codec_hidden: usize,
}

impl Default for TinyConfig {
    fn default() -> Self {
        TinyConfig {
            first_stage_width: 64,
            first_stage_layers: 2,
            first_stage_context: 256,
            second_stage_width: 48,
            second_stage_layers: 1,
            second_stage_context: 160,
            speaker_hidden: 16,
            speaker_layers: 3,
            speaker_embedding: 16,
            codec_filters: 2,
            codec_hidden: 8,
        }
    }
}

/// The first stage's feed-forward width for a model width (gpt-fast's rule, as MetaVoice).
pub(super) fn intermediate_size(dim: usize) -> usize {
    (2 * 4 * dim / 3).div_ceil(256) * 256
}

/// Writes a model folder of small random weights of the real architecture:
/// the file names and tensor names of the real model, values drawn from `seed`
/// (the same seed gives the same bytes), a small valid tokenizer. The EnCodec
/// file holds what synthesis reads: the decoder and the first 8 codebooks.
pub fn write_random_model(folder: &Path, config: &TinyConfig, seed: u64) -> Result<(), CloneError> {
    let invalid = |reason: &str| Err(CloneError::TinyConfig(reason.to_owned()));
    if config.first_stage_width == 0 || !config.first_stage_width.is_multiple_of(FIRST_STAGE_HEADS) {
        return invalid("the first-stage width must be a positive multiple of 16");
    }
    if config.second_stage_width == 0 || !config.second_stage_width.is_multiple_of(second_stage::N_HEAD) {
        return invalid("the second-stage width must be a positive multiple of 6");
    }
    if config.first_stage_layers == 0 || config.speaker_layers == 0 || config.codec_filters == 0 {
        return invalid("every part needs at least one layer and filter");
    }
    if config.first_stage_context < 32 || config.second_stage_context < 32 {
        return invalid("contexts shorter than 32 leave no room for speech");
    }
    std::fs::create_dir_all(folder).map_err(|e| CloneError::Write(folder.display().to_string(), e.to_string()))?;
    let record = |build: &dyn Fn(candle_nn::VarBuilder) -> candle_core::Result<()>, name: &str| {
        let recorder = weights::Recorder::default();
        build(recorder.var_builder()).map_err(|e| CloneError::TinyConfig(format!("building the {name}: {e}")))?;
        weights::write_filled(&folder.join(name), &recorder.tensors(), seed)
    };

    let first_config = transformer::Config {
        block_size: config.first_stage_context,
        vocab_size: 2562,
        n_layer: config.first_stage_layers,
        n_head: FIRST_STAGE_HEADS,
        dim: config.first_stage_width,
        speaker_emb_dim: config.speaker_embedding,
        intermediate_size: Some(intermediate_size(config.first_stage_width)),
        n_local_heads: None,
        norm_eps: 1e-5,
    };
    record(&|vb| transformer::Model::new(&first_config, vb).map(|_| ()), FIRST_STAGE)?;

    let second_config = second_stage::Config {
        block_size: config.second_stage_context,
        vocab_sizes: vec![1538, 1025],
        target_vocab_sizes: vec![1025; 6],
        n_layer: config.second_stage_layers,
        n_embd: config.second_stage_width,
        speaker_emb_dim: Some(config.speaker_embedding),
    };
    record(&|vb| second_stage::SecondStage::new(&second_config, vb).map(|_| ()), SECOND_STAGE)?;

    record(
        &|vb| {
            speaker::SpeakerEncoder::new(
                vb,
                config.speaker_layers,
                config.speaker_hidden,
                config.speaker_embedding,
                false,
            )
            .map(|_| ())
        },
        SPEAKER_ENCODER,
    )?;

    let codec_config =
        codec::Config { num_filters: config.codec_filters, hidden_size: config.codec_hidden, compress: 2 };
    record(&|vb| codec::Decoder::new(codec_config, vb).map(|_| ()), ENCODEC)?;

    let meta = text::tiny_meta(END_OF_AUDIO as u64 + 1);
    let path = folder.join(FIRST_STAGE_META);
    std::fs::write(&path, meta.to_string()).map_err(|e| CloneError::Write(path.display().to_string(), e.to_string()))
}
