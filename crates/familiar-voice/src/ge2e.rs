//! The GE2E speaker encoder that both voices share: Resemblyzer's fingerprint
//! (`speaker`) and MetaVoice's speaker embedding (`clone::speaker`) differ
//! only in their front ends and weights. Shared here: librosa's power mel
//! spectrogram at 16 kHz (400-point FFT, hop 160, 40 Slaney bands), the 1.6 s
//! partials cut 1.3 a second, and the network (an LSTM stack, its last hidden
//! state through linear, ReLU, L2 norm; sizes from the weights; partials in
//! batches), up to the mean of the partials' embeddings. Also the Slaney mel
//! filter bank of Whisper's conversion (`convert`).
//!
//! candle-transformers' `metavoice::speaker_encoder` cannot load these weights
//! or reproduce these vectors (its LSTM layers all take 40 inputs, its front
//! end is Whisper's log-mel, it samples two values per partial and embeds
//! every LSTM state), so the network is written here, on the CPU.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// The rate both encoders hear.
pub(crate) const SAMPLE_RATE: u32 = 16_000;
/// 25 ms windows every 10 ms, 40 mel bands.
pub(crate) const N_FFT: usize = 400;
pub(crate) const HOP: usize = 160;
pub(crate) const N_MELS: usize = 40;
const N_BINS: usize = N_FFT / 2 + 1;
/// Frames in a partial utterance (1.6 s).
const PARTIAL_FRAMES: usize = 160;
/// `embed_utterance`'s defaults, the same in Resemblyzer and MetaVoice.
const PARTIALS_PER_SECOND: f64 = 1.3;
const MIN_COVERAGE: f64 = 0.75;
/// At most this many partials run through the network at once (about 100 MB
/// for the real models; bounds memory for long audio).
const BATCH: usize = 128;

/// librosa's `filters.mel(sr=rate, n_fft, n_mels)` with its defaults (Slaney
/// mel scale and area normalisation, `htk=False, norm="slaney"`, 0 Hz to
/// rate/2): `n_mels` rows of `n_fft/2 + 1` weights, computed in f64 and stored
/// as f32 as librosa does. Whisper was trained with this bank too (80 bands).
pub(crate) fn mel_filters(n_mels: usize, n_fft: usize, rate: f64) -> Vec<f32> {
    let f_sp = 200.0 / 3.0;
    let (min_log_hz, min_log_mel, logstep) = (1000.0, 1000.0 / f_sp, (6.4f64).ln() / 27.0);
    let hz_to_mel = |f: f64| if f >= min_log_hz { min_log_mel + (f / min_log_hz).ln() / logstep } else { f / f_sp };
    let mel_to_hz = |m: f64| if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { f_sp * m };
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * rate / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(rate / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64)).collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for m in 0..n_mels {
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
            let upper = (mel_f[m + 2] - f) / (mel_f[m + 2] - mel_f[m + 1]);
            out[m * n_bins + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    out
}

/// `compute_partial_slices(n_samples, 1.3, 0.75)` (Resemblyzer's and
/// MetaVoice's are the same function): the first frame of each 160-frame
/// partial. Partials start every 77 frames; the last one is dropped when less
/// than 75 % of it is audio, unless it is the only one.
pub(crate) fn partial_starts(n_samples: usize) -> Vec<usize> {
    let frames = (n_samples + 1).div_ceil(HOP);
    let step = (SAMPLE_RATE as f64 / PARTIALS_PER_SECOND / HOP as f64).round() as usize;
    let steps = (frames + step + 1).saturating_sub(PARTIAL_FRAMES).max(1);
    let mut starts: Vec<usize> = (0..steps).step_by(step).collect();
    if let Some(&last) = starts.last() {
        let coverage = (n_samples as f64 - (last * HOP) as f64) / (PARTIAL_FRAMES * HOP) as f64;
        if coverage < MIN_COVERAGE && starts.len() > 1 {
            starts.pop();
        }
    }
    starts
}

/// How a checkpoint names its LSTM layers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LayerNames {
    /// `torch.nn.LSTM`'s, one module for the stack: `lstm.weight_ih_l1`.
    Torch,
    /// candle-transformers' speaker encoder, one module a layer: `lstm.1.weight_ih_l1`.
    Numbered,
}

