//! A BERT encoder for sentence embeddings, computed on packed sequences: the
//! tokens of every text in a batch sit in one matrix with no padding, so the
//! dense layers (candle's matmul) do no wasted work, and attention runs per
//! text over its own tokens (rayon, one task per text and head).
//!
//! Same weights and same arithmetic as Hugging Face's `BertModel` (post-norm
//! layers, exact GELU, absolute positions, token type 0).

use std::collections::HashMap;

use candle_core::Tensor;
use rayon::prelude::*;
use serde::Deserialize;

use crate::InferError;

/// The parts of `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f32 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

/// A dense layer: the weight as [in, out] for `x · W` (packed), and its bias.
struct Dense {
    weight: crate::gemm::Packed,
    bias: Vec<f32>,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Dense,
    out: Dense,
    norm1: Norm,
    up: Dense,
    down: Dense,
    norm2: Norm,
}

pub struct Bert {
    config: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
}

fn err(e: candle_core::Error) -> InferError {
    InferError::Model(format!("the embedding model could not run: {e}"))
}

struct Weights {
    tensors: HashMap<String, Tensor>,
    prefix: &'static str,
}

impl Weights {
    fn get(&self, name: &str) -> Result<Tensor, InferError> {
        let full = format!("{}{name}", self.prefix);
        // Old checkpoints name LayerNorm parameters gamma/beta.
        let legacy = full.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta");
        self.tensors
            .get(&full)
            .or_else(|| self.tensors.get(&legacy))
            .cloned()
            .ok_or_else(|| InferError::Model(format!("the weights have no tensor `{full}`")))
    }

    fn vec(&self, name: &str, len: usize) -> Result<Vec<f32>, InferError> {
        let t = self.get(name)?;
        let v =
            t.flatten_all().and_then(|t| t.to_dtype(candle_core::DType::F32)).and_then(|t| t.to_vec1()).map_err(err)?;
        if v.len() != len {
            return Err(InferError::Model(format!("tensor `{name}` has {} values, expected {len}", v.len())));
        }
        Ok(v)
    }

    /// Linear weights stored [out, in], concatenated along `out`, transposed.
    fn dense(&self, names: &[&str], inputs: usize, outputs: usize) -> Result<Dense, InferError> {
        let mut weights = Vec::new();
        let mut bias = Vec::new();
        for name in names {
            let w = self.get(&format!("{name}.weight"))?.to_dtype(candle_core::DType::F32).map_err(err)?;
            if w.dims() != [outputs, inputs] {
                return Err(InferError::Model(format!(
                    "`{name}.weight` has shape {:?}, expected [{outputs}, {inputs}]",
                    w.dims()
                )));
            }
            weights.push(w);
            bias.extend(self.vec(&format!("{name}.bias"), outputs)?);
        }
        let outputs = outputs * names.len();
        let weight: Vec<f32> = Tensor::cat(&weights, 0)
            .and_then(|w| w.t())
            .and_then(|w| w.contiguous())
            .and_then(|w| w.flatten_all())
            .and_then(|w| w.to_vec1())
            .map_err(err)?;
        Ok(Dense { weight: crate::gemm::Packed::new(&weight, inputs, outputs).map_err(err)?, bias })
    }

    fn norm(&self, name: &str, size: usize) -> Result<Norm, InferError> {
        Ok(Norm { gamma: self.vec(&format!("{name}.weight"), size)?, beta: self.vec(&format!("{name}.bias"), size)? })
    }
}

impl Dense {
    /// `x` ([rows, in]) · W + b.
    fn forward(&self, x: &[f32], rows: usize) -> Result<Vec<f32>, InferError> {
        self.weight.forward(x, rows, &self.bias).map_err(err)
    }
}

impl Norm {
    /// LayerNorm of every row of `x`, in place.
    fn apply(&self, x: &mut [f32], eps: f32) {
        let n = self.gamma.len();
        x.par_chunks_mut(n).for_each(|row| {
            let mean = row.iter().sum::<f32>() / n as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        });
    }
}

