//! The speaker fingerprint with Resemblyzer's real weights: the converted
//! model gives Resemblyzer's own vectors (golden vectors from
//! `scripts/speaker-parity.py`), tells voices apart, notices a change of
//! speaker, refuses what it cannot fingerprint, and the converter survives
//! damaged checkpoints.
//!
//! Needs `resemblyzer/pretrained.pt` in the model cache (`FAMILIAR_MODEL_CACHE`,
//! /var/cache/familiar/models or ~/.cache/familiar/models; `scripts/fetch-models.sh`
//! puts it there). The clips are in `tests/fixtures/speaker/`
//! (`scripts/make-speaker-clips.py`).

use std::path::PathBuf;
use std::sync::OnceLock;

use familiar_voice::Audio;
use familiar_voice::audio::decode_file;
use familiar_voice::speaker::{Fingerprint, SpeakerEncoder, SpeakerError, convert_resemblyzer};
use familiar_voice::torch_legacy::TorchError;

/// Cosine with Resemblyzer on every clip.
const PARITY: f32 = 0.999;
/// Cosine with Resemblyzer on the composites, which put long silences and a quiet voice through
/// the trimming: ours finds silences with `crate::vad`'s level detector, Resemblyzer with
/// webrtcvad, and the two place a speech boundary up to 90 ms apart (webrtcvad ignores the
/// fricative at the end of "planks", which lies above 4 kHz, and holds speech 30 ms longer).
/// Without any trimming the pause composite would score 0.937.
const PARITY_AFTER_TRIMMING: f32 = 0.99;

fn pretrained_pt() -> PathBuf {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("FAMILIAR_MODEL_CACHE") {
        dirs.push(dir.into());
    }
    dirs.push("/var/cache/familiar/models".into());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/familiar/models"));
    }
    let found = dirs.iter().map(|d| d.join("resemblyzer/pretrained.pt")).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("resemblyzer/pretrained.pt is not in the model cache (looked in {dirs:?}): run scripts/fetch-models.sh")
    })
}

fn pretrained_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| std::fs::read(pretrained_pt()).expect("read pretrained.pt"))
}

/// The real model, converted once for the whole test binary.
fn encoder() -> &'static SpeakerEncoder {
    static ENCODER: OnceLock<SpeakerEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| {
        let safetensors = convert_resemblyzer(pretrained_bytes()).expect("convert pretrained.pt");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resemblyzer.safetensors");
        std::fs::write(&path, safetensors).unwrap();
        SpeakerEncoder::load(&path).expect("load the converted model")
    })
}

fn clips_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/speaker")
}

