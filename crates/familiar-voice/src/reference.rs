//! Checks of a reference recording before it becomes a voice profile: its
//! length, how much of it is speech, its level, clipping, background noise,
//! and whether one speaker speaks throughout (the fingerprints of its windows
//! must agree). Each check says what to fix when it fails.

use serde::Serialize;

use crate::audio::Audio;
use crate::speaker::{Fingerprint, SpeakerEncoder, SpeakerError};

/// The longest reference a profile takes.
pub const MAX_SECONDS: f64 = 60.0;
/// The least speech a profile needs.
pub const MIN_SPEECH_SECONDS: f64 = 8.0;
/// Speech quieter than this (mean power, dBFS) is too quiet.
pub const MIN_LEVEL_DB: f64 = -40.0;
/// At most this share of samples may sit in clipped runs.
pub const MAX_CLIPPED: f64 = 0.001;
/// Speech must stand this far above the background (dB).
pub const MIN_SNR_DB: f64 = 15.0;
/// Every window's fingerprint must be at least this similar to every other's.
pub const MIN_AGREEMENT: f32 = 0.6;
/// Speech stands this far above the background, and above this level (dBFS).
const SPEECH_MARGIN_DB: f64 = 12.0;
const SPEECH_MIN_DB: f64 = -50.0;
/// The windows compared for the one-speaker check.
pub const WINDOW_SECONDS: f32 = 4.0;

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(transparent)]
    Speaker(#[from] SpeakerError),
    #[error("could not resample the recording: {0}")]
    Resample(String),
}

/// One check of a reference recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Check {
    /// `length`, `speech`, `level`, `clipping`, `noise` or `one_speaker`.
    pub name: &'static str,
    pub passed: bool,
    /// What was measured, and the bound it was held to.
    pub value: f64,
    pub limit: f64,
    /// What to do about it, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything measured on a reference recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReferenceReport {
    pub seconds: f64,
    pub speech_seconds: f64,
    /// Mean power of the speech, dBFS.
    pub level_db: f64,
    /// The background: the level of the quietest tenth of 20 ms frames, dBFS.
    pub noise_db: f64,
    pub clipped_share: f64,
    /// The lowest similarity between the fingerprints of two windows of speech.
    pub agreement: f32,
    pub checks: Vec<Check>,
}

impl ReferenceReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// What to fix, one line per failed check.
    pub fn problems(&self) -> Vec<String> {
        self.checks.iter().filter(|c| !c.passed).filter_map(|c| c.fix.clone()).collect()
    }
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-12).log10()
}

fn power(samples: &[f32]) -> f64 {
    samples.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / samples.len().max(1) as f64
}

/// The share of samples in runs of three or more at full scale: the flat tops of a clipped wave.
pub fn clipped_share(samples: &[f32]) -> f64 {
    let (mut clipped, mut run) = (0usize, 0usize);
    for &s in samples {
        if s.abs() >= 0.99 {
            run += 1;
        } else {
            if run >= 3 {
                clipped += run;
            }
            run = 0;
        }
    }
    if run >= 3 {
        clipped += run;
    }
    clipped as f64 / samples.len().max(1) as f64
}

