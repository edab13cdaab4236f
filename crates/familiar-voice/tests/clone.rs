//! The cloned voice, specified on small random weights of MetaVoice's real
//! architecture (no registry ships the real ones): the whole pipeline, the
//! streaming and cancellation contract of `Voice`, determinism, the speaker
//! conditioning, and hostile model folders.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use familiar_voice::Audio;
use familiar_voice::clone::{
    CloneError, CloneOptions, ClonedVoice, ENCODEC, FILES, FIRST_STAGE, FIRST_STAGE_META, SAMPLE_RATE, SECOND_STAGE,
    SPEAKER_ENCODER, TinyConfig, missing_files, write_random_model,
};
use familiar_voice::tts::{Prosody, TtsError, Voice};

const SEED: u64 = 20_240_301;
/// Short sentences keep the tests fast: at most 0.4 s (30 frames, 60 tokens) each.
const MAX_SECONDS: f32 = 0.4;

fn options(seed: u64) -> CloneOptions {
    CloneOptions { seed, max_seconds_per_sentence: MAX_SECONDS, ..CloneOptions::default() }
}

/// A voice-like test signal: a glottal-ish harmonic series at `f0` with vibrato,
/// syllable-rate loudness, and a little seeded noise.
fn voice_like(f0: f64, rate: u32, seconds: f64, seed: u64) -> Audio {
    let mut state = seed;
    let mut noise = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 1.0
    };
    let n = (rate as f64 * seconds) as usize;
    let mut phase = 0.0f64;
    let samples = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            phase += 2.0 * std::f64::consts::PI * f0 * (1.0 + 0.02 * (2.0 * std::f64::consts::PI * 5.0 * t).sin())
                / rate as f64;
            let harmonics: f64 = (1..12).map(|h| (phase * h as f64).sin() / h as f64).sum();
            let envelope = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin().abs();
            (0.25 * envelope * harmonics + 0.01 * noise()) as f32
        })
        .collect();
    Audio { samples, rate }
}

fn tiny_folder(config: &TinyConfig, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_random_model(dir.path(), config, seed).unwrap();
    dir
}

fn voice_in(folder: &Path, options: CloneOptions) -> ClonedVoice {
    let mut voice = ClonedVoice::load(folder, options).unwrap();
    voice.set_reference(&voice_like(140.0, 22_050, 3.0, 1)).unwrap();
    voice
}

/// Speaks `text` and returns the chunks the sink received.
fn chunks(voice: &mut ClonedVoice, text: &str, prosody: Prosody) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    voice
        .speak(text, prosody, &mut |c| {
            out.push(c.to_vec());
            true
        })
        .unwrap();
    out
}

#[test]
fn the_whole_pipeline_on_random_weights_speaks_finite_24khz_audio_of_bounded_length() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = voice_in(dir.path(), options(SEED));
    assert_eq!(voice.sample_rate(), 24_000);
    assert_eq!(SAMPLE_RATE, 24_000);

    let started = Instant::now();
    let out = chunks(&mut voice, "Hello there. How are you today?", Prosody::default());
    let elapsed = started.elapsed();

    assert_eq!(out.len(), 2, "one chunk per sentence");
    let most = (MAX_SECONDS * 75.0).ceil() as usize * 320;
    for chunk in &out {
        assert!(!chunk.is_empty() && chunk.len() <= most, "{} samples, at most {most}", chunk.len());
        assert_eq!(chunk.len() % 320, 0, "whole EnCodec frames");
        assert!(chunk.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
        assert!(chunk.iter().any(|s| s.abs() > 1e-4), "not silence");
    }
    let stats = voice.stats();
    assert_eq!(stats.sentences, 2);
    assert!(stats.tokens > 0 && stats.tokens <= 2 * 2 * 30, "{stats:?}");
    eprintln!(
        "tiny model: {} tokens, {:.2} s of audio in {elapsed:.2?}",
        stats.tokens,
        out.iter().map(Vec::len).sum::<usize>() as f32 / 24_000.0
    );
}

