//! The speaker fingerprint: Resemblyzer's GE2E d-vector encoder (a 3-layer
//! LSTM over 40 mel channels, a 256→256 linear layer, ReLU, L2 norm) with its
//! real weights, on candle. Owns the conversion of Resemblyzer's legacy torch
//! checkpoint to safetensors and what is Resemblyzer's own in the front end:
//! `preprocess_wav` (16 kHz, volume raised to -30 dBFS, long silences trimmed)
//! and the final normalisation. `wav_to_mel_spectrogram` (librosa's power mel
//! spectrogram, no log), the partials of `embed_utterance` (1.6 s, 1.3 a
//! second, the last one kept when it covers 75 %, averaged) and the network
//! are `crate::ge2e`'s, shared with the cloned voice's speaker encoder.
//!
//! Differences from Resemblyzer, both measured by `tests/speaker.rs`: resampling
//! is rubato's (`crate::audio`) instead of soxr's, and silences are found by
//! `crate::vad`'s level detector instead of webrtcvad; the smoothing and
//! dilation of the voice flags around them are Resemblyzer's.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::audio::{Audio, AudioError};
use crate::ge2e::{self, LayerNames, N_MELS};
use crate::torch_legacy::{self, Dtype, TorchError};
use crate::vad::{self, VadConfig};
// What the tests below reach through this module.
#[cfg(test)]
use crate::ge2e::{HOP, partial_starts};

/// The rate the model hears.
pub const SAMPLE_RATE: u32 = ge2e::SAMPLE_RATE;
/// A fingerprint needs at least this much speech (after long silences are trimmed).
pub const MIN_SPEECH_SECONDS: f32 = 1.0;
/// The longest window `embed_windows` takes.
pub const MAX_WINDOW_SECONDS: f32 = 3600.0;
/// Dimensions of a fingerprint.
pub const EMBEDDING_SIZE: usize = 256;

/// Resemblyzer's `hparams`: 3 layers of 256.
const SIZES: ge2e::Sizes = ge2e::Sizes { layers: 3, hidden: 256, embedding: EMBEDDING_SIZE };
const TARGET_DBFS: f64 = -30.0;
/// Voice flags are per 30 ms; 8 are averaged; 6 silent windows (180 ms) are kept between voiced ones.
const VAD_WINDOW: usize = 480;
const VAD_AVERAGE_WIDTH: usize = 8;
const VAD_MAX_SILENCE: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error("could not read Resemblyzer's pretrained.pt: {0}")]
    Checkpoint(#[from] TorchError),
    #[error("the checkpoint has no tensor {0}: it is not Resemblyzer's speaker encoder (resemblyzer/pretrained.pt)")]
    MissingTensor(String),
    #[error("tensor {name} has shape {found:?} where the speaker encoder needs {expected:?}")]
    Shape { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("tensor {name} holds {found} values where the speaker encoder needs f32")]
    Dtype { name: String, found: String },
    #[error("could not write the converted speaker model: {0}")]
    Write(String),
    #[error(
        "could not read the speaker model {path}: {source} (run `familiar setup`, which converts Resemblyzer's pretrained.pt)"
    )]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a speaker model: {message} (convert Resemblyzer's pretrained.pt again)")]
    Weights { path: String, message: String },
    #[error("the speaker model failed: {0}")]
    Model(#[from] candle_core::Error),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("the audio holds no speech to fingerprint (it is silent or only steady noise)")]
    NoSpeech,
    #[error(
        "the audio holds {seconds:.2} s of speech; a voice fingerprint needs at least {min:.1} s: record a longer sample"
    )]
    TooShort { seconds: f32, min: f32 },
    #[error("windows of {0} s cannot be fingerprinted: use windows of {MIN_SPEECH_SECONDS} to {MAX_WINDOW_SECONDS} s")]
    BadWindow(f32),
}

/// A voice's fingerprint: 256 values, L2-normalised.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint(pub Vec<f32>);

