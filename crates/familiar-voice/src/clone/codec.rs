//! The EnCodec 24 kHz decoder (codes → samples) as Hugging Face `transformers`
//! and Meta's `encodec` run it: the first eight codebooks summed, a causal
//! convolution, a two-layer LSTM with a residual, four transposed convolutions
//! (×8, ×5, ×4, ×2) each followed by a residual block, ELUs, a last convolution.
//! Weights are read under `facebook/encodec_24khz`'s names (weight-normed).
//!
//! candle-transformers' `encodec::Decoder` is not used for the forward pass: it
//! pads causal convolutions by repeating the edge sample (EnCodec reflects) and
//! does not trim the transposed convolutions' extra `kernel − stride` samples,
//! so its output drifts from the reference from the first frame and is longer.
//! Its weight-norm helpers are used.

use candle_core::{D, Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig, RNN, VarBuilder};
use candle_transformers::models::encodec::{conv_transpose1d_weight_norm, conv1d_weight_norm};

/// MetaVoice decodes 6 kbps: eight codebooks of 1024 codes.
pub(crate) const CODEBOOKS: usize = 8;
pub(crate) const CODEBOOK_SIZE: usize = 1024;
pub(crate) const RATE: u32 = 24_000;
const RATIOS: [usize; 4] = [8, 5, 4, 2];
const KERNEL: usize = 7;
const RESIDUAL_KERNEL: usize = 3;
const LSTM_LAYERS: usize = 2;

/// Sizes read from the file (32 and 128 for `facebook/encodec_24khz`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub num_filters: usize,
    pub hidden_size: usize,
    /// Hidden channels of a residual block = its width / `compress` (2 in EnCodec).
    pub compress: usize,
}

/// A causal convolution with EnCodec's reflect padding on the left.
struct CausalConv {
    conv: Conv1d,
    kernel: usize,
    stride: usize,
    dilation: usize,
}

impl CausalConv {
    fn new(
        vb: VarBuilder,
        in_c: usize,
        out_c: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
    ) -> candle_core::Result<Self> {
        let config = Conv1dConfig { padding: 0, stride, dilation, groups: 1, cudnn_fwd_algo: None };
        let conv = conv1d_weight_norm(in_c, out_c, kernel, config, vb.pp("conv"))?;
        Ok(CausalConv { conv, kernel, stride, dilation })
    }
}

impl Module for CausalConv {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let kernel = (self.kernel - 1) * self.dilation + 1;
        let padding_total = kernel - self.stride;
        let length = xs.dim(D::Minus1)?;
        // `_get_extra_padding_for_conv1d`: enough on the right for whole frames.
        let n_frames = (length + padding_total).saturating_sub(kernel) as f64 / self.stride as f64 + 1.0;
        let ideal = ((n_frames.ceil() as usize).saturating_sub(1) * self.stride + kernel).saturating_sub(padding_total);
        let extra = ideal.saturating_sub(length);
        pad_reflect(xs, padding_total, extra)?.apply(&self.conv)
    }
}

/// `F.pad(mode="reflect")` on the last axis, with EnCodec's zero padding first
/// when the input is too short to reflect.
fn pad_reflect(xs: &Tensor, left: usize, right: usize) -> candle_core::Result<Tensor> {
    if left == 0 && right == 0 {
        return Ok(xs.clone());
    }
    let length = xs.dim(D::Minus1)?;
    let max_pad = left.max(right);
    let (xs, zeros) = if length <= max_pad {
        let zeros = max_pad - length + 1;
        (xs.pad_with_zeros(D::Minus1, 0, zeros)?, zeros)
    } else {
        (xs.clone(), 0)
    };
    let n = length + zeros;
    let index: Vec<u32> = (0..left)
        .map(|i| (left - i) as u32)
        .chain((0..n).map(|i| i as u32))
        .chain((0..right).map(|i| (n - 2 - i) as u32))
        .collect();
    let index = Tensor::new(index, xs.device())?;
    let padded = xs.contiguous()?.index_select(&index, D::Minus1)?;
    let total = padded.dim(D::Minus1)?;
    padded.narrow(D::Minus1, 0, total - zeros)
}

/// A transposed convolution trimmed as EnCodec does when causal: all of
/// `kernel − stride` removed from the right (`trim_right_ratio = 1`).
struct TrimmedConvTranspose {
    conv: ConvTranspose1d,
    trim: usize,
}

impl Module for TrimmedConvTranspose {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let ys = xs.apply(&self.conv)?;
        let length = ys.dim(D::Minus1)?;
        ys.narrow(D::Minus1, 0, length - self.trim)
    }
}

struct ResnetBlock {
    conv1: CausalConv,
    conv2: CausalConv,
    shortcut: CausalConv,
}

impl ResnetBlock {
    fn new(vb: VarBuilder, dim: usize, compress: usize) -> candle_core::Result<Self> {
        let hidden = dim / compress;
        Ok(ResnetBlock {
            conv1: CausalConv::new(vb.pp("block.1"), dim, hidden, RESIDUAL_KERNEL, 1, 1)?,
            conv2: CausalConv::new(vb.pp("block.3"), hidden, dim, 1, 1, 1)?,
            shortcut: CausalConv::new(vb.pp("shortcut"), dim, dim, 1, 1, 1)?,
        })
    }
}

