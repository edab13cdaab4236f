//! MetaVoice's second stage: a small non-causal GPT (`fam/llm/model.py` with
//! `causal=False`) that reads the text and the first two EnCodec codebooks and
//! predicts the other six at every position in one pass. LayerNorms without
//! bias, exact (erf) GELU, and the speaker embedding added to every position.
//!
//! candle-transformers' `metavoice::gpt` is not used: it leaves the speaker
//! embedding out (its "TODO: speaker embs"; the real checkpoint has
//! `speaker_cond_pos`, 98,304 of its 14.46 M parameters) and uses the tanh
//! approximation of GELU where MetaVoice uses `nn.GELU()`.

use candle_core::{IndexOp, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};

pub(crate) const N_HEAD: usize = 6;

/// Hyper-parameters, all but the head count read from the file's shapes.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub block_size: usize,
    pub vocab_sizes: Vec<usize>,
    pub target_vocab_sizes: Vec<usize>,
    pub n_layer: usize,
    pub n_embd: usize,
    /// `None` when the file has no `speaker_cond_pos` (then the stage is unconditioned).
    pub speaker_emb_dim: Option<usize>,
}

struct Block {
    ln_1: LayerNorm,
    ln_2: LayerNorm,
    c_attn: Linear,
    attn_proj: Linear,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub(crate) struct SecondStage {
    wtes: Vec<Embedding>,
    wpe: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_heads: Vec<Linear>,
    speaker_cond_pos: Option<Linear>,
    config: Config,
}

fn layer_norm(dim: usize, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new_no_bias(vb.get(dim, "weight")?, 1e-5))
}

impl SecondStage {
    pub(crate) fn new(config: &Config, vb: VarBuilder) -> candle_core::Result<Self> {
        let dim = config.n_embd;
        if !dim.is_multiple_of(N_HEAD) {
            candle_core::bail!("the width {dim} is not a multiple of {N_HEAD} heads");
        }
        let vt = vb.pp("transformer");
        let wtes = config
            .vocab_sizes
            .iter()
            .enumerate()
            .map(|(i, &v)| candle_nn::embedding(v, dim, vt.pp("wtes").pp(i)))
            .collect::<candle_core::Result<_>>()?;
        let wpe = candle_nn::embedding(config.block_size, dim, vt.pp("wpe"))?;
        let blocks = (0..config.n_layer)
            .map(|i| {
                let vb = vt.pp("h").pp(i);
                Ok(Block {
                    ln_1: layer_norm(dim, vb.pp("ln_1"))?,
                    ln_2: layer_norm(dim, vb.pp("ln_2"))?,
                    c_attn: candle_nn::linear_no_bias(dim, 3 * dim, vb.pp("attn.c_attn"))?,
                    attn_proj: candle_nn::linear_no_bias(dim, dim, vb.pp("attn.c_proj"))?,
                    c_fc: candle_nn::linear_no_bias(dim, 4 * dim, vb.pp("mlp.c_fc"))?,
                    mlp_proj: candle_nn::linear_no_bias(4 * dim, dim, vb.pp("mlp.c_proj"))?,
                })
            })
            .collect::<candle_core::Result<_>>()?;
        let ln_f = layer_norm(dim, vt.pp("ln_f"))?;
        let lm_heads = config
            .target_vocab_sizes
            .iter()
            .enumerate()
            .map(|(i, &v)| candle_nn::linear_no_bias(dim, v, vb.pp("lm_heads").pp(i)))
            .collect::<candle_core::Result<_>>()?;
        let speaker_cond_pos = match config.speaker_emb_dim {
            Some(s) => Some(candle_nn::linear_no_bias(s, dim, vb.pp("speaker_cond_pos"))?),
            None => None,
        };
        Ok(SecondStage { wtes, wpe, blocks, ln_f, lm_heads, speaker_cond_pos, config: config.clone() })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// `idx`: (batch, hierarchies, time) u32; `speaker`: (1, speaker_emb_dim).
    /// Returns one (batch, time, vocab) tensor of logits per predicted codebook.
    pub(crate) fn forward(&self, idx: &Tensor, speaker: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        let (b, hierarchies, t) = idx.dims3()?;
        if hierarchies != self.wtes.len() {
            candle_core::bail!("{hierarchies} input hierarchies for {} embeddings", self.wtes.len());
        }
        let mut x = Tensor::arange(0u32, t as u32, idx.device())?.apply(&self.wpe)?.unsqueeze(0)?;
        for (i, wte) in self.wtes.iter().enumerate() {
            x = x.broadcast_add(&idx.i((.., i, ..))?.apply(wte)?)?;
        }
        if let Some(cond) = &self.speaker_cond_pos {
            x = x.broadcast_add(&speaker.apply(cond)?.unsqueeze(1)?)?;
        }
        let dim = self.config.n_embd;
        let head = dim / N_HEAD;
        for block in &self.blocks {
            let h = x.apply(&block.ln_1)?.apply(&block.c_attn)?.reshape((b, t, 3, N_HEAD, head))?;
            let q = h.i((.., .., 0))?.transpose(1, 2)?.contiguous()?;
            let k = h.i((.., .., 1))?.transpose(1, 2)?.contiguous()?;
            let v = h.i((.., .., 2))?.transpose(1, 2)?.contiguous()?;
            let att = (q.matmul(&k.t()?)? / (head as f64).sqrt())?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, t, dim))?.apply(&block.attn_proj)?;
            x = (x + y)?;
            let m = x.apply(&block.ln_2)?.apply(&block.c_fc)?.gelu_erf()?.apply(&block.mlp_proj)?;
            x = (x + m)?;
        }
        let x = x.apply(&self.ln_f)?;
        self.lm_heads.iter().map(|head| head.forward(&x)).collect()
    }
}
