//! Familiar's own llama-family model (llama, qwen2): the same architecture
//! candle-transformers has, written here so that the runtime controls what
//! matters for chat:
//! - the KV cache can be cut back to any length, so a new prompt that shares
//!   only part of the cached tokens (an edit, a regenerate) still reuses them;
//! - small models keep their weights dequantized to f32, where the CPU
//!   matrix-multiply is several times faster at prefill than the quantized
//!   kernels; large ones stay quantized to fit in memory.
//!
//! Shape follows candle: `from_gguf` + `forward(tokens, pos)` + `truncate_cache`.

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, DType, Device, Module, Result, Storage, Tensor};
use candle_nn::{Embedding, RmsNorm};
use rayon::prelude::*;

/// Models whose weights take less than this many bytes run dequantized.
pub const DEQUANTIZE_BELOW: u64 = 400 << 20;

struct Layer {
    attn_norm: RmsNorm,
    q: QMatMul,
    k: QMatMul,
    v: QMatMul,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    o: QMatMul,
    ffn_norm: RmsNorm,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    /// Keys and values so far: `[1, kv_heads, seq, head_dim]`.
    cache: Option<(Tensor, Tensor)>,
}

pub struct LlamaModel {
    embed: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: QMatMul,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    /// Interleaved rotary pairs (llama) or halves (qwen2, "neox").
    interleaved: bool,
    cos: Tensor,
    sin: Tensor,
    pub max_positions: usize,
    device: Device,
}

fn matmul(q: QTensor, dequantize: bool) -> Result<QMatMul> {
    if dequantize { Ok(QMatMul::Tensor(q.dequantize(&q.device())?)) } else { QMatMul::from_qtensor(q) }
}

/// `x · wᵀ` for one token: the decode step's matrix-vector product, split
/// across the thread pool by output rows. (candle's CPU matmul runs a single
/// row on one thread; decoding is bound by memory bandwidth, so every core helps.)
fn linear(w: &QMatMul, x: &Tensor) -> Result<Tensor> {
    let QMatMul::Tensor(weight) = w else { return w.forward(x) };
    let (rows, cols) = weight.dims2()?;
    let dims = x.dims().to_vec();
    if dims.iter().rev().skip(1).product::<usize>() != 1 || weight.dtype() != DType::F32 || !weight.is_contiguous() {
        return w.forward(x);
    }
    let input = x.flatten_all()?.to_vec1::<f32>()?;
    let (storage, layout) = weight.storage_and_layout();
    let Storage::Cpu(CpuStorage::F32(data)) = &*storage else { return w.forward(x) };
    let data = &data[layout.start_offset()..layout.start_offset() + rows * cols];
    let mut out = vec![0f32; rows];
    out.par_chunks_mut(64).enumerate().for_each(|(chunk, ys)| {
        for (i, y) in ys.iter_mut().enumerate() {
            let r = chunk * 64 + i;
            *y = dot(&data[r * cols..(r + 1) * cols], &input);
        }
    });
    let mut shape = dims;
    if let Some(last) = shape.last_mut() {
        *last = rows;
    }
    Tensor::from_vec(out, shape, x.device())
}

/// A dot product with 16 independent partial sums, which the compiler turns into SIMD.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ac, ar) = a.split_at(a.len() / 16 * 16);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(16).zip(bc.chunks_exact(16)) {
        for j in 0..16 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum::<f32>() + ar.iter().zip(br).map(|(x, y)| x * y).sum::<f32>()
}