impl LayerNames {
    fn lstm(self, layer: usize, tensor: &str) -> String {
        match self {
            LayerNames::Torch => format!("lstm.{tensor}_l{layer}"),
            LayerNames::Numbered => format!("lstm.{layer}.{tensor}_l{layer}"),
        }
    }
}

/// The network's sizes (3, 256, 256 for both real models).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    pub layers: usize,
    pub hidden: usize,
    pub embedding: usize,
}

/// The tensors of an encoder of `sizes`, with their shapes, in the order
/// `Encoder::load` asks for them (`torch.nn.LSTM`'s and `Linear`'s).
pub(crate) fn tensors(sizes: Sizes, names: LayerNames) -> Vec<(String, Vec<usize>)> {
    let gates = 4 * sizes.hidden;
    let mut out = Vec::with_capacity(4 * sizes.layers + 2);
    for layer in 0..sizes.layers {
        let input = if layer == 0 { N_MELS } else { sizes.hidden };
        out.push((names.lstm(layer, "weight_ih"), vec![gates, input]));
        out.push((names.lstm(layer, "weight_hh"), vec![gates, sizes.hidden]));
        out.push((names.lstm(layer, "bias_ih"), vec![gates]));
        out.push((names.lstm(layer, "bias_hh"), vec![gates]));
    }
    out.push(("linear.weight".into(), vec![sizes.embedding, sizes.hidden]));
    out.push(("linear.bias".into(), vec![sizes.embedding]));
    out
}

/// One LSTM layer. Activations are kept feature-major, (features, batch), so
/// that the four gates are contiguous row blocks of one matrix. The cell
/// gate's rows are stored doubled: tanh(x) = 2·sigmoid(2x) − 1, so one sigmoid
/// over all four gates serves (candle's tanh costs ten times its sigmoid here).
struct LstmLayer {
    /// (4·hidden, input), torch's layout
    w_ih: Tensor,
    /// (4·hidden, hidden)
    w_hh: Tensor,
    /// b_ih + b_hh, (4·hidden, 1)
    bias: Tensor,
    hidden: usize,
}

impl LstmLayer {
    /// Runs the layer over `xs` (time, input, batch) from zero states. Returns
    /// every step's hidden state (time, hidden, batch), or only the last one
    /// (hidden, batch) when `last_only`.
    fn run(&self, xs: &Tensor, last_only: bool) -> candle_core::Result<Tensor> {
        let (steps, _, batch) = xs.dims3()?;
        let hidden = self.hidden;
        // The input's share of every gate at every step: (time, 4·hidden, batch).
        let projected = self.w_ih.broadcast_matmul(xs)?.broadcast_add(&self.bias)?;
        let mut h = Tensor::zeros((hidden, batch), DType::F32, xs.device())?;
        let mut c = h.clone();
        let mut outputs = Vec::with_capacity(if last_only { 0 } else { steps });
        for t in 0..steps {
            let gates = projected.get(t)?.add(&self.w_hh.matmul(&h)?)?;
            // torch's gate order: input, forget, cell, output.
            let sig = candle_nn::ops::sigmoid(&gates)?;
            let i = sig.narrow(0, 0, hidden)?;
            let f = sig.narrow(0, hidden, hidden)?;
            let g = sig.narrow(0, 2 * hidden, hidden)?.affine(2.0, -1.0)?;
            let o = sig.narrow(0, 3 * hidden, hidden)?;
            c = f.mul(&c)?.add(&i.mul(&g)?)?;
            h = o.mul(&tanh(&c)?)?;
            if !last_only {
                outputs.push(h.clone());
            }
        }
        if last_only { Ok(h) } else { Tensor::stack(&outputs, 0) }
    }
}

/// tanh(x) = 2·sigmoid(2x) − 1 (absolute error about 1e-7).
fn tanh(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::sigmoid(&x.affine(2.0, 0.0)?)?.affine(2.0, -1.0)
}