impl Fingerprint {
    /// Cosine similarity: 1 for the same direction. Resemblyzer's vectors are
    /// non-negative, so two voices score between 0 and 1 (on the test clips,
    /// one voice saying two sentences scores 0.86–0.89 and different voices
    /// 0.44–0.75). Vectors of different lengths, or a zero vector, score 0.
    pub fn similarity(&self, other: &Fingerprint) -> f32 {
        if self.0.len() != other.0.len() {
            return 0.0;
        }
        let dot: f64 = self.0.iter().zip(&other.0).map(|(a, b)| *a as f64 * *b as f64).sum();
        let norm = |v: &[f32]| v.iter().map(|x| *x as f64 * *x as f64).sum::<f64>().sqrt();
        let denominator = norm(&self.0) * norm(&other.0);
        if denominator == 0.0 { 0.0 } else { (dot / denominator) as f32 }
    }
}

/// The tensors of the model, with their shapes, as `torch.nn.LSTM` and `Linear` name them.
fn expected_tensors() -> Vec<(String, Vec<usize>)> {
    ge2e::tensors(SIZES, LayerNames::Torch)
}

/// Converts Resemblyzer's `pretrained.pt` (a legacy torch checkpoint whose
/// `model_state` holds the weights) into safetensors bytes holding exactly the
/// encoder's tensors (the training-only `similarity_*` and optimizer state are left out).
pub fn convert_resemblyzer(pt: &[u8]) -> Result<Vec<u8>, SpeakerError> {
    let checkpoint = torch_legacy::read(pt)?;
    let mut found: HashMap<String, torch_legacy::RawTensor> =
        checkpoint.state_dict(&["model_state"])?.into_iter().collect();
    let mut tensors = HashMap::new();
    for (name, shape) in expected_tensors() {
        let raw = found.remove(&name).ok_or_else(|| SpeakerError::MissingTensor(name.clone()))?;
        if raw.shape != shape {
            return Err(SpeakerError::Shape { name, expected: shape, found: raw.shape });
        }
        let values = match raw.dtype {
            Dtype::F32 => raw.f32s().unwrap_or_default(),
            other => return Err(SpeakerError::Dtype { name, found: format!("{other:?}").to_lowercase() }),
        };
        tensors.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
    }
    safetensors::serialize(&tensors, None).map_err(|e| SpeakerError::Write(e.to_string()))
}

/// The encoder with its weights; cheap to share between threads (`Send + Sync`).
pub struct SpeakerEncoder {
    ge2e: ge2e::Encoder,
}

impl SpeakerEncoder {
    /// Loads the safetensors file `convert_resemblyzer` wrote.
    pub fn load(safetensors: &Path) -> Result<SpeakerEncoder, SpeakerError> {
        let path = safetensors.display().to_string();
        let bytes = std::fs::read(safetensors).map_err(|source| SpeakerError::Io { path: path.clone(), source })?;
        let weights_error = |message: String| SpeakerError::Weights { path: path.clone(), message };
        let device = Device::Cpu;
        let mut tensors =
            candle_core::safetensors::load_buffer(&bytes, &device).map_err(|e| weights_error(e.to_string()))?;
        let take = |name: &str, shape: &[usize]| -> Result<Tensor, SpeakerError> {
            let t = tensors.remove(name).ok_or_else(|| weights_error(format!("it has no tensor {name}")))?;
            if t.dims() != shape {
                return Err(weights_error(format!("{name} has shape {:?}, not {shape:?}", t.dims())));
            }
            Ok(t)
        };
        let ge2e = ge2e::Encoder::load(SIZES, LayerNames::Torch, take)?;
        Ok(SpeakerEncoder { ge2e })
    }

    /// A fingerprint of the whole utterance (any sample rate; resampled to 16 kHz with crate::audio).
    pub fn embed(&self, audio: &Audio) -> Result<Fingerprint, SpeakerError> {
        let speech = preprocess(audio)?;
        check_length(speech.len())?;
        self.embed_utterance(&speech)
    }