impl LlamaModel {
    pub fn from_gguf<R: std::io::Seek + std::io::Read>(
        content: &Content,
        reader: &mut R,
        device: &Device,
        dequantize: bool,
    ) -> Result<LlamaModel> {
        let arch =
            content.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
        let md = |key: &str| {
            content
                .metadata
                .get(&format!("{arch}.{key}"))
                .ok_or_else(|| candle_core::Error::Msg(format!("missing {arch}.{key}")))
        };
        let heads = md("attention.head_count")?.to_u32()? as usize;
        let kv_heads = md("attention.head_count_kv").and_then(|v| v.to_u32()).unwrap_or(heads as u32) as usize;
        let blocks = md("block_count")?.to_u32()? as usize;
        let dim = md("embedding_length")?.to_u32()? as usize;
        let eps = md("attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
        let rope_base = md("rope.freq_base").and_then(|v| v.to_f32()).unwrap_or(10_000.0);
        let max_positions = md("context_length").and_then(|v| v.to_u32()).unwrap_or(4096) as usize;
        let max_positions = max_positions.min(32_768);
        let head_dim = dim / heads;
        let rope_dim = md("rope.dimension_count").and_then(|v| v.to_u32()).map_or(head_dim, |d| d as usize);
        let tensor = |reader: &mut R, name: &str| content.tensor(reader, name, device);
        let has = |name: &str| content.tensor_infos.contains_key(name);
        let norm = |reader: &mut R, name: &str| -> Result<RmsNorm> {
            Ok(RmsNorm::new(tensor(reader, name)?.dequantize(device)?, eps))
        };
        let embed_q = tensor(reader, "token_embd.weight")?;
        let embed = Embedding::new(embed_q.dequantize(device)?, dim);
        let output = if has("output.weight") { tensor(reader, "output.weight")? } else { embed_q };
        let output = matmul(output, dequantize)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let p = format!("blk.{i}");
            let bias = |reader: &mut R, name: &str| -> Result<Option<Tensor>> {
                let key = format!("{p}.{name}.bias");
                if has(&key) { Ok(Some(tensor(reader, &key)?.dequantize(device)?)) } else { Ok(None) }
            };
            layers.push(Layer {
                attn_norm: norm(reader, &format!("{p}.attn_norm.weight"))?,
                q: matmul(tensor(reader, &format!("{p}.attn_q.weight"))?, dequantize)?,
                k: matmul(tensor(reader, &format!("{p}.attn_k.weight"))?, dequantize)?,
                v: matmul(tensor(reader, &format!("{p}.attn_v.weight"))?, dequantize)?,
                q_bias: bias(reader, "attn_q")?,
                k_bias: bias(reader, "attn_k")?,
                v_bias: bias(reader, "attn_v")?,
                o: matmul(tensor(reader, &format!("{p}.attn_output.weight"))?, dequantize)?,
                ffn_norm: norm(reader, &format!("{p}.ffn_norm.weight"))?,
                gate: matmul(tensor(reader, &format!("{p}.ffn_gate.weight"))?, dequantize)?,
                up: matmul(tensor(reader, &format!("{p}.ffn_up.weight"))?, dequantize)?,
                down: matmul(tensor(reader, &format!("{p}.ffn_down.weight"))?, dequantize)?,
                cache: None,
            });
        }
        let inv: Vec<f32> =
            (0..rope_dim).step_by(2).map(|i| 1.0 / rope_base.powf(i as f32 / rope_dim as f32)).collect();
        let inv = Tensor::new(inv.as_slice(), device)?;
        let positions = Tensor::arange(0u32, max_positions as u32, device)?.to_dtype(DType::F32)?;
        let angles = positions.unsqueeze(1)?.matmul(&inv.unsqueeze(0)?)?;
        Ok(LlamaModel {
            embed,
            layers,
            norm: norm(reader, "output_norm.weight")?,
            output,
            heads,
            kv_heads,
            head_dim,
            interleaved: arch != "qwen2",
            cos: angles.cos()?,
            sin: angles.sin()?,
            max_positions,
            device: device.clone(),
        })
    }

    /// Tokens held in the KV cache.
    pub fn cached(&self) -> usize {
        self.layers.first().and_then(|l| l.cache.as_ref()).map_or(0, |(k, _)| k.dim(2).unwrap_or(0))
    }

