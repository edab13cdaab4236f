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
use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, RmsNorm};
use rayon::prelude::*;

/// Models whose weights take less than this many bytes run dequantized.
pub const DEQUANTIZE_BELOW: u64 = 400 << 20;

struct Layer {
    attn_norm: RmsNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    o: Linear,
    ffn_norm: RmsNorm,
    gate: Linear,
    up: Linear,
    down: Linear,
    /// Gemma 3: norms of each query and key head, and after attention and the MLP.
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    post_attn_norm: Option<RmsNorm>,
    post_ffn_norm: Option<RmsNorm>,
    /// Which rotary table the layer uses, and its sliding window (Gemma 3's local layers).
    rope: usize,
    window: Option<usize>,
    /// Keys and values so far, position-major: `[positions][kv_heads × head_dim]`
    /// (on the CPU, where the plain-Rust decode step reads them).
    keys: Vec<f32>,
    values: Vec<f32>,
    /// On a GPU the cache stays on the device: keys and values as
    /// `[1, kv_heads, positions, head_dim]`.
    device_kv: Option<(Tensor, Tensor)>,
    /// The norms' weights and q/k/v biases as plain vectors, for the decode step.
    plain: Option<PlainLayer>,
}

struct PlainLayer {
    attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    post_attn_norm: Option<Vec<f32>>,
    post_ffn_norm: Option<Vec<f32>>,
    q_bias: Option<Vec<f32>>,
    k_bias: Option<Vec<f32>>,
    v_bias: Option<Vec<f32>>,
}

pub struct LlamaModel {
    embed: Embedding,
    eps: f32,
    /// `cos`/`sin` tables as plain rows, and the final norm, for the decode step.
    plain_ropes: Vec<(Vec<f32>, Vec<f32>)>,
    /// Gemma: embeddings are scaled by √dim, and the MLP gates with GELU (tanh) instead of SiLU.
    embed_scale: Option<f64>,
    gelu: bool,
    plain_norm: Vec<f32>,
    /// Use the plain-Rust decode step for single tokens (when every weight has its 8-bit copy).
    pub fast_decode: bool,
    layers: Vec<Layer>,
    norm: RmsNorm,
    output: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    /// Interleaved rotary pairs (llama) or halves (qwen2, "neox").
    interleaved: bool,
    /// Rotary tables (`cos`, `sin`): one, or Gemma 3's global and local ones.
    ropes: Vec<(Tensor, Tensor)>,
    pub max_positions: usize,
    device: Device,
}

fn matmul(q: QTensor, dequantize: bool) -> Result<Linear> {
    if dequantize {
        Linear::new(QMatMul::Tensor(q.dequantize(&q.device())?))
    } else {
        Linear::new(QMatMul::from_qtensor(q)?)
    }
}

/// Elements per block of the 8-bit decode weights.
const Q8_BLOCK: usize = 32;

/// A weight matrix kept twice for small models: f32 for the batched prefill
/// (candle's matmul), and 8-bit blocks with one f32 scale per 32 values for
/// the decode step, which reads every weight once per token and so runs at
/// the speed of memory: a quarter of the bytes is close to four times the speed.
pub struct Linear {
    weight: QMatMul,
    q8: Option<Q8Matrix>,
}

struct Q8Matrix {
    rows: usize,
    cols: usize,
    q: Vec<i8>,
    scales: Vec<f32>,
}

/// Quantizes values to 8 bits in blocks of 32, as llama.cpp's Q8_0.
fn quantize_q8(values: &[f32], q: &mut [i8], scales: &mut [f32]) {
    for ((block, qb), scale) in values.chunks_exact(Q8_BLOCK).zip(q.chunks_exact_mut(Q8_BLOCK)).zip(scales.iter_mut()) {
        let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = max / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        for (x, y) in block.iter().zip(qb.iter_mut()) {
            *y = (x * inv).round() as i8;
        }
        *scale = d;
    }
}