    /// Fingerprints of consecutive windows of `seconds` (for "is this one speaker?").
    ///
    /// Long silences are trimmed from the whole audio first, so each window
    /// holds `seconds` of speech; a last, shorter piece is kept if it is at least
    /// half a window long (and `MIN_SPEECH_SECONDS`), and speech shorter than one
    /// window gives one fingerprint of all of it.
    pub fn embed_windows(&self, audio: &Audio, seconds: f32) -> Result<Vec<Fingerprint>, SpeakerError> {
        if !(MIN_SPEECH_SECONDS..=MAX_WINDOW_SECONDS).contains(&seconds) {
            return Err(SpeakerError::BadWindow(seconds));
        }
        let speech = preprocess(audio)?;
        check_length(speech.len())?;
        let window = (seconds * SAMPLE_RATE as f32).round() as usize;
        let min_last = (window / 2).max((MIN_SPEECH_SECONDS * SAMPLE_RATE as f32) as usize);
        let pieces: Vec<&[f32]> = if speech.len() <= window {
            vec![&speech]
        } else {
            speech.chunks(window).filter(|piece| piece.len() == window || piece.len() >= min_last).collect()
        };
        self.embed_pieces(&pieces)
    }

    /// Resemblyzer's `embed_utterance` on samples already at 16 kHz and
    /// preprocessed as the caller wants (no resampling, volume change or
    /// trimming here): the L2-normalised mean of the partials' embeddings.
    pub fn embed_utterance(&self, wav: &[f32]) -> Result<Fingerprint, SpeakerError> {
        if wav.iter().all(|&s| s == 0.0) {
            return Err(SpeakerError::NoSpeech);
        }
        let mut out = self.embed_pieces(&[wav])?;
        out.pop().ok_or(SpeakerError::NoSpeech)
    }

    /// Resemblyzer's `wav_to_mel_spectrogram`: librosa's power mel spectrogram
    /// (a centred STFT with zero padding, 25 ms periodic Hann windows every
    /// 10 ms, Slaney mel filters, no log), as frames of 40 channels.
    pub fn mel_spectrogram(&self, wav: &[f32]) -> Vec<[f32; N_MELS]> {
        self.ge2e.mel_spectrogram(wav)
    }

    /// Fingerprints of several utterances, their partials run through the network together.
    fn embed_pieces(&self, pieces: &[&[f32]]) -> Result<Vec<Fingerprint>, SpeakerError> {
        Ok(self.ge2e.mean_embeddings(pieces)?.into_iter().map(|mean| Fingerprint(normalised(mean))).collect())
    }
}

/// Resemblyzer's last step, `embed / np.linalg.norm(embed, 2)`; a zero mean
/// (every partial zeroed by the ReLU) is left zero, a fingerprint that matches
/// nothing, where the cloned voice refuses its reference instead.
fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = ge2e::l2_norm(&v);
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn check_length(samples: usize) -> Result<(), SpeakerError> {
    let seconds = samples as f32 / SAMPLE_RATE as f32;
    if seconds < MIN_SPEECH_SECONDS {
        return Err(SpeakerError::TooShort { seconds, min: MIN_SPEECH_SECONDS });
    }
    Ok(())
}

/// Resemblyzer's `preprocess_wav`: 16 kHz, volume raised (never lowered) to
/// -30 dBFS, long silences trimmed.
fn preprocess(audio: &Audio) -> Result<Vec<f32>, SpeakerError> {
    if audio.samples.is_empty() || audio.is_silent() {
        return Err(SpeakerError::NoSpeech);
    }
    let audio = audio.clone().resampled(SAMPLE_RATE)?;
    let wav = normalize_volume(audio.samples);
    let speech = trim_long_silences(&wav);
    if speech.is_empty() {
        return Err(SpeakerError::NoSpeech);
    }
    Ok(speech)
}

/// Raises the level to -30 dBFS (RMS of the samples as 16-bit values); louder audio is left alone.
fn normalize_volume(mut wav: Vec<f32>) -> Vec<f32> {
    let int16_max = i16::MAX as f64;
    let mean_square = wav.iter().map(|&s| (s as f64 * int16_max).powi(2)).sum::<f64>() / wav.len().max(1) as f64;
    let dbfs = 20.0 * (mean_square.sqrt() / int16_max).log10();
    let change = TARGET_DBFS - dbfs;
    if change > 0.0 && change.is_finite() {
        let gain = 10f64.powf(change / 20.0) as f32;
        wav.iter_mut().for_each(|s| *s *= gain);
    }
    wav
}