/// Checks a reference recording and fingerprints its speech. The report says
/// what failed and what to fix; the fingerprint is of the whole speech.
pub fn check_reference(
    audio: &Audio,
    encoder: &SpeakerEncoder,
) -> Result<(ReferenceReport, Fingerprint), ReferenceError> {
    let audio = audio.clone().resampled(16_000).map_err(|e| ReferenceError::Resample(e.to_string()))?;
    let seconds = audio.seconds();
    let clipped = clipped_share(&audio.samples);
    // 20 ms frames. The background is the quietest tenth of them (the pauses,
    // or the quietest sounds of speech without pauses); speech is what stands
    // 12 dB above it and above -50 dBFS. One recording, one setting: a fixed
    // floor suits it better than the live detector's, which follows the voice
    // up through long stretches without a pause.
    let powers: Vec<f64> = audio.samples.chunks(320).map(power).collect();
    let mut levels: Vec<f64> = powers.iter().map(|&p| db(p)).collect();
    levels.sort_by(f64::total_cmp);
    let percentile = |p: f64| levels.get(((levels.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(-120.0);
    let (loudest_db, floor_db) = (percentile(0.95), percentile(0.10));
    let threshold = (floor_db + SPEECH_MARGIN_DB).max(SPEECH_MIN_DB);
    let speech: Vec<f64> = powers.iter().copied().filter(|&p| db(p) > threshold).collect();
    let speech_seconds = speech.len() as f64 * 0.02;
    let level_db = db(speech.iter().sum::<f64>() / speech.len().max(1) as f64);
    let noise_db = floor_db;
    let too_little_speech = if loudest_db < -50.0 && loudest_db > -100.0 {
        format!(
            "the recording is very quiet ({loudest_db:.0} dBFS at its loudest): move closer to the microphone or raise its gain"
        )
    } else if floor_db > -45.0 {
        format!(
            "the background is loud ({floor_db:.0} dBFS) and too little speech stands out of it: record in a quieter place"
        )
    } else {
        format!(
            "only {speech_seconds:.1} s of it is speech: read aloud for at least {MIN_SPEECH_SECONDS:.0} s (20 to 60 s works best)"
        )
    };

    let mut checks = vec![
        Check {
            name: "length",
            passed: seconds <= MAX_SECONDS + 0.05,
            value: seconds,
            limit: MAX_SECONDS,
            fix: Some(format!("the recording is {seconds:.0} s long: use at most {MAX_SECONDS:.0} s")),
        },
        Check {
            name: "speech",
            passed: speech_seconds >= MIN_SPEECH_SECONDS,
            value: speech_seconds,
            limit: MIN_SPEECH_SECONDS,
            fix: Some(too_little_speech),
        },
    ];
    if speech_seconds > 0.0 {
        checks.push(Check {
            name: "level",
            passed: level_db >= MIN_LEVEL_DB,
            value: level_db,
            limit: MIN_LEVEL_DB,
            fix: Some(format!(
                "the speech is very quiet ({level_db:.0} dBFS): move closer to the microphone or raise its gain"
            )),
        });
    }
    checks.push(Check {
        name: "clipping",
        passed: clipped <= MAX_CLIPPED,
        value: clipped,
        limit: MAX_CLIPPED,
        fix: Some(format!(
            "{:.1} % of the recording is clipped (too loud): lower the microphone's gain and record again",
            clipped * 100.0
        )),
    });
    if speech_seconds > 0.0 {
        let snr = level_db - noise_db;
        checks.push(Check {
            name: "noise",
            passed: snr >= MIN_SNR_DB,
            value: snr,
            limit: MIN_SNR_DB,
            fix: Some(format!(
                "the background is loud: the speech is only {snr:.0} dB above it; record in a quieter place"
            )),
        });
    }

    // The rest needs speech to fingerprint.
    if speech_seconds < MIN_SPEECH_SECONDS {
        let report = ReferenceReport {
            seconds,
            speech_seconds,
            level_db,
            noise_db,
            clipped_share: clipped,
            agreement: 0.0,
            checks,
        };
        return Ok((report, Fingerprint(Vec::new())));
    }
    // The encoder trims long silences itself (as Resemblyzer does).
    let windows = encoder.embed_windows(&audio, WINDOW_SECONDS)?;
    let mut agreement = 1.0f32;
    for (i, a) in windows.iter().enumerate() {
        for b in &windows[i + 1..] {
            agreement = agreement.min(a.similarity(b));
        }
    }
    checks.push(Check {
        name: "one_speaker",
        passed: agreement >= MIN_AGREEMENT,
        value: agreement as f64,
        limit: MIN_AGREEMENT as f64,
        fix: Some("the voice changes during the recording (more than one speaker?): record yourself alone".to_owned()),
    });
    let fingerprint = encoder.embed(&audio)?;
    let report =
        ReferenceReport { seconds, speech_seconds, level_db, noise_db, clipped_share: clipped, agreement, checks };
    Ok((report, fingerprint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_is_flat_tops_not_single_loud_peaks() {
        let mut wave: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        wave[100] = 1.0;
        assert_eq!(clipped_share(&wave), 0.0, "one full-scale sample is a peak");
        let clipped: Vec<f32> = (0..16_000).map(|i| ((i as f32 * 0.05).sin() * 3.0).clamp(-1.0, 1.0)).collect();
        assert!(clipped_share(&clipped) > 0.5, "{}", clipped_share(&clipped));
    }
}