    /// Cuts the KV cache back to its first `len` positions.
    pub fn truncate_cache(&mut self, len: usize) -> Result<()> {
        for layer in &mut self.layers {
            if let Some((k, v)) = layer.cache.take()
                && len > 0
            {
                let len = len.min(k.dim(2)?);
                layer.cache = Some((k.narrow(2, 0, len)?.contiguous()?, v.narrow(2, 0, len)?.contiguous()?));
            }
        }
        Ok(())
    }

    fn rope(&self, x: &Tensor, pos: usize, seq: usize) -> Result<Tensor> {
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        if self.interleaved {
            candle_nn::rotary_emb::rope_i(&x.contiguous()?, &cos, &sin)
        } else {
            candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)
        }
    }

    /// Runs `input` (`[1, seq]` token ids) at positions `pos..`, first cutting
    /// the cache back to `pos`, and returns the logits after the last token (`[1, vocab]`).
    pub fn forward(&mut self, input: &Tensor, pos: usize) -> Result<Tensor> {
        let seq = input.dim(1)?;
        if pos + seq > self.max_positions {
            candle_core::bail!("position {} is past the model's {} positions", pos + seq, self.max_positions);
        }
        self.truncate_cache(pos)?;
        let mut x = self.embed.forward(input)?;
        let mask = if seq > 1 {
            let m: Vec<f32> = (0..seq)
                .flat_map(|i| (0..pos + seq).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 }))
                .collect();
            Some(Tensor::from_slice(&m, (seq, pos + seq), &self.device)?)
        } else {
            None
        };
        let (heads, kv_heads, hd) = (self.heads, self.kv_heads, self.head_dim);
        for i in 0..self.layers.len() {
            let residual = x.clone();
            let h = self.layers[i].attn_norm.forward(&x)?;
            let layer = &self.layers[i];
            let add = |t: Tensor, b: &Option<Tensor>| match b {
                Some(b) => t.broadcast_add(b),
                None => Ok(t),
            };
            let q = add(linear(&layer.q, &h)?, &layer.q_bias)?.reshape((1, seq, heads, hd))?.transpose(1, 2)?;
            let k = add(linear(&layer.k, &h)?, &layer.k_bias)?.reshape((1, seq, kv_heads, hd))?.transpose(1, 2)?;
            let v = add(linear(&layer.v, &h)?, &layer.v_bias)?.reshape((1, seq, kv_heads, hd))?.transpose(1, 2)?;
            let q = self.rope(&q, pos, seq)?;
            let k = self.rope(&k, pos, seq)?;
            let v = v.contiguous()?;
            let (k, v) = match self.layers[i].cache.take() {
                Some((ck, cv)) => (Tensor::cat(&[&ck, &k], 2)?, Tensor::cat(&[&cv, &v], 2)?),
                None => (k, v),
            };
            self.layers[i].cache = Some((k.clone(), v.clone()));
            let layer = &self.layers[i];
            let rep = heads / kv_heads;
            let k = candle_transformers::utils::repeat_kv(k, rep)?.contiguous()?;
            let v = candle_transformers::utils::repeat_kv(v, rep)?.contiguous()?;
            let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let scores = match &mask {
                Some(m) => scores.broadcast_add(m)?,
                None => scores,
            };
            let attn = candle_nn::ops::softmax_last_dim(&scores)?.matmul(&v)?;
            let attn = attn.transpose(1, 2)?.reshape((1, seq, heads * hd))?;
            x = (linear(&layer.o, &attn)? + residual)?;
            let residual = x.clone();
            let h = layer.ffn_norm.forward(&x)?;
            let mlp = (candle_nn::ops::silu(&linear(&layer.gate, &h)?)? * linear(&layer.up, &h)?)?;
            x = (linear(&layer.down, &mlp)? + residual)?;
        }
        let last = x.narrow(1, seq - 1, 1)?;
        let last = self.norm.forward(&last)?;
        linear(&self.output, &last)?.squeeze(1)
    }
}