/// Whether each 30 ms window holds speech, by `crate::vad`'s level detector
/// (a 20 ms frame is speech when 12 dB above the noise floor and above
/// -50 dBFS; no minimum length, no hangover), where a window is voiced when at
/// least half of it lies in speech. This stands in for Resemblyzer's webrtcvad
/// (mode 3). The detector is streaming and takes its first frame as the noise
/// floor, which would hide speech at the very start of a recording until its
/// first pause; so it is first fed the recording's quietest frame, and starts
/// from that floor.
fn voice_flags(wav: &[f32]) -> Vec<bool> {
    let frame = SAMPLE_RATE as usize / 50;
    let energy = |f: &[f32]| f.iter().map(|s| s * s).sum::<f32>();
    let quietest = wav.chunks_exact(frame).min_by(|a, b| energy(a).total_cmp(&energy(b))).unwrap_or_default();
    let primed: Vec<f32> = quietest.iter().chain(wav).copied().collect();
    let config = VadConfig { min_speech_ms: 20, hangover_ms: 20, ..VadConfig::default() };
    let spans = vad::speech_spans(&primed, SAMPLE_RATE, config);
    let windows = wav.len() / VAD_WINDOW;
    let mut voiced = vec![0usize; windows];
    for (start, end) in spans {
        let (start, end) = (start.saturating_sub(quietest.len()), end.saturating_sub(quietest.len()));
        let first = start / VAD_WINDOW;
        for (w, count) in voiced.iter_mut().enumerate().skip(first).take(end.div_ceil(VAD_WINDOW).saturating_sub(first))
        {
            let (a, b) = (w * VAD_WINDOW, (w + 1) * VAD_WINDOW);
            *count += end.min(b).saturating_sub(start.max(a));
        }
    }
    voiced.into_iter().map(|count| 2 * count >= VAD_WINDOW).collect()
}

/// Resemblyzer's `trim_long_silences` around `voice_flags`: the audio is cut
/// to whole 30 ms windows, the flags are smoothed by a moving average of 8
/// (voiced when more than half are, as numpy rounds 0.5 down), each voiced
/// window is widened by 3 windows on both sides, and only the windows so
/// marked are kept. Silences up to 180 ms inside speech survive; longer ones
/// shrink to that.
fn trim_long_silences(wav: &[f32]) -> Vec<f32> {
    let flags = voice_flags(wav);
    let n = flags.len();
    let (before, after) = ((VAD_AVERAGE_WIDTH - 1) / 2, VAD_AVERAGE_WIDTH / 2);
    let smoothed: Vec<bool> = (0..n)
        .map(|i| {
            let (from, to) = (i.saturating_sub(before), (i + after + 1).min(n));
            let voiced = flags[from..to].iter().filter(|&&f| f).count();
            // np.round(voiced / 8) is 1 from 5 of 8 on (4 of 8 is 0.5, which rounds to even: 0).
            2 * voiced > VAD_AVERAGE_WIDTH
        })
        .collect();
    let reach = VAD_MAX_SILENCE.div_ceil(2);
    let mut out = Vec::with_capacity(n * VAD_WINDOW);
    for i in 0..n {
        let (from, to) = (i.saturating_sub(reach), (i + reach + 1).min(n));
        if smoothed[from..to].iter().any(|&f| f) {
            out.extend_from_slice(&wav[i * VAD_WINDOW..(i + 1) * VAD_WINDOW]);
        }
    }
    out
}