impl Q8Matrix {
    fn new(weight: &Tensor) -> Result<Option<Q8Matrix>> {
        let (rows, cols) = weight.dims2()?;
        if cols % Q8_BLOCK != 0 {
            return Ok(None);
        }
        let data = weight.flatten_all()?.to_vec1::<f32>()?;
        let mut q = vec![0i8; rows * cols];
        let mut scales = vec![0f32; rows * cols / Q8_BLOCK];
        q.par_chunks_mut(cols)
            .zip(scales.par_chunks_mut(cols / Q8_BLOCK))
            .zip(data.par_chunks(cols))
            .for_each(|((q, s), row)| quantize_q8(row, q, s));
        Ok(Some(Q8Matrix { rows, cols, q, scales }))
    }

    fn matvec(&self, x: &[f32]) -> Vec<f32> {
        Q8Matrix::matvec_group(&[self], x).pop().unwrap_or_default()
    }

    /// Several matrices with the same input (q, k and v; gate and up): the
    /// input is quantized once and all rows go to the thread pool as one job,
    /// which saves a round of waking the threads per matrix.
    fn matvec_group(mats: &[&Q8Matrix], x: &[f32]) -> Vec<Vec<f32>> {
        let cols = x.len();
        let blocks = cols / Q8_BLOCK;
        let mut xq = vec![0i8; cols];
        let mut xs = vec![0f32; blocks];
        quantize_q8(x, &mut xq, &mut xs);
        let mut outs: Vec<Vec<f32>> = mats.iter().map(|m| vec![0f32; m.rows]).collect();
        let mut tasks: Vec<(&Q8Matrix, usize, &mut [f32])> = Vec::new();
        for (m, out) in mats.iter().zip(outs.iter_mut()) {
            for (chunk, ys) in out.chunks_mut(32).enumerate() {
                tasks.push((m, chunk * 32, ys));
            }
        }
        tasks.into_par_iter().for_each(|(m, first, ys)| {
            for (i, y) in ys.iter_mut().enumerate() {
                let r = first + i;
                let wq = &m.q[r * m.cols..(r + 1) * m.cols];
                let ws = &m.scales[r * blocks..(r + 1) * blocks];
                *y = dot_q8(wq, ws, &xq, &xs);
            }
        });
        outs
    }
}

/// One row of the 8-bit mat-vec. Compiled once per instruction set and chosen
/// at run time (AVX-512, AVX2, or plain x86-64), so one binary runs everywhere
/// and uses the wide integer instructions where the processor has them.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512bw+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
fn dot_q8(wq: &[i8], ws: &[f32], xq: &[i8], xs: &[f32]) -> f32 {
    let mut sum = 0f32;
    for (((a, c), w), x) in wq.chunks_exact(Q8_BLOCK).zip(xq.chunks_exact(Q8_BLOCK)).zip(ws).zip(xs) {
        // Products of two i8 fit in i16; summed in pairs they map onto `pmaddwd`.
        let mut acc = [0i32; 16];
        for k in 0..16 {
            let p0 = a[2 * k] as i16 * c[2 * k] as i16;
            let p1 = a[2 * k + 1] as i16 * c[2 * k + 1] as i16;
            acc[k] = p0 as i32 + p1 as i32;
        }
        sum += w * x * acc.iter().sum::<i32>() as f32;
    }
    sum
}

/// GELU, tanh approximation (Gemma's `gelu_pytorch_tanh`).
fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh())
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let mean = x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32;
    let inv = 1.0 / (mean + eps).sqrt();
    x.iter().zip(weight).map(|(v, w)| v * inv * w).collect()
}