#[test]
fn each_sentence_reaches_the_sink_in_order_before_the_next_is_generated() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = voice_in(dir.path(), options(SEED));
    // Each sentence is seeded from its own text, so alone it gives the same samples.
    let first = chunks(&mut voice, "The first one.", Prosody::default());
    let first_tokens = voice.stats().tokens;
    let second = chunks(&mut voice, "And a second.", Prosody::default());
    let both = chunks(&mut voice, "The first one. And a second.", Prosody::default());
    assert_eq!(both, [first.clone(), second].concat(), "one chunk per sentence, in order");

    // A flag raised while the first chunk is in the sink stops the voice before
    // the second sentence's first token: the first chunk was handed over before
    // the second sentence was started.
    let flag = Arc::new(AtomicBool::new(false));
    voice.set_cancel_flag(flag.clone());
    let mut received = Vec::new();
    let result = voice.speak("The first one. And a second.", Prosody::default(), &mut |c| {
        received.push(c.to_vec());
        flag.store(true, Ordering::Relaxed);
        true
    });
    assert!(matches!(result, Err(TtsError::Cancelled)), "{result:?}");
    assert_eq!(received, first);
    assert_eq!(voice.stats().tokens, first_tokens, "no token of the second sentence");
}

#[test]
fn a_sentence_past_metavoices_220_characters_is_spoken_in_pieces() {
    let config = TinyConfig { first_stage_context: 1024, second_stage_context: 512, ..TinyConfig::default() };
    let dir = tiny_folder(&config, SEED);
    let mut voice = voice_in(dir.path(), options(SEED));
    let long = format!("{}, and {}.", "on and on ".repeat(20).trim(), "further still ".repeat(14).trim());
    assert!(long.len() > 300);
    let out = chunks(&mut voice, &long, Prosody::default());
    assert_eq!(out.len(), 2, "cut after the comma");
}

#[test]
fn a_sink_that_returns_false_stops_at_once() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = voice_in(dir.path(), options(SEED));
    let mut calls = 0;
    let result = voice.speak("One. Two. Three.", Prosody::default(), &mut |_| {
        calls += 1;
        false
    });
    assert!(matches!(result, Err(TtsError::Cancelled)), "{result:?}");
    assert_eq!(calls, 1);
    assert_eq!(voice.stats().sentences, 1);
}

#[test]
fn a_cancel_flag_stops_generation_within_a_token() {
    // Room for about two thousand tokens in one sentence.
    let config = TinyConfig { first_stage_context: 2048, second_stage_context: 1024, ..TinyConfig::default() };
    let dir = tiny_folder(&config, SEED);
    let long = CloneOptions { max_seconds_per_sentence: 60.0, ..options(SEED) };
    let mut voice = voice_in(dir.path(), long);

    // Raised before: not a single token.
    let flag = Arc::new(AtomicBool::new(true));
    voice.set_cancel_flag(flag.clone());
    let result = voice.speak("Never said.", Prosody::default(), &mut |_| true);
    assert!(matches!(result, Err(TtsError::Cancelled)), "{result:?}");
    assert_eq!(voice.stats().tokens, 0);

    // Raised mid-sentence from another thread: the loop notices at the next token.
    flag.store(false, Ordering::Relaxed);
    let raiser = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::Relaxed);
            Instant::now()
        })
    };
    let result = voice.speak("A sentence that would go on for a long while.", Prosody::default(), &mut |_| true);
    let stopped = Instant::now();
    let raised = raiser.join().unwrap();
    assert!(matches!(result, Err(TtsError::Cancelled)), "{result:?}");
    let tokens = voice.stats().tokens;
    assert!(tokens > 0 && tokens < 2000, "stopped mid-sentence after {tokens} tokens");
    let latency = stopped.saturating_duration_since(raised);
    assert!(latency < Duration::from_millis(250), "stopped {latency:?} after the flag");
    eprintln!("cancelled after {tokens} tokens, {latency:?} after the flag");
}