/// e^x to about 2e-7 relative error, branch-free so that loops over it
/// vectorise: 2^n · p(r) with x = n·ln2 + r, |r| ≤ ln2/2.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    // floor(x + 0.5), not round(): `round` has no vector instruction and would stop vectorisation.
    let n = x.mul_add(LOG2E, 0.5).floor();
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    let p = r.mul_add(1.0 / 720.0, 1.0 / 120.0);
    let p = r.mul_add(p, 1.0 / 24.0);
    let p = r.mul_add(p, 1.0 / 6.0);
    let p = r.mul_add(p, 0.5);
    let p = r.mul_add(p, 1.0);
    let p = r.mul_add(p, 1.0);
    // wrapping_add: no overflow check (debug builds keep them), so the loop vectorises.
    p * f32::from_bits(((n as i32).wrapping_add(127) as u32) << 23)
}

/// erf to 1.5e-7 (Abramowitz and Stegun 7.1.26).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / z.mul_add(0.327_591_1, 1.0);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-z * z);
    y.copysign(x)
}

/// Exact GELU (the erf form), in place.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn gelu(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

fn gelu_tanh(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + ((2.0 / std::f32::consts::PI).sqrt() * (*x + 0.044_715 * *x * *x * *x)).tanh());
    }
}

fn relu(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x = x.max(0.0));
}

/// Softmax of each row of `scores` ([rows, width]), in place.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn softmax_rows(scores: &mut [f32], width: usize) {
    for row in scores.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for s in row.iter_mut() {
            *s = exp(*s - max);
            sum += *s;
        }
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|s| *s *= inv);
    }
}

/// One head's attention over one text: `rows` are the text's [q | k | v]
/// rows (each `3·h` wide), the head's slice starts at `at`. Returns [len, d]:
/// softmax(Q·Kᵀ·scale)·V, both products on the packed kernel.
fn head_attention(rows: &[f32], h: usize, at: usize, d: usize, scale: f32) -> Result<Vec<f32>, InferError> {
    let len = rows.len() / (3 * h);
    let (mut q, mut keys_t, mut v) = (vec![0f32; len * d], vec![0f32; d * len], vec![0f32; len * d]);
    for (i, row) in rows.chunks_exact(3 * h).enumerate() {
        let (qi, ki, vi) = (&row[at..at + d], &row[h + at..h + at + d], &row[2 * h + at..2 * h + at + d]);
        q[i * d..(i + 1) * d].iter_mut().zip(qi).for_each(|(o, x)| *o = x * scale);
        v[i * d..(i + 1) * d].copy_from_slice(vi);
        for (k, x) in ki.iter().enumerate() {
            keys_t[k * len + i] = *x;
        }
    }
    let mut scores = crate::gemm::Packed::new(&keys_t, d, len).and_then(|k| k.product(&q, len)).map_err(err)?;
    softmax_rows(&mut scores, len);
    crate::gemm::Packed::new(&v, len, d).and_then(|v| v.product(&scores, len)).map_err(err)
}