/// Rotary embedding of one head at one position: adjacent pairs (llama's GGUF
/// layout) or the two halves (Hugging Face and qwen2).
fn rotate(head: &mut [f32], cos: &[f32], sin: &[f32], interleaved: bool) {
    let half = cos.len();
    for i in 0..half {
        let (a, b) = if interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
        let (x0, x1) = (head[a], head[b]);
        head[a] = x0 * cos[i] - x1 * sin[i];
        head[b] = x0 * sin[i] + x1 * cos[i];
    }
}

impl Linear {
    /// Output rows.
    fn rows(&self) -> usize {
        match &self.q8 {
            Some(q8) => q8.rows,
            None => 0,
        }
    }

    /// The 8-bit mat-vec (the caller checked that the 8-bit copy exists).
    fn matvec(&self, x: &[f32]) -> Vec<f32> {
        self.q8.as_ref().map_or_else(Vec::new, |q8| q8.matvec(x))
    }

    /// Mat-vecs of several layers with one input, as one job (see `Q8Matrix::matvec_group`).
    fn matvec_group(linears: &[&Linear], x: &[f32]) -> Vec<Vec<f32>> {
        let mats: Vec<&Q8Matrix> = linears.iter().filter_map(|l| l.q8.as_ref()).collect();
        if mats.len() == linears.len() {
            Q8Matrix::matvec_group(&mats, x)
        } else {
            linears.iter().map(|l| l.matvec(x)).collect()
        }
    }

    fn new(weight: QMatMul) -> Result<Linear> {
        // The 8-bit mat-vec is CPU code; on a GPU candle's kernels do the work.
        let q8 = match &weight {
            QMatMul::Tensor(t) if t.dtype() == DType::F32 && t.device().is_cpu() => Q8Matrix::new(t)?,
            _ => None,
        };
        Ok(Linear { weight, q8 })
    }

    /// `x · wᵀ`. One token (the decode step) goes through the 8-bit mat-vec,
    /// split across the thread pool by output rows; a batch goes through candle.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let single = dims.iter().rev().skip(1).product::<usize>() == 1;
        match &self.q8 {
            Some(q8) if single => {
                let out = q8.matvec(&x.flatten_all()?.to_vec1::<f32>()?);
                let mut shape = dims;
                if let Some(last) = shape.last_mut() {
                    *last = q8.rows;
                }
                Tensor::from_vec(out, shape, x.device())
            }
            _ => self.weight.forward(x),
        }
    }
}

fn rope_tables(rope_dim: usize, base: f32, max_positions: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let inv: Vec<f32> = (0..rope_dim).step_by(2).map(|i| 1.0 / base.powf(i as f32 / rope_dim as f32)).collect();
    let inv = Tensor::new(inv.as_slice(), device)?;
    let positions = Tensor::arange(0u32, max_positions as u32, device)?.to_dtype(DType::F32)?;
    let angles = positions.unsqueeze(1)?.matmul(&inv.unsqueeze(0)?)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// The fields of a Hugging Face `config.json` that llama and qwen2 use.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HfConfig {
    pub model_type: String,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f32,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    pub head_dim: Option<usize>,
}

fn default_theta() -> f32 {
    10_000.0
}

fn default_positions() -> usize {
    4096
}