fn clip(name: &str) -> Audio {
    decode_file(&clips_dir().join(name), 60.0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Golden {
    name: String,
    rate: u32,
    audio: Audio,
    embedding: Fingerprint,
    embedding_untrimmed: Fingerprint,
    mel_mean: Vec<f32>,
    trim_effect: f32,
}

fn vector(value: &serde_json::Value) -> Vec<f32> {
    value.as_array().expect("an array").iter().map(|v| v.as_f64().expect("a number") as f32).collect()
}

/// Builds a composite exactly as `scripts/speaker-parity.py` does.
fn composite(spec: &serde_json::Value) -> Audio {
    let mut samples = Vec::new();
    for part in spec["parts"].as_array().unwrap() {
        if let Some(name) = part["clip"].as_str() {
            let audio = clip(name);
            assert_eq!(audio.rate, 16_000);
            samples.extend(audio.samples);
        } else {
            let seconds = part["silence"].as_f64().unwrap();
            samples.extend(std::iter::repeat_n(0.0, (seconds * 16_000.0).round() as usize));
        }
    }
    let gain = spec["gain"].as_f64().unwrap() as f32;
    Audio { samples: samples.into_iter().map(|s| s * gain).collect(), rate: 16_000 }
}

fn golden() -> Vec<Golden> {
    let path = manifest_dir().join("../../tests/fixtures/speaker/golden.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = |name: String, audio: Audio, rate: u32, e: &serde_json::Value| Golden {
        name,
        rate,
        audio,
        embedding: Fingerprint(vector(&e["embedding"])),
        embedding_untrimmed: Fingerprint(vector(&e["embedding_untrimmed"])),
        mel_mean: vector(&e["mel_mean"]),
        trim_effect: e["cosine_trimmed_untrimmed"].as_f64().unwrap() as f32,
    };
    let mut out = Vec::new();
    for c in json["clips"].as_array().unwrap() {
        let name = c["file"].as_str().unwrap().to_owned();
        let audio = clip(&name);
        assert_eq!(audio.rate as u64, c["rate"].as_u64().unwrap());
        out.push(entry(name, audio.clone(), audio.rate, c));
    }
    for c in json["composites"].as_array().unwrap() {
        out.push(entry(format!("composite {}", c["name"].as_str().unwrap()), composite(c), 16_000, c));
    }
    assert!(out.len() >= 9, "golden.json lists {} inputs", out.len());
    out
}

fn dbfs(samples: &[f32]) -> f64 {
    let mean_square = samples.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / samples.len() as f64;
    10.0 * mean_square.log10()
}

#[test]
fn fingerprints_match_resemblyzer_on_every_clip() {
    let encoder = encoder();
    let mut worst = 1.0f32;
    for g in golden() {
        let ours = encoder.embed(&g.audio).unwrap();
        let cosine = ours.similarity(&g.embedding);
        // What leaving out the trimming would cost, for the record.
        eprintln!(
            "{:30} {} Hz: cosine with Resemblyzer {cosine:.6} (Resemblyzer trimmed vs untrimmed: {:.6})",
            g.name, g.rate, g.trim_effect
        );
        assert_eq!(ours.0.len(), 256);
        assert!((ours.0.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4, "{}: not unit length", g.name);
        let bound = if g.name.starts_with("composite") { PARITY_AFTER_TRIMMING } else { PARITY };
        assert!(cosine >= bound, "{}: cosine {cosine} with Resemblyzer's embed_utterance(preprocess_wav(..))", g.name);
        if !g.name.starts_with("composite") {
            worst = worst.min(cosine);
        }
    }
    eprintln!("worst cosine on a clip: {worst:.6}");
}

#[test]
fn the_front_end_and_network_match_resemblyzer_on_the_same_samples() {
    // Without the silence trimming (webrtcvad there, crate::vad here), both sides see identical
    // samples at 16 kHz; the 22,050 Hz clip is resampled by rubato here and by soxr there.
    // Every input is louder than -30 dBFS except "quiet", so Resemblyzer's volume step leaves
    // the others alone.
    let encoder = encoder();
    for g in golden() {
        if g.name == "composite quiet" {
            continue;
        }
        let audio = g.audio.clone().resampled(16_000).unwrap();
        assert!(dbfs(&audio.samples) > -30.0, "{}", g.name);

        let mel = encoder.mel_spectrogram(&audio.samples);
        // Resampled input: the top channel (7.4–8 kHz) lies in the resamplers' transition
        // bands, where rubato keeps about a third more energy than soxr; the others agree to 0.2 %.
        let channels = if g.rate == 16_000 { 40 } else { 39 };
        for (channel, expected) in g.mel_mean.iter().enumerate().take(channels) {
            let mean = mel.iter().map(|frame| frame[channel] as f64).sum::<f64>() / mel.len() as f64;
            let tolerance = if g.rate == 16_000 { 1e-4 } else { 2e-3 };
            assert!(
                (mean - *expected as f64).abs() <= tolerance * (*expected as f64).abs() + 1e-6,
                "{}: mel channel {channel}: {mean} against librosa's {expected}",
                g.name
            );
        }

        let cosine = encoder.embed_utterance(&audio.samples).unwrap().similarity(&g.embedding_untrimmed);
        eprintln!("{:30} untrimmed: cosine with Resemblyzer {cosine:.7}", g.name);
        let bound = if g.rate == 16_000 { 0.99999 } else { PARITY };
        assert!(cosine >= bound, "{}: cosine {cosine} on identical samples", g.name);
    }
}

/// The embeddings of the clips, by file name.
fn fingerprints() -> Vec<(String, Fingerprint)> {
    let encoder = encoder();
    let mut names: Vec<String> = std::fs::read_dir(clips_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wav"))
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), encoder.embed(&clip(&n)).unwrap())).collect()
}

/// "espeak-us-m3-a.wav" → ("espeak-us-m3", 'a').
fn voice_and_sentence(name: &str) -> (&str, char) {
    let stem = name.trim_end_matches(".wav").trim_end_matches("-22050");
    let (voice, sentence) = stem.rsplit_once('-').unwrap();
    (voice, sentence.chars().next().unwrap())
}

#[test]
fn the_same_voice_scores_higher_than_different_voices() {
    let prints = fingerprints();
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for (i, (a, fa)) in prints.iter().enumerate() {
        for (b, fb) in &prints[i + 1..] {
            let ((va, sa), (vb, sb)) = (voice_and_sentence(a), voice_and_sentence(b));
            // Only pairs saying different sentences, so the words cannot be what matches.
            if sa == sb {
                continue;
            }
            let score = fa.similarity(fb);
            eprintln!("{a:30} {b:30} {score:.3}");
            if va == vb { same.push(score) } else { different.push(score) }
        }
    }
    let lowest_same = same.iter().copied().fold(f32::MAX, f32::min);
    let highest_different = different.iter().copied().fold(f32::MIN, f32::max);
    eprintln!(
        "same voice ≥ {lowest_same:.3} ({} pairs); different voices ≤ {highest_different:.3} ({} pairs)",
        same.len(),
        different.len()
    );
    assert_eq!(same.len(), 3, "three voices say two sentences each");
    assert!(lowest_same > 0.8, "the same voice on two sentences scores {lowest_same}");
    assert!(
        lowest_same - highest_different >= 0.1,
        "same voice {lowest_same} against different voices {highest_different}: the margin is under 0.1"
    );
}

#[test]
fn windows_of_one_speaker_agree_and_a_change_of_voice_shows() {
    let encoder = encoder();
    let join = |a: &str, b: &str| Audio { samples: [clip(a).samples, clip(b).samples].concat(), rate: 16_000 };
    let one = encoder.embed_windows(&join("espeak-us-m3-a.wav", "espeak-us-m3-b.wav"), 2.0).unwrap();
    let two = encoder.embed_windows(&join("espeak-us-m3-a.wav", "espeak-us-f2-b.wav"), 2.0).unwrap();
    assert_eq!(one.len(), 2);
    assert_eq!(two.len(), 2);
    let (agree, change) = (one[0].similarity(&one[1]), two[0].similarity(&two[1]));
    eprintln!("one speaker: windows agree at {agree:.3}; a change of voice: {change:.3}");
    assert!(agree > 0.8, "one speaker's windows score {agree}");
    assert!(change < agree - 0.1, "the second voice scores {change} against one speaker's {agree}");

    // The first window of both is the same speaker saying the same thing.
    assert!(one[0].similarity(&two[0]) > 0.98);
}

#[test]
fn silence_noise_and_too_short_audio_are_refused_with_a_reason() {
    let encoder = encoder();
    let silence = Audio { samples: vec![0.0; 3 * 16_000], rate: 16_000 };
    let err = encoder.embed(&silence).unwrap_err();
    assert!(matches!(err, SpeakerError::NoSpeech), "{err}");
    assert!(err.to_string().contains("no speech"), "{err}");

    let mut state = 7u32;
    let noise: Vec<f32> = (0..3 * 44_100)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.05
        })
        .collect();
    let err = encoder.embed(&Audio { samples: noise, rate: 44_100 }).unwrap_err();
    assert!(matches!(err, SpeakerError::NoSpeech), "steady noise: {err}");

    let mut short = clip("espeak-us-f2-a.wav");
    short.samples.truncate(16_000 / 2);
    let err = encoder.embed(&short).unwrap_err();
    assert!(matches!(err, SpeakerError::TooShort { .. }), "{err}");
    assert!(err.to_string().contains("at least 1.0 s"), "{err}");
    let err = encoder.embed_windows(&clip("espeak-us-f2-a.wav"), 0.2).unwrap_err();
    assert!(matches!(err, SpeakerError::BadWindow(_)), "{err}");
}

