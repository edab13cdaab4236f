//! MetaVoice's speaker encoder: the GE2E network of Real-Time-Voice-Cloning
//! (three LSTM layers over 40-band mel power spectra at 16 kHz, the last hidden
//! state through a linear layer, ReLU, L2 norm) and MetaVoice's way of using it
//! (`embed_utterance_from_file`): the reference trimmed of leading and trailing
//! silence 20 dB under its peak, cut into 1.6 s partials 1.3 per second, the
//! partial embeddings averaged and normalised.
//!
//! The spectrogram, partials and network are `crate::ge2e`'s, shared with
//! Resemblyzer's fingerprint (`crate::speaker`); MetaVoice's own are the
//! trimming, the weights' names and sizes (read from the file), and the
//! refusal of a reference whose embedding is zero.

use candle_nn::VarBuilder;

use super::CloneError;
use crate::Audio;
use crate::ge2e::{self, LayerNames};
// What `clone::parity` and the tests below reach through this module.
#[cfg(test)]
pub(crate) use crate::ge2e::{N_FFT, N_MELS, partial_starts as partial_slices};

pub(crate) const RATE: u32 = ge2e::SAMPLE_RATE;
/// `librosa.effects.trim` as MetaVoice calls it.
const TRIM_TOP_DB: f64 = 20.0;
const TRIM_FRAME: usize = 2048;
const TRIM_HOP: usize = 512;

pub(crate) struct SpeakerEncoder {
    ge2e: ge2e::Encoder,
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
        let names = if numbered { LayerNames::Numbered } else { LayerNames::Torch };
        let sizes = ge2e::Sizes { layers, hidden, embedding };
        let ge2e = ge2e::Encoder::load(sizes, names, |name, shape| vb.get(shape, name))?;
        Ok(SpeakerEncoder { ge2e })
    }

    pub(crate) fn embedding_dim(&self) -> usize {
        self.ge2e.embedding_size()
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
        let mean = self.ge2e.mean_embeddings(&[wav])?.pop().unwrap_or_default();
        // `embed / np.linalg.norm(embed, 2)`. A zero mean (every partial zeroed
        // by the ReLU) would condition the voice on nothing, so the reference is
        // refused, where Resemblyzer's fingerprint stays zero and matches nothing.
        let norm = ge2e::l2_norm(&mean);
        if norm.is_nan() || norm <= 0.0 {
            candle_core::bail!("the speaker embedding is zero");
        }
        Ok(mean.iter().map(|x| x / norm).collect())
    }
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

/// The spectrogram's 40-band filter bank.
#[cfg(test)]
pub(crate) fn mel_filters() -> Vec<f32> {
    ge2e::mel_filters(N_MELS, N_FFT, RATE as f64)
}

/// The encoder's mel spectrogram, frame-major: `frames × 40`.
#[cfg(test)]
pub(crate) fn mel_spectrogram(y: &[f32]) -> Vec<f32> {
    ge2e::MelSpectrogram::new().frames(y).into_flattened()
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