#[test]
fn the_same_seed_gives_the_same_samples_and_another_seed_others() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let text = "Determinism matters.";
    let a = chunks(&mut voice_in(dir.path(), options(7)), text, Prosody::default());
    let b = chunks(&mut voice_in(dir.path(), options(7)), text, Prosody::default());
    let c = chunks(&mut voice_in(dir.path(), options(8)), text, Prosody::default());
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The same voice speaking twice gives the same samples too.
    let mut voice = voice_in(dir.path(), options(7));
    assert_eq!(chunks(&mut voice, text, Prosody::default()), chunks(&mut voice, text, Prosody::default()));
}

#[test]
fn a_different_reference_gives_a_different_speaker_embedding_and_different_audio() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = ClonedVoice::load(dir.path(), options(SEED)).unwrap();
    assert!(voice.speaker_embedding().is_none());

    voice.set_reference(&voice_like(110.0, 16_000, 4.0, 1)).unwrap();
    let low = voice.speaker_embedding().unwrap().to_vec();
    let low_audio = chunks(&mut voice, "Who is speaking?", Prosody::default());
    voice.set_reference(&voice_like(240.0, 44_100, 4.0, 2)).unwrap();
    let high = voice.speaker_embedding().unwrap().to_vec();
    let high_audio = chunks(&mut voice, "Who is speaking?", Prosody::default());

    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm(&low) - 1.0).abs() < 1e-4 && (norm(&high) - 1.0).abs() < 1e-4, "unit length");
    assert_ne!(low, high);
    assert_ne!(low_audio, high_audio);

    // The same speech at another rate gives nearly the same embedding.
    voice.set_reference(&voice_like(110.0, 48_000, 4.0, 1)).unwrap();
    let resampled = voice.speaker_embedding().unwrap().to_vec();
    let cosine: f32 = low.iter().zip(&resampled).map(|(a, b)| a * b).sum();
    assert!(cosine > 0.98, "cosine {cosine}");

    // An embedding kept with a profile conditions the voice the same way.
    voice.set_speaker_embedding(&low).unwrap();
    assert_eq!(chunks(&mut voice, "Who is speaking?", Prosody::default()), low_audio);
}

#[test]
fn a_voice_needs_a_usable_reference() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = ClonedVoice::load(dir.path(), options(SEED)).unwrap();
    let result = voice.speak("Anyone?", Prosody::default(), &mut |_| true);
    assert!(matches!(&result, Err(TtsError::Failed(m)) if m.contains("reference")), "{result:?}");

    let silent = Audio { samples: vec![0.0; 48_000], rate: 16_000 };
    assert!(matches!(voice.set_reference(&silent), Err(CloneError::Reference(_))));
    let long = voice_like(120.0, 8_000, 61.0, 3);
    assert!(matches!(voice.set_reference(&long), Err(CloneError::Reference(m)) if m.contains("61 s")));
    let empty = Audio { samples: vec![], rate: 16_000 };
    assert!(matches!(voice.set_reference(&empty), Err(CloneError::Reference(_))));
    assert!(matches!(voice.set_speaker_embedding(&[0.5; 3]), Err(CloneError::Reference(_))));
}

#[test]
fn rate_and_pitch_apply_to_the_output() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let mut voice = voice_in(dir.path(), options(SEED));
    let text = "Faster and higher.";
    let plain: usize = chunks(&mut voice, text, Prosody::default()).iter().map(Vec::len).sum();
    let fast: usize = chunks(&mut voice, text, Prosody { rate: 2.0, pitch: 0.0 }).iter().map(Vec::len).sum();
    let high: usize = chunks(&mut voice, text, Prosody { rate: 1.0, pitch: 5.0 }).iter().map(Vec::len).sum();
    assert!((fast as f64 - plain as f64 / 2.0).abs() <= 2.0, "{fast} vs {plain}");
    assert!((high as f64 - plain as f64).abs() <= 0.01 * plain as f64 + 64.0, "{high} vs {plain}");
}