impl LlamaModel {
    /// Loads Hugging Face safetensors weights (`model.layers.N.self_attn.q_proj.weight`, …)
    /// of a llama or qwen2 model, any float dtype, as f32.
    pub fn from_safetensors(
        config: &HfConfig,
        tensors: &std::collections::HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<LlamaModel> {
        let get = |name: &str| -> Result<Tensor> {
            tensors
                .get(name)
                .ok_or_else(|| candle_core::Error::Msg(format!("the weights have no `{name}`")))?
                .to_dtype(DType::F32)?
                .to_device(device)
        };
        let linear = |name: &str| -> Result<Linear> { Linear::new(QMatMul::Tensor(get(name)?)) };
        let bias = |name: &str| -> Result<Option<Tensor>> {
            if tensors.contains_key(name) { Ok(Some(get(name)?)) } else { Ok(None) }
        };
        let eps = config.rms_norm_eps;
        let heads = config.num_attention_heads;
        let kv_heads = config.num_key_value_heads.unwrap_or(heads);
        let head_dim = config.head_dim.unwrap_or(config.hidden_size / heads);
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                attn_norm: RmsNorm::new(get(&format!("{p}.input_layernorm.weight"))?, eps),
                q: linear(&format!("{p}.self_attn.q_proj.weight"))?,
                k: linear(&format!("{p}.self_attn.k_proj.weight"))?,
                v: linear(&format!("{p}.self_attn.v_proj.weight"))?,
                q_bias: bias(&format!("{p}.self_attn.q_proj.bias"))?,
                k_bias: bias(&format!("{p}.self_attn.k_proj.bias"))?,
                v_bias: bias(&format!("{p}.self_attn.v_proj.bias"))?,
                o: linear(&format!("{p}.self_attn.o_proj.weight"))?,
                ffn_norm: RmsNorm::new(get(&format!("{p}.post_attention_layernorm.weight"))?, eps),
                gate: linear(&format!("{p}.mlp.gate_proj.weight"))?,
                up: linear(&format!("{p}.mlp.up_proj.weight"))?,
                down: linear(&format!("{p}.mlp.down_proj.weight"))?,
                q_norm: None,
                k_norm: None,
                post_attn_norm: None,
                post_ffn_norm: None,
                rope: 0,
                window: None,
                keys: Vec::new(),
                values: Vec::new(),
                device_kv: None,
                plain: None,
            });
        }
        let embed = get("model.embed_tokens.weight")?;
        let output = if tensors.contains_key("lm_head.weight") && !config.tie_word_embeddings {
            linear("lm_head.weight")?
        } else {
            Linear::new(QMatMul::Tensor(embed.clone()))?
        };
        let max_positions = config.max_position_embeddings.min(32_768);
        let (cos, sin) = rope_tables(head_dim, config.rope_theta, max_positions, device)?;
        LlamaModel {
            embed: Embedding::new(embed, config.hidden_size),
            eps: eps as f32,
            plain_ropes: Vec::new(),
            embed_scale: None,
            gelu: false,
            plain_norm: Vec::new(),
            fast_decode: true,
            layers,
            norm: RmsNorm::new(get("model.norm.weight")?, eps),
            output,
            heads,
            kv_heads,
            head_dim,
            // Hugging Face weights rotate the two halves of each head.
            interleaved: false,
            ropes: vec![(cos, sin)],
            max_positions,
            device: device.clone(),
        }
        .finish()
    }

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
        let gemma = arch == "gemma3";
        let head_dim = md("attention.key_length").and_then(|v| v.to_u32()).map_or(dim / heads, |d| d as usize);
        let rope_dim = md("rope.dimension_count").and_then(|v| v.to_u32()).map_or(head_dim, |d| d as usize);
        // Gemma 3: most layers attend over a sliding window with their own rotary base.
        let window = md("attention.sliding_window").and_then(|v| v.to_u32()).ok().map(|w| w as usize);
        let pattern = md("attention.sliding_window_type").and_then(|v| v.to_u32()).unwrap_or(6) as usize;
        let local_base = md("rope.local_freq_base").and_then(|v| v.to_f32()).unwrap_or(10_000.0);
        let tensor = |reader: &mut R, name: &str| content.tensor(reader, name, device);
        let has = |name: &str| content.tensor_infos.contains_key(name);
        let norm = |reader: &mut R, name: &str| -> Result<RmsNorm> {
            Ok(RmsNorm::new(tensor(reader, name)?.dequantize(device)?, eps))
        };
        let embed_q = tensor(reader, "token_embd.weight")?;
        let embed_f32 = embed_q.dequantize(device)?;
        let output = if has("output.weight") {
            matmul(tensor(reader, "output.weight")?, dequantize)?
        } else if dequantize {
            // Tied: share the dequantized table.
            Linear::new(QMatMul::Tensor(embed_f32.clone()))?
        } else {
            matmul(embed_q, false)?
        };
        let embed = Embedding::new(embed_f32, dim);
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let p = format!("blk.{i}");
            let bias = |reader: &mut R, name: &str| -> Result<Option<Tensor>> {
                let key = format!("{p}.{name}.bias");
                if has(&key) { Ok(Some(tensor(reader, &key)?.dequantize(device)?)) } else { Ok(None) }
            };
            let optional_norm = |reader: &mut R, name: &str| -> Result<Option<RmsNorm>> {
                let key = format!("{p}.{name}.weight");
                if has(&key) { Ok(Some(norm(reader, &key)?)) } else { Ok(None) }
            };
            let local = gemma && (i + 1) % pattern != 0;
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
                q_norm: optional_norm(reader, "attn_q_norm")?,
                k_norm: optional_norm(reader, "attn_k_norm")?,
                post_attn_norm: optional_norm(reader, "post_attention_norm")?,
                post_ffn_norm: optional_norm(reader, "post_ffw_norm")?,
                rope: usize::from(local),
                window: if local { window } else { None },
                keys: Vec::new(),
                values: Vec::new(),
                device_kv: None,
                plain: None,
            });
        }
        let mut ropes = vec![rope_tables(rope_dim, rope_base, max_positions, device)?];
        if gemma {
            ropes.push(rope_tables(rope_dim, local_base, max_positions, device)?);
        }
        LlamaModel {
            embed,
            eps: eps as f32,
            plain_ropes: Vec::new(),
            embed_scale: gemma.then(|| (dim as f64).sqrt()),
            gelu: gemma,
            plain_norm: Vec::new(),
            fast_decode: true,
            layers,
            norm: norm(reader, "output_norm.weight")?,
            output,
            heads,
            kv_heads,
            head_dim,
            // GGUF stores llama's q/k rows permuted for interleaved pairs; qwen2's and gemma3's are not.
            interleaved: arch == "llama",
            ropes,
            max_positions,
            device: device.clone(),
        }
        .finish()
    }

    /// Prepares the plain-Rust decode step: norm weights, biases and rotary
    /// tables as vectors. Only on the CPU, and only when every weight has its
    /// 8-bit copy; otherwise single tokens take the candle path.
    fn finish(mut self) -> Result<LlamaModel> {
        let all_q8 = self.output.q8.is_some()
            && self
                .layers
                .iter()
                .all(|l| [&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down].iter().all(|w| w.q8.is_some()));
        if !self.device.is_cpu() || !all_q8 {
            self.fast_decode = false;
            return Ok(self);
        }
        let vec = |t: &Tensor| -> Result<Vec<f32>> { t.flatten_all()?.to_dtype(DType::F32)?.to_vec1() };
        let opt = |t: &Option<Tensor>| -> Result<Option<Vec<f32>>> { t.as_ref().map(vec).transpose() };
        for layer in &mut self.layers {
            layer.plain = Some(PlainLayer {
                attn_norm: vec(layer.attn_norm.weight())?,
                ffn_norm: vec(layer.ffn_norm.weight())?,
                q_norm: layer.q_norm.as_ref().map(|n| vec(n.weight())).transpose()?,
                k_norm: layer.k_norm.as_ref().map(|n| vec(n.weight())).transpose()?,
                post_attn_norm: layer.post_attn_norm.as_ref().map(|n| vec(n.weight())).transpose()?,
                post_ffn_norm: layer.post_ffn_norm.as_ref().map(|n| vec(n.weight())).transpose()?,
                q_bias: opt(&layer.q_bias)?,
                k_bias: opt(&layer.k_bias)?,
                v_bias: opt(&layer.v_bias)?,
            });
        }
        self.plain_norm = vec(self.norm.weight())?;
        self.plain_ropes = self.ropes.iter().map(|(c, s)| Ok((vec(c)?, vec(s)?))).collect::<Result<_>>()?;
        Ok(self)
    }

    /// Whether the plain-Rust decode step was prepared.
    pub fn fast_decode_ready(&self) -> bool {
        !self.plain_ropes.is_empty()
    }

    fn kv_width(&self) -> usize {
        self.kv_heads * self.head_dim
    }

    /// Cuts the KV cache back to its first `len` positions.
    pub fn truncate_cache(&mut self, len: usize) -> Result<()> {
        let width = self.kv_width();
        for layer in &mut self.layers {
            layer.keys.truncate(len * width);
            layer.values.truncate(len * width);
            layer.device_kv = match layer.device_kv.take() {
                Some((k, v)) if len > 0 && k.dim(2)? > len => Some((k.narrow(2, 0, len)?, v.narrow(2, 0, len)?)),
                Some(_) if len == 0 => None,
                kept => kept,
            };
        }
        Ok(())
    }

    /// One token through the model in plain Rust over vectors: 8-bit
    /// mat-vecs, rotary embedding and attention over the position-major cache,
    /// with no tensor operations (whose fixed cost dominates at batch size 1).
    fn decode_step(&mut self, token: u32, pos: usize) -> Result<Vec<f32>> {
        let (heads, kv_heads, hd) = (self.heads, self.kv_heads, self.head_dim);
        let width = kv_heads * hd;
        let rep = heads / kv_heads;
        let eps = self.eps;
        if self.plain_ropes.is_empty() {
            candle_core::bail!("the decode step is not prepared");
        }
        let interleaved = self.interleaved;
        let mut x: Vec<f32> = self.embed.embeddings().narrow(0, token as usize, 1)?.flatten_all()?.to_vec1()?;
        if let Some(s) = self.embed_scale {
            x.iter_mut().for_each(|v| *v *= s as f32);
        }
        let gelu = self.gelu;
        let scale = 1.0 / (hd as f32).sqrt();
        for layer in &mut self.layers {
            let Some(plain) = &layer.plain else { candle_core::bail!("the decode step is not prepared") };
            let (cos, sin) = &self.plain_ropes[layer.rope];
            let half = cos.len() / self.max_positions;
            let (cos, sin) = (&cos[pos * half..(pos + 1) * half], &sin[pos * half..(pos + 1) * half]);
            let h = rms_norm(&x, &plain.attn_norm, eps);
            let mut qkv = Linear::matvec_group(&[&layer.q, &layer.k, &layer.v], &h).into_iter();
            let (mut q, mut k, mut v) =
                (qkv.next().unwrap_or_default(), qkv.next().unwrap_or_default(), qkv.next().unwrap_or_default());
            for (out, bias) in [(&mut q, &plain.q_bias), (&mut k, &plain.k_bias), (&mut v, &plain.v_bias)] {
                if let Some(b) = bias {
                    out.iter_mut().zip(b).for_each(|(o, b)| *o += b);
                }
            }
            for (heads_of, norm) in [(&mut q, &plain.q_norm), (&mut k, &plain.k_norm)] {
                for head in heads_of.chunks_exact_mut(hd) {
                    if let Some(w) = norm {
                        let normed = rms_norm(head, w, eps);
                        head.copy_from_slice(&normed);
                    }
                    rotate(head, cos, sin, interleaved);
                }
            }
            layer.keys.extend_from_slice(&k);
            layer.values.extend_from_slice(&v);
            let positions = pos + 1;
            let first = layer.window.map_or(0, |w| positions.saturating_sub(w));
            let mut attn = vec![0f32; heads * hd];
            let attend = |(head, out): (usize, &mut [f32])| {
                let kv = head / rep;
                let qh = &q[head * hd..(head + 1) * hd];
                let mut scores: Vec<f32> = (first..positions)
                    .map(|t| {
                        let kt = &layer.keys[t * width + kv * hd..t * width + (kv + 1) * hd];
                        qh.iter().zip(kt).map(|(a, b)| a * b).sum::<f32>() * scale
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                for (t, s) in (first..positions).zip(&scores) {
                    let vt = &layer.values[t * width + kv * hd..t * width + (kv + 1) * hd];
                    let w = s / sum;
                    out.iter_mut().zip(vt).for_each(|(o, v)| *o += w * v);
                }
            };
            attn.par_chunks_mut(hd).enumerate().for_each(attend);
            let mut o = layer.o.matvec(&attn);
            if let Some(w) = &plain.post_attn_norm {
                o = rms_norm(&o, w, eps);
            }
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
            let h = rms_norm(&x, &plain.ffn_norm, eps);
            let mut gate_up = Linear::matvec_group(&[&layer.gate, &layer.up], &h).into_iter();
            let (gate, up) = (gate_up.next().unwrap_or_default(), gate_up.next().unwrap_or_default());
            let act = |g: f32| if gelu { gelu_tanh(g) } else { g / (1.0 + (-g).exp()) };
            let mlp: Vec<f32> = gate.iter().zip(&up).map(|(g, u)| act(*g) * u).collect();
            let mut down = layer.down.matvec(&mlp);
            if let Some(w) = &plain.post_ffn_norm {
                down = rms_norm(&down, w, eps);
            }
            x.iter_mut().zip(&down).for_each(|(x, d)| *x += d);
        }
        let h = rms_norm(&x, &self.plain_norm, eps);
        Ok(self.output.matvec(&h))
    }

    /// Appends a layer's new keys and values (`[1, kv_heads, seq, head_dim]`)
    /// to its cache and returns the whole cache, `total` positions, as tensors
    /// of the same shape. On the CPU the cache is the position-major vectors the
    /// decode step reads; on a GPU it stays on the device.
    fn append_kv(&mut self, i: usize, k: Tensor, v: Tensor, total: usize) -> Result<(Tensor, Tensor)> {
        let (kv_heads, hd) = (self.kv_heads, self.head_dim);
        let layer = &mut self.layers[i];
        if !self.device.is_cpu() {
            let (k, v) = (k.contiguous()?, v.contiguous()?);
            let (k, v) = match layer.device_kv.take() {
                Some((old_k, old_v)) => (Tensor::cat(&[&old_k, &k], 2)?, Tensor::cat(&[&old_v, &v], 2)?),
                None => (k, v),
            };
            layer.device_kv = Some((k.clone(), v.clone()));
            return Ok((k, v));
        }
        let to_rows = |t: &Tensor| -> Result<Vec<f32>> { t.squeeze(0)?.transpose(0, 1)?.flatten_all()?.to_vec1() };
        layer.keys.extend_from_slice(&to_rows(&k)?);
        layer.values.extend_from_slice(&to_rows(&v)?);
        debug_assert_eq!(layer.keys.len(), total * kv_heads * hd);
        let from_rows = |rows: &[f32]| -> Result<Tensor> {
            Tensor::from_slice(rows, (total, kv_heads, hd), &self.device)?.transpose(0, 1)?.unsqueeze(0)
        };
        Ok((from_rows(&layer.keys)?, from_rows(&layer.values)?))
    }

    fn rope(&self, x: &Tensor, table: usize, pos: usize, seq: usize) -> Result<Tensor> {
        let (cos, sin) = &self.ropes[table];
        let cos = cos.narrow(0, pos, seq)?;
        let sin = sin.narrow(0, pos, seq)?;
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
        if seq == 1 && self.fast_decode {
            let token = input.flatten_all()?.to_vec1::<u32>()?[0];
            let logits = self.decode_step(token, pos)?;
            return Tensor::from_vec(logits, (1, self.output.rows()), &self.device);
        }
        let mut x = self.embed.forward(input)?;
        if let Some(s) = self.embed_scale {
            x = (x * s)?;
        }
        // Causal masks, one per window size in use (Gemma 3's local layers see
        // only the last `window` positions).
        let mut masks: Vec<(Option<usize>, Option<Tensor>)> = Vec::new();
        for window in self.layers.iter().map(|l| l.window) {
            if masks.iter().any(|(w, _)| *w == window) {
                continue;
            }
            let m: Vec<f32> = (0..seq)
                .flat_map(|i| {
                    (0..pos + seq).map(move |j| {
                        let hidden = j > pos + i || window.is_some_and(|w| j + w <= pos + i);
                        if hidden { f32::NEG_INFINITY } else { 0.0 }
                    })
                })
                .collect();
            // One new token that sees every position needs no mask.
            let mask = if m.iter().any(|v| v.is_infinite()) {
                Some(Tensor::from_slice(&m, (seq, pos + seq), &self.device)?)
            } else {
                None
            };
            masks.push((window, mask));
        }
        let (heads, kv_heads, hd) = (self.heads, self.kv_heads, self.head_dim);
        for i in 0..self.layers.len() {
            let residual = x.clone();
            let h = self.layers[i].attn_norm.forward(&x)?;
            let layer = &self.layers[i];
            let add = |t: Tensor, b: &Option<Tensor>| match b {
                Some(b) => t.broadcast_add(b),
                None => Ok(t),
            };
            let head_norm = |t: Tensor, n: &Option<RmsNorm>| match n {
                Some(n) => n.forward(&t),
                None => Ok(t),
            };
            let q = add(layer.q.forward(&h)?, &layer.q_bias)?.reshape((1, seq, heads, hd))?;
            let k = add(layer.k.forward(&h)?, &layer.k_bias)?.reshape((1, seq, kv_heads, hd))?;
            let q = head_norm(q, &layer.q_norm)?.transpose(1, 2)?;
            let k = head_norm(k, &layer.k_norm)?.transpose(1, 2)?;
            let v = add(layer.v.forward(&h)?, &layer.v_bias)?.reshape((1, seq, kv_heads, hd))?.transpose(1, 2)?;
            let q = self.rope(&q, layer.rope, pos, seq)?;
            let k = self.rope(&k, layer.rope, pos, seq)?;
            // Append to the cache, then attend over all of it.
            let (k, v) = self.append_kv(i, k, v, pos + seq)?;
            let layer = &self.layers[i];
            let rep = heads / kv_heads;
            let k = candle_transformers::utils::repeat_kv(k, rep)?.contiguous()?;
            let v = candle_transformers::utils::repeat_kv(v, rep)?.contiguous()?;
            let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let scores = match masks.iter().find(|(w, _)| *w == layer.window) {
                Some((_, Some(m))) => scores.broadcast_add(m)?,
                _ => scores,
            };
            let attn = candle_nn::ops::softmax_last_dim(&scores)?.matmul(&v)?;
            let attn = attn.transpose(1, 2)?.reshape((1, seq, heads * hd))?;
            let post = |t: Tensor, n: &Option<RmsNorm>| match n {
                Some(n) => n.forward(&t),
                None => Ok(t),
            };
            x = (post(layer.o.forward(&attn)?, &layer.post_attn_norm)? + residual)?;
            let residual = x.clone();
            let h = layer.ffn_norm.forward(&x)?;
            let gate = layer.gate.forward(&h)?;
            let gate = if self.gelu { gate.gelu()? } else { candle_nn::ops::silu(&gate)? };
            let mlp = (gate * layer.up.forward(&h)?)?;
            x = (post(layer.down.forward(&mlp)?, &layer.post_ffn_norm)? + residual)?;
        }
        let last = x.narrow(1, seq - 1, 1)?;
        let last = self.norm.forward(&last)?;
        self.output.forward(&last)?.squeeze(1)
    }
}