impl Bert {
    /// Builds the encoder from safetensors tensors (with or without a `bert.` prefix).
    pub fn load(config: BertConfig, tensors: HashMap<String, Tensor>) -> Result<Bert, InferError> {
        if config.num_attention_heads == 0 || !config.hidden_size.is_multiple_of(config.num_attention_heads) {
            return Err(InferError::Model("hidden_size is not a multiple of num_attention_heads".into()));
        }
        if !matches!(config.hidden_act.as_str(), "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu") {
            return Err(InferError::Unsupported(format!("activation `{}`", config.hidden_act)));
        }
        let prefix = if tensors.contains_key("bert.embeddings.word_embeddings.weight") { "bert." } else { "" };
        let w = Weights { tensors, prefix };
        let h = config.hidden_size;
        let word = w.get("embeddings.word_embeddings.weight")?;
        let vocab = word.dims().first().copied().unwrap_or(0);
        let word = w.vec("embeddings.word_embeddings.weight", vocab * h)?;
        let position = w.vec("embeddings.position_embeddings.weight", config.max_position_embeddings * h)?;
        let types = w.get("embeddings.token_type_embeddings.weight")?.dims().first().copied().unwrap_or(0);
        let token_type = w.vec("embeddings.token_type_embeddings.weight", types * h)?;
        let norm = w.norm("embeddings.LayerNorm", h)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let qkv = [
                format!("{p}.attention.self.query"),
                format!("{p}.attention.self.key"),
                format!("{p}.attention.self.value"),
            ];
            layers.push(Layer {
                qkv: w.dense(&qkv.iter().map(String::as_str).collect::<Vec<_>>(), h, h)?,
                out: w.dense(&[&format!("{p}.attention.output.dense")], h, h)?,
                norm1: w.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                up: w.dense(&[&format!("{p}.intermediate.dense")], h, config.intermediate_size)?,
                down: w.dense(&[&format!("{p}.output.dense")], config.intermediate_size, h)?,
                norm2: w.norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        Ok(Bert { config, word, position, token_type, norm, layers })
    }

    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    pub fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    /// The last hidden states of each text's tokens, packed: text `i` owns
    /// rows `offsets[i]..offsets[i + 1]` of the returned [tokens, hidden] matrix.
    pub fn forward(&self, texts: &[&[u32]]) -> Result<(Vec<f32>, Vec<usize>), InferError> {
        let h = self.config.hidden_size;
        let vocab = self.word.len() / h;
        let mut offsets = vec![0usize];
        for t in texts {
            if t.len() > self.config.max_position_embeddings {
                return Err(InferError::Prompt(format!(
                    "a text has {} tokens, the model reads {}",
                    t.len(),
                    self.config.max_position_embeddings
                )));
            }
            offsets.push(offsets.last().copied().unwrap_or(0) + t.len());
        }
        let n = *offsets.last().unwrap_or(&0);
        let mut x = vec![0f32; n * h];
        for (t, ids) in texts.iter().enumerate() {
            for (pos, &id) in ids.iter().enumerate() {
                let id = id as usize;
                if id >= vocab {
                    return Err(InferError::Prompt(format!("token id {id} is outside the vocabulary")));
                }
                let row = &mut x[(offsets[t] + pos) * h..(offsets[t] + pos + 1) * h];
                let (word, position) = (&self.word[id * h..(id + 1) * h], &self.position[pos * h..(pos + 1) * h]);
                for (k, v) in row.iter_mut().enumerate() {
                    *v = word[k] + position[k] + self.token_type[k];
                }
            }
        }
        let eps = self.config.layer_norm_eps;
        self.norm.apply(&mut x, eps);
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x, n)?;
            let context = self.attention(&qkv, &offsets)?;
            let mut attended = layer.out.forward(&context, n)?;
            attended.par_iter_mut().zip(&x).for_each(|(a, r)| *a += r);
            layer.norm1.apply(&mut attended, eps);
            let mut inner = layer.up.forward(&attended, n)?;
            let act: fn(&mut [f32]) = match self.config.hidden_act.as_str() {
                "relu" => relu,
                "gelu_new" | "gelu_pytorch_tanh" => gelu_tanh,
                _ => gelu,
            };
            inner.par_chunks_mut(1 << 14).for_each(act);
            let mut out = layer.down.forward(&inner, n)?;
            out.par_iter_mut().zip(&attended).for_each(|(o, r)| *o += r);
            layer.norm2.apply(&mut out, eps);
            x = out;
        }
        Ok((x, offsets))
    }

    /// Self-attention of each text over its own tokens: `qkv` rows are
    /// [q | k | v]; returns the context rows, heads side by side.
    fn attention(&self, qkv: &[f32], offsets: &[usize]) -> Result<Vec<f32>, InferError> {
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let n = *offsets.last().unwrap_or(&0);
        let jobs: Vec<(usize, usize)> =
            (0..offsets.len() - 1).flat_map(|t| (0..heads).map(move |hd| (t, hd))).collect();
        // Each job yields its text's rows for one head: [len, d].
        let parts: Vec<Vec<f32>> = jobs
            .par_iter()
            .map(|&(t, hd)| {
                let (from, len) = (offsets[t], offsets[t + 1] - offsets[t]);
                head_attention(&qkv[from * 3 * h..(from + len) * 3 * h], h, hd * d, d, scale)
            })
            .collect::<Result<_, _>>()?;
        let mut context = vec![0f32; n * h];
        for (&(t, hd), part) in jobs.iter().zip(parts) {
            for (i, r) in part.chunks_exact(d).enumerate() {
                let at = (offsets[t] + i) * h + hd * d;
                context[at..at + d].copy_from_slice(r);
            }
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_matches_known_values() {
        for (x, want) in
            [(0.0f32, 0.0f32), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (-2.0, -0.995_322_3), (3.5, 0.999_999_3)]
        {
            assert!((super::erf(x) - want).abs() < 1e-6, "erf({x})");
        }
    }

    #[test]
    fn exp_matches_the_library_to_float_precision() {
        for i in -870..=880 {
            let x = i as f32 / 10.0;
            let (got, want) = (super::exp(x), x.exp());
            assert!(((got - want) / want).abs() < 1e-6, "exp({x}): {got} vs {want}");
        }
    }
}