/// librosa's `feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160,
/// n_mels=40)`: centred frames (the signal padded with zeros), periodic Hann
/// window, power spectrum, Slaney mel filters, no log. Computed in f64 (as
/// numpy's FFT does) and stored as f32.
pub(crate) struct MelSpectrogram {
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// Each band's filter as (first bin, weights): most weights are zero.
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelSpectrogram {
    pub(crate) fn new() -> MelSpectrogram {
        let filters = mel_filters(N_MELS, N_FFT, SAMPLE_RATE as f64);
        let bands = filters
            .chunks(N_BINS)
            .map(|row| {
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w != 0.0).map_or(first, |l| l + 1);
                (first, row[first..last].to_vec())
            })
            .collect();
        // librosa's default window: a periodic Hann window as long as the FFT.
        let window =
            (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        MelSpectrogram { fft: RealFftPlanner::new().plan_fft_forward(N_FFT), window, bands }
    }

    /// The spectrogram of 16 kHz samples: `1 + len / 160` frames of 40 bands.
    pub(crate) fn frames(&self, wav: &[f32]) -> Vec<[f32; N_MELS]> {
        let frames = 1 + wav.len() / HOP;
        let mut padded = vec![0f32; wav.len() + N_FFT];
        padded[N_FFT / 2..N_FFT / 2 + wav.len()].copy_from_slice(wav);
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = [0f64; N_BINS];
        let mut out = Vec::with_capacity(frames);
        for frame in 0..frames {
            let samples = &padded[frame * HOP..frame * HOP + N_FFT];
            for ((slot, &sample), &w) in input.iter_mut().zip(samples).zip(&self.window) {
                *slot = sample as f64 * w;
            }
            // Fails only for buffers of the wrong length, and these are the plan's own.
            if self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).is_err() {
                spectrum.fill(Complex::default());
            }
            for (p, x) in power.iter_mut().zip(&spectrum) {
                *p = x.norm_sqr();
            }
            let mut mel = [0f32; N_MELS];
            for (m, (first, weights)) in mel.iter_mut().zip(&self.bands) {
                *m = weights.iter().zip(&power[*first..]).map(|(w, p)| *w as f64 * p).sum::<f64>() as f32;
            }
            out.push(mel);
        }
        out
    }
}

/// The encoder with its weights; cheap to share between threads (`Send + Sync`).
pub(crate) struct Encoder {
    layers: Vec<LstmLayer>,
    /// (embedding, hidden)
    linear_w: Tensor,
    /// (embedding, 1)
    linear_b: Tensor,
    embedding: usize,
    device: Device,
    mel: MelSpectrogram,
}

impl Encoder {
    /// Builds the encoder from `get(name, shape)`, called for each of
    /// `tensors(sizes, names)` in turn; it returns that tensor with that shape
    /// (the front ends check the files and name what is wrong in their own errors).
    pub(crate) fn load<E: From<candle_core::Error>>(
        sizes: Sizes,
        names: LayerNames,
        mut get: impl FnMut(&str, &[usize]) -> Result<Tensor, E>,
    ) -> Result<Encoder, E> {
        if sizes.layers == 0 {
            return Err(candle_core::Error::Msg("the speaker encoder has no LSTM layer".into()).into());
        }
        let all = tensors(sizes, names)
            .iter()
            .map(|(name, shape)| Ok(get(name, shape)?.to_dtype(DType::F32)?))
            .collect::<Result<Vec<Tensor>, E>>()?;
        let (lstm, linear) = all.split_at(4 * sizes.layers);
        let [linear_w, linear_b] = linear else {
            return Err(candle_core::Error::Msg("the speaker encoder has no linear layer".into()).into());
        };
        let device = linear_w.device().clone();
        let hidden = sizes.hidden;
        // Doubles the cell gate's rows (see `LstmLayer`).
        let gate_scale = Tensor::cat(
            &[
                Tensor::ones((2 * hidden, 1), DType::F32, &device)?,
                Tensor::full(2f32, (hidden, 1), &device)?,
                Tensor::ones((hidden, 1), DType::F32, &device)?,
            ],
            0,
        )?;
        let mut layers = Vec::with_capacity(sizes.layers);
        for layer in lstm.chunks_exact(4) {
            // Always four: `tensors` lists each layer's four in this order.
            let [w_ih, w_hh, b_ih, b_hh] = layer else { continue };
            let bias = (b_ih + b_hh)?.reshape((4 * hidden, 1))?;
            layers.push(LstmLayer {
                w_ih: w_ih.broadcast_mul(&gate_scale)?,
                w_hh: w_hh.broadcast_mul(&gate_scale)?,
                bias: bias.mul(&gate_scale)?,
                hidden,
            });
        }
        Ok(Encoder {
            layers,
            linear_w: linear_w.clone(),
            linear_b: linear_b.reshape((sizes.embedding, 1))?,
            embedding: sizes.embedding,
            device,
            mel: MelSpectrogram::new(),
        })
    }

