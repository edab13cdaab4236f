//! MetaVoice's speaker encoder: the GE2E network of Real-Time-Voice-Cloning
//! (three LSTM layers over 40-band mel power spectra at 16 kHz, the last hidden
//! state through a linear layer, ReLU, L2 norm) and MetaVoice's way of using it
//! (`embed_utterance_from_file`): the reference trimmed of leading and trailing
//! silence 20 dB under its peak, cut into 1.6 s partials 1.3 per second, the
//! partial embeddings averaged and normalised.
//!
//! candle-transformers' `speaker_encoder` is not used: its layers past the first
//! take 40 inputs (the weights have 256), it projects the time axis instead of
//! the last hidden state, and its utterance code samples two mel values per
//! partial. This follows MetaVoice's Python instead.

use candle_core::{Device, Module, Tensor};
use candle_nn::{RNN, VarBuilder};

use super::CloneError;
use crate::Audio;

pub(crate) const RATE: u32 = 16_000;
const N_FFT: usize = 400;
const HOP: usize = 160;
pub(crate) const N_MELS: usize = 40;
const PARTIAL_FRAMES: usize = 160;
/// Partials per second and the coverage under which the last one is dropped.
const PARTIALS_RATE: f64 = 1.3;
const MIN_COVERAGE: f64 = 0.75;
/// `librosa.effects.trim` as MetaVoice calls it.
const TRIM_TOP_DB: f64 = 20.0;
const TRIM_FRAME: usize = 2048;
const TRIM_HOP: usize = 512;

pub(crate) struct SpeakerEncoder {
    lstms: Vec<candle_nn::LSTM>,
    linear: candle_nn::Linear,
    embedding: usize,
    device: Device,
}