// Unit tests: the pieces of the front end against values from Resemblyzer and librosa.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::torch_legacy::fake::{FakeTensor, checkpoint};

    #[test]
    fn partials_are_sliced_as_resemblyzer_slices_them() {
        // VoiceEncoder.compute_partial_slices(n, 1.3, 0.75), mel starts, from Resemblyzer 0.1.4.
        let cases: &[(usize, &[usize])] = &[
            (0, &[0]),
            (1, &[0]),
            (25_760, &[0]),
            (31_519, &[0]),
            (31_520, &[0, 77]),
            (43_839, &[0, 77]),
            (43_840, &[0, 77, 154]),
            (160_000, &[0, 77, 154, 231, 308, 385, 462, 539, 616, 693, 770, 847]),
        ];
        for (n, starts) in cases {
            assert_eq!(partial_starts(*n), *starts, "{n} samples");
        }
    }

    #[test]
    fn volume_is_raised_to_minus_30_dbfs_and_never_lowered() {
        let quiet: Vec<f32> = (0..16_000).map(|i| 0.001 * (i as f32 * 0.05).sin()).collect();
        let raised = normalize_volume(quiet);
        let rms = (raised.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / raised.len() as f64).sqrt();
        assert!((20.0 * (rms * 32768.0 / 32767.0).log10() - TARGET_DBFS).abs() < 0.01);
        let loud: Vec<f32> = (0..16_000).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect();
        assert_eq!(normalize_volume(loud.clone()), loud);
    }

    fn tone(seconds: f32) -> Vec<f32> {
        (0..(seconds * 16_000.0) as usize)
            .map(|i| 0.3 * (i as f32 * 0.07).sin() * (1.0 + (i as f32 * 0.002).sin()))
            .collect()
    }

    #[test]
    fn long_silences_shrink_to_180_ms_and_short_pauses_stay() {
        let silence = |s: f32| vec![0f32; (s * 16_000.0) as usize];
        let long: Vec<f32> = [silence(0.6), tone(0.96), silence(1.5), tone(0.96), silence(0.6)].concat();
        let trimmed = trim_long_silences(&long);
        // 0.96 s of sound twice, each widened by 90 ms on both sides.
        let expected = 2 * (960 + 180) * 16;
        assert!(
            trimmed.len().abs_diff(expected) <= 2 * VAD_WINDOW,
            "{} samples, expected about {expected}",
            trimmed.len()
        );

        let short: Vec<f32> = [tone(0.96), silence(0.12), tone(0.96)].concat();
        let kept = trim_long_silences(&short);
        assert!(kept.len() >= short.len() / VAD_WINDOW * VAD_WINDOW - 2 * VAD_WINDOW, "a 120 ms pause is kept");
    }

    #[test]
    fn the_mel_spectrogram_has_librosas_frames_and_puts_a_tone_in_its_channel() {
        let encoder = fake_encoder();
        // 1 kHz is bin 25 of the 400-point FFT; librosa.feature.melspectrogram puts it in channel 13 of 40.
        let wav: Vec<f32> =
            (0..8_000).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin()).collect();
        let mel = encoder.mel_spectrogram(&wav);
        assert_eq!(mel.len(), 1 + 8_000 / HOP);
        let middle = &mel[mel.len() / 2];
        let loudest = (0..N_MELS).max_by(|&a, &b| middle[a].total_cmp(&middle[b])).unwrap();
        assert_eq!(loudest, 13);
        // Centred frames: the first one sees half a window of zeros, so holds less energy.
        assert!(mel[0].iter().sum::<f32>() < middle.iter().sum::<f32>());
    }

    #[test]
    fn fingerprints_compare_by_cosine() {
        let a = Fingerprint(vec![1.0, 0.0]);
        let b = Fingerprint(vec![0.6, 0.8]);
        assert!((a.similarity(&b) - 0.6).abs() < 1e-6);
        assert!((a.similarity(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.similarity(&Fingerprint(vec![0.0, 0.0])), 0.0);
        assert_eq!(a.similarity(&Fingerprint(vec![1.0])), 0.0);
    }

    /// Every tensor of the model, filled with small deterministic values.
    fn fake_tensors() -> Vec<FakeTensor> {
        expected_tensors()
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product::<usize>();
                FakeTensor::new(&name, &shape, (0..n).map(|i| ((i % 17) as f32 - 8.0) * 0.01).collect())
            })
            .collect()
    }

    fn fake_encoder() -> SpeakerEncoder {
        let bytes = convert_resemblyzer(&checkpoint(&fake_tensors())).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("speaker.safetensors");
        std::fs::write(&path, bytes).unwrap();
        SpeakerEncoder::load(&path).unwrap()
    }

    #[test]
    fn conversion_keeps_exactly_the_encoders_tensors() {
        let mut tensors = fake_tensors();
        tensors.push(FakeTensor::new("similarity_weight", &[1], vec![10.0]));
        let bytes = convert_resemblyzer(&checkpoint(&tensors)).unwrap();
        let loaded = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap();
        assert_eq!(loaded.len(), expected_tensors().len());
        let bias = loaded["linear.bias"].to_vec1::<f32>().unwrap();
        assert_eq!(bias[..3], [-0.08, -0.07, -0.06]);
    }

    #[test]
    fn a_missing_tensor_a_wrong_shape_or_type_is_named() {
        let mut tensors = fake_tensors();
        tensors.retain(|t| t.name != "lstm.weight_hh_l1");
        let err = convert_resemblyzer(&checkpoint(&tensors)).unwrap_err();
        assert!(matches!(&err, SpeakerError::MissingTensor(n) if n == "lstm.weight_hh_l1"), "{err}");

        let mut tensors = fake_tensors();
        let last = tensors.len() - 1;
        tensors[last] = FakeTensor::new("linear.bias", &[128], vec![0.0; 128]);
        let err = convert_resemblyzer(&checkpoint(&tensors)).unwrap_err();
        assert!(matches!(&err, SpeakerError::Shape { name, .. } if name == "linear.bias"), "{err}");

        let mut tensors = fake_tensors();
        tensors[last].storage_class = "IntStorage";
        let err = convert_resemblyzer(&checkpoint(&tensors)).unwrap_err();
        assert!(matches!(&err, SpeakerError::Dtype { name, .. } if name == "linear.bias"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_converted_model_is_refused_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.safetensors");
        assert!(matches!(SpeakerEncoder::load(&missing), Err(SpeakerError::Io { .. })));
        let junk = dir.path().join("junk.safetensors");
        std::fs::write(&junk, b"not safetensors at all").unwrap();
        assert!(matches!(SpeakerEncoder::load(&junk), Err(SpeakerError::Weights { .. })));
    }

    #[test]
    fn silence_and_short_audio_are_refused_with_a_reason() {
        let encoder = fake_encoder();
        let silent = Audio { samples: vec![0.0; 48_000], rate: 16_000 };
        assert!(matches!(encoder.embed(&silent), Err(SpeakerError::NoSpeech)));
        let empty = Audio { samples: vec![], rate: 16_000 };
        assert!(matches!(encoder.embed(&empty), Err(SpeakerError::NoSpeech)));
        let short = Audio { samples: [vec![0.0; 8_000], tone(0.4), vec![0.0; 8_000]].concat(), rate: 16_000 };
        assert!(matches!(encoder.embed(&short), Err(SpeakerError::TooShort { .. })));
        let long = Audio { samples: tone(2.0), rate: 16_000 };
        assert!(matches!(encoder.embed_windows(&long, 0.5), Err(SpeakerError::BadWindow(_))));
        assert!(matches!(encoder.embed_windows(&long, f32::NAN), Err(SpeakerError::BadWindow(_))));
    }

    #[test]
    fn the_encoder_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<SpeakerEncoder>();
        let encoder = fake_encoder();
        assert!(matches!(encoder.embed_utterance(&[0.0; 16_000]), Err(SpeakerError::NoSpeech)));
        assert!(matches!(encoder.embed_utterance(&[]), Err(SpeakerError::NoSpeech)));
    }

    #[test]
    fn windows_cover_the_speech_in_order() {
        let encoder = fake_encoder();
        let audio = Audio { samples: tone(5.5), rate: 16_000 };
        // 5.5 s in windows of 2 s: two whole windows and a last piece of 1.5 s (over half a window: kept).
        assert_eq!(encoder.embed_windows(&audio, 2.0).unwrap().len(), 3);
        assert_eq!(encoder.embed_windows(&audio, 3.0).unwrap().len(), 2);
        assert_eq!(encoder.embed_windows(&audio, 10.0).unwrap().len(), 1);
        let one = encoder.embed_windows(&audio, 10.0).unwrap();
        assert!((one[0].similarity(&encoder.embed(&audio).unwrap()) - 1.0).abs() < 1e-6);
    }
}