#[test]
fn random_models_are_deterministic_and_use_the_real_file_names() {
    let a = tiny_folder(&TinyConfig::default(), 1);
    let b = tiny_folder(&TinyConfig::default(), 1);
    let c = tiny_folder(&TinyConfig::default(), 2);
    for file in FILES {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(file.name)).unwrap();
        assert_eq!(read(&a), read(&b), "{}", file.name);
        if file.name != FIRST_STAGE_META {
            assert_ne!(read(&a), read(&c), "{}", file.name);
        }
    }
    let names: Vec<_> = FILES.iter().map(|f| f.name).collect();
    assert_eq!(names, [FIRST_STAGE_META, FIRST_STAGE, SECOND_STAGE, SPEAKER_ENCODER, ENCODEC]);
    let tensors = candle_core::safetensors::load(a.path().join(FIRST_STAGE), &candle_core::Device::Cpu).unwrap();
    for name in ["tok_embeddings.weight", "layers.1.attention.wqkv.weight", "speaker_cond_pos.weight", "output.weight"]
    {
        assert!(tensors.contains_key(name), "{name}");
    }
    let codec = candle_core::safetensors::load(a.path().join(ENCODEC), &candle_core::Device::Cpu).unwrap();
    assert!(codec.contains_key("decoder.layers.15.conv.weight_v"));
    assert!(codec.contains_key("quantizer.layers.7.codebook.embed"));

    let bad = TinyConfig { first_stage_width: 40, ..TinyConfig::default() };
    assert!(matches!(write_random_model(a.path(), &bad, 1), Err(CloneError::TinyConfig(_))));
}

#[test]
fn the_speaker_encoder_loads_under_torchs_names_or_candles() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let reference = voice_like(150.0, 16_000, 3.0, 4);
    let mut voice = ClonedVoice::load(dir.path(), options(SEED)).unwrap();
    voice.set_reference(&reference).unwrap();
    let torch_names = voice.speaker_embedding().unwrap().to_vec();
    // candle-transformers' speaker encoder numbers the layers: lstm.1.weight_ih_l1.
    rewrite(&dir.path().join(SPEAKER_ENCODER), |t| {
        let names: Vec<String> = t.keys().filter(|k| k.starts_with("lstm.")).cloned().collect();
        for name in names {
            let layer = name.rsplit('l').next().unwrap().to_owned();
            let tensor = t.remove(&name).unwrap();
            t.insert(name.replacen("lstm.", &format!("lstm.{layer}."), 1), tensor);
        }
    });
    let mut voice = ClonedVoice::load(dir.path(), options(SEED)).unwrap();
    voice.set_reference(&reference).unwrap();
    assert_eq!(voice.speaker_embedding().unwrap(), torch_names.as_slice());
}

// Hostile model folders: every one is a typed error naming the problem, never a panic.

fn load_error(folder: &Path) -> CloneError {
    match ClonedVoice::load(folder, options(SEED)) {
        Ok(_) => panic!("a broken folder loaded"),
        Err(e) => e,
    }
}

fn rewrite(path: &Path, change: impl FnOnce(&mut HashMap<String, candle_core::Tensor>)) {
    let mut tensors = candle_core::safetensors::load(path, &candle_core::Device::Cpu).unwrap();
    change(&mut tensors);
    candle_core::safetensors::save(&tensors, path).unwrap();
}

#[test]
fn a_missing_folder_or_file_says_the_model_is_not_installed() {
    let error = load_error(Path::new("/nonexistent/metavoice"));
    assert!(matches!(&error, CloneError::NotInstalled(_)), "{error}");
    assert!(error.to_string().contains("familiar models pull"), "{error}");
    for file in FILES {
        let dir = tiny_folder(&TinyConfig::default(), SEED);
        assert!(missing_files(dir.path()).is_empty());
        std::fs::remove_file(dir.path().join(file.name)).unwrap();
        assert_eq!(missing_files(dir.path()), [file]);
        let error = load_error(dir.path());
        assert!(matches!(&error, CloneError::NotInstalled(p) if p.ends_with(file.name)), "{error}");
    }
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    rewrite(&dir.path().join(SECOND_STAGE), |t| {
        t.remove("transformer.h.0.mlp.c_fc.weight");
    });
    let error = load_error(dir.path());
    assert!(
        matches!(&error, CloneError::MissingTensor { tensor, file } if tensor == "transformer.h.0.mlp.c_fc.weight" && file.ends_with(SECOND_STAGE)),
        "{error}"
    );

    let dir = tiny_folder(&TinyConfig::default(), SEED);
    rewrite(&dir.path().join(ENCODEC), |t| {
        t.remove("quantizer.layers.5.codebook.embed");
    });
    let error = load_error(dir.path());
    assert!(
        matches!(&error, CloneError::MissingTensor { tensor, .. } if tensor == "quantizer.layers.5.codebook.embed"),
        "{error}"
    );
}