impl Module for ResnetBlock {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let ys = xs.elu(1.0)?.apply(&self.conv1)?.elu(1.0)?.apply(&self.conv2)?;
        self.shortcut.forward(xs)? + ys
    }
}

pub(crate) struct Decoder {
    pub(super) codebooks: Vec<Tensor>,
    init_conv: CausalConv,
    lstms: Vec<candle_nn::LSTM>,
    upsampling: Vec<(TrimmedConvTranspose, ResnetBlock)>,
    final_conv: CausalConv,
}

impl Decoder {
    /// `vb` at the root of the EnCodec file (`decoder.…`, `quantizer.…`).
    pub(crate) fn new(config: Config, vb: VarBuilder) -> candle_core::Result<Self> {
        let codebooks = (0..CODEBOOKS)
            .map(|i| vb.pp("quantizer.layers").pp(i).pp("codebook").get((CODEBOOK_SIZE, config.hidden_size), "embed"))
            .collect::<candle_core::Result<_>>()?;
        let layers = vb.pp("decoder.layers");
        let mut scale = 1 << RATIOS.len();
        let width = config.num_filters * scale;
        let init_conv = CausalConv::new(layers.pp(0), config.hidden_size, width, KERNEL, 1, 1)?;
        let lstms = (0..LSTM_LAYERS)
            .map(|layer_idx| {
                let lstm_config = candle_nn::LSTMConfig { layer_idx, ..Default::default() };
                candle_nn::lstm(width, width, lstm_config, layers.pp(1).pp("lstm"))
            })
            .collect::<candle_core::Result<_>>()?;
        let mut index = 2;
        let mut upsampling = Vec::new();
        for ratio in RATIOS {
            let width = config.num_filters * scale;
            index += 1; // ELU
            let transposed_config = ConvTranspose1dConfig { stride: ratio, ..Default::default() };
            let conv = conv_transpose1d_weight_norm(
                width,
                width / 2,
                2 * ratio,
                true,
                transposed_config,
                layers.pp(index).pp("conv"),
            )?;
            index += 1;
            let block = ResnetBlock::new(layers.pp(index), width / 2, config.compress)?;
            index += 1;
            upsampling.push((TrimmedConvTranspose { conv, trim: ratio }, block));
            scale /= 2;
        }
        index += 1; // ELU
        let final_conv = CausalConv::new(layers.pp(index), config.num_filters, 1, KERNEL, 1, 1)?;
        Ok(Decoder { codebooks, init_conv, lstms, upsampling, final_conv })
    }

    /// `codes`: eight rows of equal length, each code below 1024. Returns 320 samples a code.
    pub(crate) fn decode(&self, codes: &[Vec<u32>]) -> candle_core::Result<Vec<f32>> {
        let Some(first) = codes.first() else { return Ok(Vec::new()) };
        let frames = first.len();
        if codes.len() > self.codebooks.len() || codes.iter().any(|c| c.len() != frames) {
            candle_core::bail!("{} rows of codes of unequal length", codes.len());
        }
        if frames == 0 {
            return Ok(Vec::new());
        }
        let device = self.codebooks[0].device();
        let mut embeddings: Option<Tensor> = None;
        for (row, codebook) in codes.iter().zip(&self.codebooks) {
            if row.iter().any(|&c| c as usize >= CODEBOOK_SIZE) {
                candle_core::bail!("a code is out of the codebook's range");
            }
            let e = codebook.embedding(&Tensor::new(row.as_slice(), device)?)?;
            embeddings = Some(match embeddings {
                None => e,
                Some(sum) => (sum + e)?,
            });
        }
        let Some(embeddings) = embeddings else { return Ok(Vec::new()) };
        let xs = embeddings.t()?.unsqueeze(0)?.contiguous()?;
        let xs = xs.apply(&self.init_conv)?;
        // The LSTM runs over time with a residual around both layers: (1, C, T) ↔ (1, T, C).
        let residual = xs.transpose(1, 2)?.contiguous()?;
        let mut hs = residual.clone();
        for lstm in &self.lstms {
            let states = lstm.seq(&hs)?;
            hs = lstm.states_to_tensor(&states)?;
        }
        let mut xs = (hs + residual)?.transpose(1, 2)?.contiguous()?;
        for (conv, block) in &self.upsampling {
            xs = xs.elu(1.0)?.apply(conv)?.apply(block)?;
        }
        let xs = xs.elu(1.0)?.apply(&self.final_conv)?;
        xs.flatten_all()?.to_vec1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn reflect_padding_matches_torch() {
        let xs = Tensor::new(&[[[1f32, 2., 3., 4., 5.]]], &Device::Cpu).unwrap();
        let padded = pad_reflect(&xs, 3, 2).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // torch.nn.functional.pad(x, (3, 2), mode="reflect")
        assert_eq!(padded, vec![4., 3., 2., 1., 2., 3., 4., 5., 4., 3.]);
        // Too short to reflect: EnCodec pads zeros first, then cuts them off again.
        let short = Tensor::new(&[[[1f32, 2.]]], &Device::Cpu).unwrap();
        let padded = pad_reflect(&short, 6, 0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(padded, vec![0., 0., 0., 0., 0., 2., 1., 2.]);
    }
}