    /// Values in an embedding.
    pub(crate) fn embedding_size(&self) -> usize {
        self.embedding
    }

    /// The mel power spectrogram of 16 kHz samples, as frames of 40 bands.
    pub(crate) fn mel_spectrogram(&self, wav: &[f32]) -> Vec<[f32; N_MELS]> {
        self.mel.frames(wav)
    }

    /// `embed_utterance` up to its last step, for each of `utterances` (16 kHz
    /// samples): each is zero padded to cover its last partial, its partials'
    /// embeddings (each unit length) are averaged, and that mean is returned
    /// for the front end to normalise. Partials of all utterances run through
    /// the network together.
    pub(crate) fn mean_embeddings(&self, utterances: &[&[f32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let mut partials: Vec<f32> = Vec::new();
        let mut owner = Vec::new();
        for (index, wav) in utterances.iter().enumerate() {
            let starts = partial_starts(wav.len());
            let last = starts.last().copied().unwrap_or(0);
            let mut padded = wav.to_vec();
            padded.resize(padded.len().max((last + PARTIAL_FRAMES) * HOP), 0.0);
            let mel = self.mel.frames(&padded);
            for &start in &starts {
                let Some(frames) = mel.get(start..start + PARTIAL_FRAMES) else {
                    candle_core::bail!("partial {start} runs past the {} mel frames", mel.len());
                };
                partials.extend(frames.iter().flatten());
                owner.push(index);
            }
        }
        let per_partial = PARTIAL_FRAMES * N_MELS;
        // Batches of equal size: each costs a fixed 160 steps a layer, whatever its size.
        let batch_size = owner.len().div_ceil(owner.len().div_ceil(BATCH).max(1)).max(1);
        let mut embeddings: Vec<Vec<f32>> = Vec::with_capacity(owner.len());
        for batch in partials.chunks(batch_size * per_partial) {
            let n = batch.len() / per_partial;
            let mels = Tensor::from_slice(batch, (n, PARTIAL_FRAMES, N_MELS), &self.device)?;
            embeddings.extend(self.forward(&mels)?.to_vec2::<f32>()?);
        }
        let mut sums = vec![vec![0f32; self.embedding]; utterances.len()];
        let mut counts = vec![0usize; utterances.len()];
        for (embedding, &index) in embeddings.iter().zip(&owner) {
            for (s, e) in sums[index].iter_mut().zip(embedding) {
                *s += e;
            }
            counts[index] += 1;
        }
        Ok(sums
            .into_iter()
            .zip(counts)
            .map(|(sum, count)| sum.iter().map(|s| s / count.max(1) as f32).collect())
            .collect())
    }

    /// Partials (batch, 160 frames, 40 mels) → their L2-normalised embeddings (batch, embedding).
    fn forward(&self, mels: &Tensor) -> candle_core::Result<Tensor> {
        // (batch, time, mels) → (time, mels, batch)
        let mut xs = mels.permute((1, 2, 0))?.contiguous()?;
        for (i, layer) in self.layers.iter().enumerate() {
            xs = layer.run(&xs, i + 1 == self.layers.len())?;
        }
        // The last hidden state (hidden, batch) → (batch, embedding).
        let raw = self.linear_w.matmul(&xs)?.broadcast_add(&self.linear_b)?.relu()?.t()?;
        // Both Pythons divide by the norm; an all-zero embedding (possible only
        // for degenerate input), where they would give NaN, stays zero here.
        let norm = raw.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(f32::MIN_POSITIVE, f32::MAX)?;
        raw.broadcast_div(&norm)
    }
}

/// The Euclidean length of an embedding.
pub(crate) fn l2_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}