#[test]
fn a_tensor_of_the_wrong_shape_is_named_with_both_shapes() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    rewrite(&dir.path().join(FIRST_STAGE), |t| {
        let w = t["layers.1.attention.wo.weight"].clone();
        t.insert("layers.1.attention.wo.weight".into(), w.reshape((32, 128)).unwrap());
    });
    let error = load_error(dir.path());
    assert!(
        matches!(&error, CloneError::WrongShape { tensor, expected, found, .. }
            if tensor == "layers.1.attention.wo.weight" && expected == &[64, 64] && found == &[32, 128]),
        "{error}"
    );

    // A speaker encoder whose embedding does not fit the first stage.
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let other = tiny_folder(&TinyConfig { speaker_embedding: 32, ..TinyConfig::default() }, SEED);
    std::fs::copy(other.path().join(SPEAKER_ENCODER), dir.path().join(SPEAKER_ENCODER)).unwrap();
    let error = load_error(dir.path());
    assert!(matches!(&error, CloneError::BadFile { file, .. } if file.ends_with(SPEAKER_ENCODER)), "{error}");
}

#[test]
fn truncated_or_garbage_safetensors_are_refused() {
    for file in [FIRST_STAGE, SECOND_STAGE, SPEAKER_ENCODER, ENCODEC] {
        let dir = tiny_folder(&TinyConfig::default(), SEED);
        let path = dir.path().join(file);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        let error = load_error(dir.path());
        assert!(
            matches!(&error, CloneError::BadFile { file: f, reason } if f.ends_with(file) && reason.contains("truncated")),
            "{error}"
        );
    }
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let cases: [&[u8]; 4] =
        [b"", b"\x05\0\0\0\0\0\0\0{}", b"\xff\xff\xff\xff\xff\xff\xff\x7fxx", b"\x04\0\0\0\0\0\0\0[1,2"];
    for bytes in cases {
        std::fs::write(dir.path().join(SECOND_STAGE), bytes).unwrap();
        let error = load_error(dir.path());
        assert!(matches!(&error, CloneError::BadFile { .. }), "{error}");
    }
    // A header that lies about a tensor's size.
    let header = br#"{"transformer.wpe.weight":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,16]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0; 16]);
    std::fs::write(dir.path().join(SECOND_STAGE), bytes).unwrap();
    let error = load_error(dir.path());
    assert!(
        matches!(&error, CloneError::BadFile { reason, .. } if reason.contains("transformer.wpe.weight")),
        "{error}"
    );
}

#[test]
fn a_bad_tokenizer_file_is_refused() {
    let dir = tiny_folder(&TinyConfig::default(), SEED);
    let path = dir.path().join(FIRST_STAGE_META);
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut huge_offset = good.clone();
    huge_offset["tokenizer"]["offset"] = serde_json::json!(u64::MAX - 3);
    let mut bad_rank = good.clone();
    bad_rank["tokenizer"]["mergeable_ranks"]["th"] = serde_json::json!("first");
    let mut bad_pattern = good.clone();
    bad_pattern["tokenizer"]["pat_str"] = serde_json::json!("(unclosed");
    let cases = [
        "not json".to_string(),
        "{}".to_string(),
        r#"{"tokenizer": []}"#.to_string(),
        huge_offset.to_string(),
        bad_rank.to_string(),
        bad_pattern.to_string(),
    ];
    for case in cases {
        std::fs::write(&path, &case).unwrap();
        let error = load_error(dir.path());
        assert!(
            matches!(&error, CloneError::BadFile { file, .. } if file.ends_with(FIRST_STAGE_META)),
            "{case}: {error}"
        );
    }
}
