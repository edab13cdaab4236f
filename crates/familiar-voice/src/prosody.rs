//! Rate and pitch for a voice that has no such controls of its own (the
//! cloned voice), and pitch for Piper's (whose own length control is not
//! exact: it rounds each phoneme up to whole frames, so speech asked to be
//! 0.79× as long came out ≈ 0.9× as long, and a lowered voice spoke slower).
//! WSOLA (overlap-add of 40 ms Hann frames, each shifted by up to ±10 ms to
//! the offset that best continues the previous frame) stretches time without
//! changing pitch, then a resampling (rubato, through [`crate::Audio`]) moves
//! pitch and time together. Stretching by `f / rate` and resampling by `f`
//! gives the duration `1 / rate` at the pitch `f = 2^(semitones / 12)`.

use crate::Audio;
use crate::tts::Prosody;

const FRAME: usize = 960;
const HOP: usize = FRAME / 2;
const TOLERANCE: usize = 240;

/// `samples` at `rate` Hz spoken `prosody.rate` times as fast, `prosody.pitch` semitones higher.
/// Rates are clamped to 0.5–2, pitch to ±12 semitones; the neutral prosody returns the input.
pub(crate) fn apply(samples: Vec<f32>, rate: u32, prosody: Prosody) -> Result<Vec<f32>, crate::AudioError> {
    let speed = if prosody.rate.is_finite() { prosody.rate.clamp(0.5, 2.0) as f64 } else { 1.0 };
    let semitones = if prosody.pitch.is_finite() { prosody.pitch.clamp(-12.0, 12.0) as f64 } else { 0.0 };
    let factor = 2f64.powf(semitones / 12.0);
    if (speed - 1.0).abs() < 1e-3 && semitones.abs() < 1e-3 {
        return Ok(samples);
    }
    let stretched = stretch(&samples, factor / speed);
    if semitones.abs() < 1e-3 {
        return Ok(stretched);
    }
    // Read as if recorded at rate·f and resampled to rate: 1/f as long, f times higher.
    // The rate is rounded to 100 Hz (0.07 semitone at 24 kHz) so the resampler's FFTs stay short.
    let source = (((rate as f64 * factor) / 100.0).round() as u32).max(1) * 100;
    Ok(Audio { samples: stretched, rate: source }.resampled(rate)?.samples)
}

/// WSOLA: `x` made `alpha` times as long, pitch kept.
pub(crate) fn stretch(x: &[f32], alpha: f64) -> Vec<f32> {
    let out_len = (x.len() as f64 * alpha).round() as usize;
    if (alpha - 1.0).abs() < 1e-3 || x.len() < 2 * FRAME {
        return linear(x, out_len);
    }
    let window: Vec<f32> =
        (0..FRAME).map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / FRAME as f64).cos()) as f32).collect();
    let analysis_hop = HOP as f64 / alpha;
    let last_start = x.len() - FRAME;
    let mut out = vec![0f32; out_len + FRAME];
    let mut previous = 0usize;
    let mut k = 0usize;
    while k * HOP < out_len {
        let start = if k == 0 {
            0
        } else {
            let nominal = (k as f64 * analysis_hop).round() as usize;
            let natural = (previous + HOP).min(last_start);
            let low = nominal.saturating_sub(TOLERANCE).min(last_start);
            let high = (nominal + TOLERANCE).min(last_start);
            let target = &x[natural..natural + HOP];
            let mut best = (f32::NEG_INFINITY, low);
            for candidate in low..=high {
                let score: f32 = target.iter().zip(&x[candidate..candidate + HOP]).map(|(a, b)| a * b).sum();
                if score > best.0 {
                    best = (score, candidate);
                }
            }
            best.1
        };
        for (n, w) in window.iter().enumerate() {
            out[k * HOP + n] += x[start + n] * w;
        }
        previous = start;
        k += 1;
    }
    out.truncate(out_len);
    out
}

/// Linear interpolation to `len` samples (for clips shorter than two frames).
fn linear(x: &[f32], len: usize) -> Vec<f32> {
    if x.is_empty() || len == 0 {
        return Vec::new();
    }
    let step = if len > 1 { (x.len() - 1) as f64 / (len - 1) as f64 } else { 0.0 };
    (0..len)
        .map(|i| {
            let p = i as f64 * step;
            let j = p.floor() as usize;
            let t = (p - j as f64) as f32;
            let a = x[j.min(x.len() - 1)];
            let b = x[(j + 1).min(x.len() - 1)];
            a + (b - a) * t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, seconds: f64) -> Vec<f32> {
        (0..(24_000.0 * seconds) as usize)
            .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / 24_000.0).sin() as f32 * 0.5)
            .collect()
    }

    /// The dominant frequency, from zero crossings.
    fn frequency(x: &[f32]) -> f64 {
        let crossings = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        crossings as f64 * 24_000.0 / x.len() as f64
    }

    #[test]
    fn rate_changes_length_not_pitch() {
        let x = tone(220.0, 1.0);
        let fast = apply(x.clone(), 24_000, Prosody { rate: 1.5, pitch: 0.0 }).unwrap();
        assert!((fast.len() as f64 - 16_000.0).abs() < 10.0, "{}", fast.len());
        assert!((frequency(&fast) - 220.0).abs() < 8.0, "{}", frequency(&fast));
    }

    #[test]
    fn pitch_changes_pitch_not_length() {
        let x = tone(220.0, 1.0);
        let up = apply(x, 24_000, Prosody { rate: 1.0, pitch: 12.0 }).unwrap();
        assert!((up.len() as f64 - 24_000.0).abs() < 100.0, "{}", up.len());
        assert!((frequency(&up[2_000..22_000]) - 440.0).abs() < 15.0, "{}", frequency(&up[2_000..22_000]));
    }

    #[test]
    fn short_clips_keep_their_length_under_any_pitch() {
        for semitones in [-7.0, -1.0, 3.0, 5.0, 11.0] {
            let out = apply(tone(150.0, 0.28), 24_000, Prosody { rate: 1.0, pitch: semitones }).unwrap();
            assert!((out.len() as f64 - 6_720.0).abs() < 70.0, "{semitones}: {}", out.len());
        }
    }

    #[test]
    fn neutral_prosody_is_the_identity() {
        let x = tone(100.0, 0.1);
        assert_eq!(apply(x.clone(), 24_000, Prosody::default()).unwrap(), x);
    }
}