impl SpeakerEncoder {
    /// `hidden` and `embedding` come from the file's shapes (256 and 256 for MetaVoice).
    /// Layers are read under torch's names (`lstm.weight_ih_l1`) or, when `numbered`,
    /// under those of candle-transformers' speaker encoder (`lstm.1.weight_ih_l1`).
    pub(crate) fn new(
        vb: VarBuilder,
        layers: usize,
        hidden: usize,
        embedding: usize,
        numbered: bool,
    ) -> candle_core::Result<Self> {
        let lstms = (0..layers)
            .map(|layer_idx| {
                let input = if layer_idx == 0 { N_MELS } else { hidden };
                let config = candle_nn::LSTMConfig { layer_idx, ..Default::default() };
                let vb = if numbered { vb.pp("lstm").pp(layer_idx) } else { vb.pp("lstm") };
                candle_nn::lstm(input, hidden, config, vb)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let linear = candle_nn::linear(hidden, embedding, vb.pp("linear"))?;
        Ok(SpeakerEncoder { lstms, linear, embedding, device: vb.device().clone() })
    }

    pub(crate) fn embedding_dim(&self) -> usize {
        self.embedding
    }

    /// The speaker embedding of `reference` (any rate), unit length.
    pub(crate) fn embed(&self, reference: &Audio) -> Result<Vec<f32>, CloneError> {
        let audio = reference.clone().resampled(RATE).map_err(|e| CloneError::Reference(e.to_string()))?;
        let wav = trim(&audio.samples);
        if wav.is_empty() || wav.iter().all(|s| s.abs() < 1e-4) {
            return Err(CloneError::Reference("the recording is silent".into()));
        }
        self.embed_trimmed(wav).map_err(|source| CloneError::Model { context: "embedding the speaker".into(), source })
    }

    /// `embed_utterance` on 16 kHz samples already trimmed.
    pub(crate) fn embed_trimmed(&self, wav: &[f32]) -> candle_core::Result<Vec<f32>> {
        let slices = partial_slices(wav.len());
        let needed = slices.last().map_or(0, |s| (s + PARTIAL_FRAMES) * HOP);
        let mut padded = wav.to_vec();
        if padded.len() < needed {
            padded.resize(needed, 0.0);
        }
        let mel = mel_spectrogram(&padded);
        let frames = mel.len() / N_MELS;
        let mut batch = Vec::with_capacity(slices.len() * PARTIAL_FRAMES * N_MELS);
        for &start in &slices {
            if start + PARTIAL_FRAMES > frames {
                candle_core::bail!("partial {start} runs past the {frames} mel frames");
            }
            batch.extend_from_slice(&mel[start * N_MELS..(start + PARTIAL_FRAMES) * N_MELS]);
        }
        let mels = Tensor::from_vec(batch, (slices.len(), PARTIAL_FRAMES, N_MELS), &self.device)?;
        let partials = self.forward(&mels)?;
        let mean = partials.mean(0)?;
        let norm = mean.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        if norm.is_nan() || norm <= 0.0 {
            candle_core::bail!("the speaker embedding is zero");
        }
        (mean / norm as f64)?.to_vec1()
    }

    /// Partial embeddings, (partials, frames, mels) → (partials, embedding), each unit length.
    fn forward(&self, mels: &Tensor) -> candle_core::Result<Tensor> {
        let mut xs = mels.clone();
        let mut last = None;
        for lstm in &self.lstms {
            let states = lstm.seq(&xs)?;
            last = states.last().map(|s| s.h().clone());
            xs = lstm.states_to_tensor(&states)?;
        }
        let Some(hidden) = last else { candle_core::bail!("the speaker encoder has no LSTM layer") };
        let raw = self.linear.forward(&hidden)?.relu()?;
        let norm = raw.sqr()?.sum_keepdim(1)?.sqrt()?;
        // A partial whose every output the ReLU zeroed stays zero (torch would give NaN).
        raw.broadcast_div(&norm.clamp(1e-12, f64::MAX)?)
    }
}

/// Start frames of the 160-frame partials MetaVoice cuts (`compute_partial_slices`).
pub(crate) fn partial_slices(n_samples: usize) -> Vec<usize> {
    let n_frames = (n_samples + 1).div_ceil(HOP) as i64;
    let frame_step = ((RATE as f64 / PARTIALS_RATE) / HOP as f64).round() as i64;
    let steps = (n_frames - PARTIAL_FRAMES as i64 + frame_step + 1).max(1);
    let mut starts: Vec<usize> = (0..steps).step_by(frame_step as usize).map(|i| i as usize).collect();
    if let Some(&last) = starts.last() {
        let begin = last * HOP;
        let coverage = (n_samples as f64 - begin as f64) / (PARTIAL_FRAMES * HOP) as f64;
        if coverage < MIN_COVERAGE && starts.len() > 1 {
            starts.pop();
        }
    }
    starts
}

/// `librosa.effects.trim(y, top_db=20)`: drops the leading and trailing frames
/// whose mean square is more than 20 dB under the loudest frame's.
pub(crate) fn trim(y: &[f32]) -> &[f32] {
    if y.is_empty() {
        return y;
    }
    let half = TRIM_FRAME / 2;
    let n_frames = 1 + y.len() / TRIM_HOP;
    let power: Vec<f64> = (0..n_frames)
        .map(|t| {
            let start = (t * TRIM_HOP) as i64 - half as i64;
            let sum: f64 = (start..start + TRIM_FRAME as i64)
                .filter(|&i| i >= 0 && (i as usize) < y.len())
                .map(|i| (y[i as usize] as f64).powi(2))
                .sum();
            sum / TRIM_FRAME as f64
        })
        .collect();
    let peak = power.iter().cloned().fold(0.0, f64::max);
    let db = |p: f64| 10.0 * p.max(1e-10).log10();
    let reference = db(peak);
    let loud: Vec<usize> = (0..n_frames).filter(|&t| db(power[t]) - reference > -TRIM_TOP_DB).collect();
    match (loud.first(), loud.last()) {
        (Some(&first), Some(&last)) => {
            let start = (first * TRIM_HOP).min(y.len());
            let end = ((last + 1) * TRIM_HOP).min(y.len());
            &y[start..end]
        }
        _ => &y[..0],
    }
}

/// `librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40)`:
/// centred frames (zero padded), periodic Hann window, power spectrum, Slaney
/// mel filters. Frame-major: `frames × 40`.
pub(crate) fn mel_spectrogram(y: &[f32]) -> Vec<f32> {
    let filters = mel_filters();
    let window: Vec<f32> =
        (0..N_FFT).map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32).collect();
    let mut planner = realfft::RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(N_FFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let bins = N_FFT / 2 + 1;
    let n_frames = 1 + y.len() / HOP;
    let mut out = Vec::with_capacity(n_frames * N_MELS);
    let mut power = vec![0f32; bins];
    for t in 0..n_frames {
        let start = (t * HOP) as i64 - (N_FFT / 2) as i64;
        for (n, slot) in input.iter_mut().enumerate() {
            let i = start + n as i64;
            *slot = if i >= 0 && (i as usize) < y.len() { y[i as usize] * window[n] } else { 0.0 };
        }
        if fft.process(&mut input, &mut spectrum).is_err() {
            spectrum.iter_mut().for_each(|c| *c = Default::default());
        }
        for (p, c) in power.iter_mut().zip(&spectrum) {
            *p = c.norm_sqr();
        }
        for m in 0..N_MELS {
            let row = &filters[m * bins..(m + 1) * bins];
            out.push(row.iter().zip(&power).map(|(w, p)| w * p).sum());
        }
    }
    out
}

/// librosa's Slaney-style mel filter bank for 16 kHz, 400-point FFT, 40 bands
/// (`htk=False, norm="slaney"`), computed in f64 and stored as f32 as librosa does.
pub(crate) fn mel_filters() -> Vec<f32> {
    let bins = N_FFT / 2 + 1;
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    let hz_to_mel = |f: f64| if f >= min_log_hz { min_log_mel + (f / min_log_hz).ln() / logstep } else { f / f_sp };
    let mel_to_hz = |m: f64| if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { f_sp * m };
    let top = hz_to_mel(RATE as f64 / 2.0);
    let mel_f: Vec<f64> = (0..N_MELS + 2).map(|i| mel_to_hz(top * i as f64 / (N_MELS + 1) as f64)).collect();
    let fft_freqs: Vec<f64> = (0..bins).map(|k| k as f64 * RATE as f64 / N_FFT as f64).collect();
    let mut weights = vec![0f32; N_MELS * bins];
    for m in 0..N_MELS {
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
            let upper = (mel_f[m + 2] - f) / (mel_f[m + 2] - mel_f[m + 1]);
            weights[m * bins + k] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials_follow_metavoice() {
        // 3 s at 16 kHz: 301 frames, a step of 77 frames, the last partial kept as it covers 91 %.
        assert_eq!(partial_slices(48_000), vec![0, 77, 154]);
        // 2.5 s: the partial at 154 would cover 40 %, so it is dropped.
        assert_eq!(partial_slices(40_000), vec![0, 77]);
        // Shorter than one partial: one partial, padded.
        assert_eq!(partial_slices(8_000), vec![0]);
    }

    #[test]
    fn trimming_drops_quiet_ends() {
        let mut y = vec![0.0f32; 16_000];
        for (i, s) in y.iter_mut().enumerate().skip(6_000).take(4_000) {
            *s = (i as f32 * 0.05).sin() * 0.5;
        }
        let trimmed = trim(&y);
        assert!(trimmed.len() < 8_000 && trimmed.len() >= 4_000, "{}", trimmed.len());
    }

    #[test]
    fn mel_filters_have_slaney_area() {
        // Slaney normalisation: each triangle's weights sum to ≈ 2 / bandwidth(Hz) × bin spacing (40 Hz).
        let filters = mel_filters();
        let bins = N_FFT / 2 + 1;
        for m in 0..N_MELS {
            let row = &filters[m * bins..(m + 1) * bins];
            assert!(row.iter().all(|w| *w >= 0.0) && row.iter().any(|w| *w > 0.0), "band {m}");
        }
    }
}