#[test]
fn the_real_checkpoint_converts_to_the_encoders_fourteen_tensors() {
    let bytes = convert_resemblyzer(pretrained_bytes()).unwrap();
    let tensors = candle_core::safetensors::load_buffer(&bytes, &candle_core::Device::Cpu).unwrap();
    assert_eq!(tensors.len(), 14);
    assert_eq!(tensors["lstm.weight_ih_l0"].dims(), [1024, 40]);
    assert_eq!(tensors["lstm.weight_hh_l2"].dims(), [1024, 256]);
    // Values read by torch.load from the same file.
    let bias = tensors["linear.bias"].to_vec1::<f32>().unwrap();
    assert_eq!(bias[0], -0.070_617_735);
    let w = tensors["lstm.weight_ih_l0"].to_vec2::<f32>().unwrap();
    assert_eq!(w[3][7], 0.004_525_906);
    // The same input gives the same bytes.
    assert_eq!(convert_resemblyzer(pretrained_bytes()).unwrap(), bytes);
}

#[test]
fn a_damaged_checkpoint_is_a_clear_error_never_a_panic() {
    let pt = pretrained_bytes();
    // Cut everywhere in the pickles (the first 7 KB) and at 300 places in the storages.
    let cuts = (0..7_000).chain((7_000..pt.len()).step_by(pt.len() / 300));
    for len in cuts {
        let err = convert_resemblyzer(&pt[..len]).unwrap_err();
        assert!(matches!(err, SpeakerError::Checkpoint(_)), "cut at {len}: {err}");
    }
    let err = convert_resemblyzer(&pt[..pt.len() - 1]).unwrap_err();
    assert!(err.to_string().contains("ends early"), "{err}");

    let mut wrong_magic = pt.to_vec();
    wrong_magic[5] ^= 0x40;
    let err = convert_resemblyzer(&wrong_magic).unwrap_err();
    assert!(matches!(err, SpeakerError::Checkpoint(TorchError::NotTorch)), "{err}");

    let mut zip = pt.to_vec();
    zip[..4].copy_from_slice(b"PK\x03\x04");
    let err = convert_resemblyzer(&zip).unwrap_err();
    assert!(matches!(err, SpeakerError::Checkpoint(TorchError::ZipCheckpoint)), "{err}");

    // An absurd element count in the first storage's header, which follows the key list's
    // APPENDS and STOP (that storage holds one element: `similarity_bias`).
    let header = b"e.\x01\0\0\0\0\0\0\0";
    let keys_end = pt.windows(header.len()).position(|w| w == header).unwrap() + 2;
    let mut absurd = pt.to_vec();
    absurd[keys_end..keys_end + 8].copy_from_slice(&(1i64 << 60).to_le_bytes());
    let err = convert_resemblyzer(&absurd).unwrap_err();
    assert!(matches!(err, SpeakerError::Checkpoint(TorchError::Storage { .. })), "{err}");

    let err = convert_resemblyzer(b"").unwrap_err();
    assert!(matches!(err, SpeakerError::Checkpoint(TorchError::NotTorch)), "{err}");
}

/// The folder cargo runs these tests for, not the one the binary was built in
/// (a shared target folder serves several checkouts).
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
