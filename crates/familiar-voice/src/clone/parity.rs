//! Numerics against independent implementations: `scripts/clone-parity.py`
//! made the same tiny random MetaVoice from the same seed and ran tiktoken,
//! numpy (first and second stage, written from MetaVoice's Python), librosa +
//! torch.nn.LSTM (speaker encoder) and Hugging Face transformers' EncodecModel
//! on it; `tests/fixtures/clone/parity.json` holds what they gave.
//!
//! Bounds (f32 here, f64 numpy or f32 torch there): logits within 2e-4 of
//! the reference, the same argmax; speaker embedding within 1e-5; mel power
//! within 1e-5 relative to its largest value; EnCodec samples within 1e-5.

use std::collections::BTreeMap;

use candle_core::{Device, IndexOp, Tensor};
use serde_json::Value;

use super::*;

const SEED: u64 = 7;

fn golden() -> Value {
    // The folder cargo runs the test for, not the one the binary was built in
    // (a shared target folder serves several checkouts).
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from);
    serde_json::from_slice(&std::fs::read(dir.join("tests/fixtures/clone/parity.json")).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn ints(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Largest absolute difference of `ours` (taken every `stride`) from `reference`.
fn max_diff(ours: &[f32], stride: usize, reference: &[f32]) -> f32 {
    let picked: Vec<f32> = ours.iter().step_by(stride).copied().collect();
    assert_eq!(picked.len(), reference.len(), "as many values as the reference");
    picked.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

fn checksum(path: &Path) -> String {
    let tensors: BTreeMap<_, _> = candle_core::safetensors::load(path, &Device::Cpu).unwrap().into_iter().collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, tensor) in tensors {
        let mut bytes = name.into_bytes();
        bytes.extend(format!("{:?}", tensor.dims()).into_bytes());
        for v in tensor.flatten_all().unwrap().to_vec1::<f32>().unwrap() {
            bytes.extend(v.to_le_bytes());
        }
        for b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn fixed_speaker() -> Vec<f32> {
    let v: Vec<f64> = (1..=16).map(|i| (0.7 * i as f64).sin()).collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| (x / norm) as f32).collect()
}

struct Tiny {
    _dir: tempfile::TempDir,
    folder: std::path::PathBuf,
    voice: ClonedVoice,
}

fn tiny() -> Tiny {
    let dir = tempfile::tempdir().unwrap();
    write_random_model(dir.path(), &TinyConfig::default(), SEED).unwrap();
    let voice = ClonedVoice::load(dir.path(), CloneOptions::default()).unwrap();
    Tiny { folder: dir.path().to_path_buf(), _dir: dir, voice }
}

#[test]
fn both_sides_hold_the_same_weights_and_tokens() {
    let golden = golden();
    let tiny = tiny();
    for (file, sum) in golden["checksums"].as_object().unwrap() {
        assert_eq!(&checksum(&tiny.folder.join(file)), sum.as_str().unwrap(), "{file}");
    }
    for case in golden["tokenizer"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(tiny.voice.tokenizer.encode(text).unwrap(), ints(&case["ids"]), "tiktoken on {text:?}");
    }
}

#[test]
fn the_first_stage_with_guidance_and_kv_cache_matches_numpy() {
    let golden = golden();
    let mut tiny = tiny();
    let first = &golden["first_stage"];
    let guidance = first["guidance"].as_f64().unwrap();
    let speaker = Tensor::from_vec(fixed_speaker(), (1, 16), &Device::Cpu).unwrap();
    let mut tokens = ints(&first["prompt"]);
    let forced = ints(&first["forced"]);
    let model = &mut tiny.voice.first;
    model.clear_kv_cache();
    let mut worst = 0f32;
    for (n, step) in first["steps"].as_array().unwrap().iter().enumerate() {
        if n > 0 {
            tokens.push(forced[n - 1]);
        }
        let context = if n == 0 { &tokens[..] } else { &tokens[tokens.len() - 1..] };
        let position = tokens.len() - context.len();
        let input = Tensor::new(context, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let input = Tensor::cat(&[&input, &input], 0).unwrap();
        let logits = model.forward(&input, &speaker, position).unwrap();
        let guided = ((logits.i((0, 0)).unwrap() * guidance).unwrap()
            + (logits.i((1, 0)).unwrap() * (1.0 - guidance)).unwrap())
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
        assert_eq!(tokens.len() as u64, step["length"].as_u64().unwrap());
        let argmax = guided.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0;
        assert_eq!(argmax as u64, step["argmax"].as_u64().unwrap(), "step {n}");
        let diff = max_diff(&guided, step["stride"].as_u64().unwrap() as usize, &floats(&step["values"]));
        worst = worst.max(diff);
        assert!(diff < 2e-4, "step {n}: logits differ by {diff}");
    }
    eprintln!("first stage: largest logit difference {worst:e}");
}

#[test]
fn the_second_stage_matches_numpy() {
    let golden = golden();
    let tiny = tiny();
    let second = &golden["second_stage"];
    let (book1, book2) = (ints(&second["book1"]), ints(&second["book2"]));
    let t = book1.len();
    let input = Tensor::from_vec([book1, book2].concat(), (1, 2, t), &Device::Cpu).unwrap();
    let speaker = Tensor::from_vec(fixed_speaker(), (1, 16), &Device::Cpu).unwrap();
    let heads = tiny.voice.second.forward(&input, &speaker).unwrap();
    let mut worst = 0f32;
    for case in second["logits"].as_array().unwrap() {
        let (head, position) = (case["head"].as_u64().unwrap() as usize, case["position"].as_u64().unwrap() as usize);
        let logits = heads[head].i((0, position)).unwrap().to_vec1::<f32>().unwrap();
        let diff = max_diff(&logits, case["stride"].as_u64().unwrap() as usize, &floats(&case["values"]));
        worst = worst.max(diff);
        assert!(diff < 2e-4, "head {head} at {position}: logits differ by {diff}");
        let argmax = logits.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0;
        assert_eq!(argmax as u64, case["argmax"].as_u64().unwrap());
    }
    // candle-transformers' `metavoice::gpt` on the same weights, for the record
    // (no speaker embedding, tanh GELU).
    let file = Arc::new(Safetensors::open(&tiny.folder.join(SECOND_STAGE)).unwrap());
    let config = candle_transformers::models::metavoice::gpt::Config {
        n_layer: 1,
        n_embd: 48,
        block_size: t,
        ..candle_transformers::models::metavoice::gpt::Config::cfg1b_v0_1()
    };
    let theirs = candle_transformers::models::metavoice::gpt::Model::new(config, file.var_builder(&Device::Cpu))
        .unwrap()
        .forward(&input)
        .unwrap();
    let mut candle_worst = 0f32;
    for case in second["logits"].as_array().unwrap() {
        let (head, position) = (case["head"].as_u64().unwrap() as usize, case["position"].as_u64().unwrap() as usize);
        let logits = theirs[head].i((0, position)).unwrap().to_vec1::<f32>().unwrap();
        candle_worst =
            candle_worst.max(max_diff(&logits, case["stride"].as_u64().unwrap() as usize, &floats(&case["values"])));
    }
    eprintln!("second stage: largest logit difference {worst:e}; candle-transformers' gpt {candle_worst:e}");
}

/// The script's test signal: 0.4 s silence, 3.2 s of tones, 0.4 s silence at 16 kHz.
fn speaker_wav() -> Vec<f32> {
    let tau = 2.0 * std::f64::consts::PI;
    let tone = (0..51_200).map(|i| {
        let t = i as f64 / 16_000.0;
        (0.3 * (tau * 150.0 * t).sin()
            + 0.2 * (tau * 310.0 * t + 0.5).sin()
            + 0.1 * (tau * 1250.0 * t).sin() * (0.5 + 0.5 * (tau * 3.0 * t).sin())) as f32
    });
    std::iter::repeat_n(0.0, 6_400).chain(tone).chain(std::iter::repeat_n(0.0, 6_400)).collect()
}

#[test]
fn the_speaker_encoder_matches_librosa_and_torch() {
    let golden = golden();
    let tiny = tiny();
    let reference = &golden["speaker"];
    let wav = speaker_wav();
    let trimmed = speaker::trim(&wav);
    assert_eq!(trimmed.len() as u64, reference["trimmed_samples"].as_u64().unwrap(), "librosa.effects.trim");

    let slices = speaker::partial_slices(trimmed.len());
    let mut padded = trimmed.to_vec();
    padded.resize(padded.len().max((slices.last().unwrap() + 160) * 160), 0.0);
    let mel = speaker::mel_spectrogram(&padded);
    assert_eq!(mel.len() / speaker::N_MELS, reference["mel_frames"].as_u64().unwrap() as usize);
    let frames = ints(&reference["mel_probe_frames"]);
    let mut worst = 0f32;
    for (frame, values) in frames.iter().zip(reference["mel_probe"].as_array().unwrap()) {
        let values = floats(values);
        let scale = values.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let ours = &mel[*frame as usize * speaker::N_MELS..(*frame as usize + 1) * speaker::N_MELS];
        let diff = max_diff(ours, 1, &values) / scale;
        worst = worst.max(diff);
        assert!(diff < 1e-5, "mel frame {frame}: relative difference {diff}");
    }
    let embedding = tiny.voice.speaker_encoder.embed_trimmed(trimmed).unwrap();
    let diff = max_diff(&embedding, 1, &floats(&reference["embedding"]));
    assert!(diff < 1e-5, "embedding differs by {diff}");
    // Through the public path (trim included) the result is the same.
    let audio = crate::Audio { samples: wav, rate: speaker::RATE };
    assert_eq!(tiny.voice.speaker_encoder.embed(&audio).unwrap(), embedding);
    eprintln!("speaker: mel relative difference {worst:e}, embedding difference {diff:e}");
}

#[test]
fn the_encodec_decoder_matches_transformers() {
    let golden = golden();
    let tiny = tiny();
    let reference = &golden["encodec"];
    let codes: Vec<Vec<u32>> = reference["codes"].as_array().unwrap().iter().map(ints).collect();
    let samples = tiny.voice.codec.decode(&codes).unwrap();
    assert_eq!(samples.len() as u64, reference["length"].as_u64().unwrap());
    let stride = reference["stride"].as_u64().unwrap() as usize;
    let expected = floats(&reference["values"]);
    let diff = max_diff(&samples, stride, &expected);
    assert!(diff < 1e-5, "samples differ by {diff}");

    // candle-transformers' own decoder on the same weights, for the record.
    let file = Arc::new(Safetensors::open(&tiny.folder.join(ENCODEC)).unwrap());
    let config = candle_transformers::models::encodec::Config { num_filters: 2, hidden_size: 8, ..Default::default() };
    let decoder =
        candle_transformers::models::encodec::Decoder::new(&config, file.var_builder(&Device::Cpu).pp("decoder"))
            .unwrap();
    let embeddings = codes
        .iter()
        .zip(&tiny.voice.codec.codebooks)
        .map(|(row, book)| book.embedding(&Tensor::new(row.as_slice(), &Device::Cpu).unwrap()).unwrap())
        .reduce(|a, b| (a + b).unwrap())
        .unwrap();
    let theirs = candle_core::Module::forward(&decoder, &embeddings.t().unwrap().unsqueeze(0).unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let common = theirs.len().min(samples.len());
    let candle_diff = max_diff(&theirs[..common], stride, &expected[..common.div_ceil(stride)]);
    eprintln!(
        "encodec: ours differs by {diff:e}; candle-transformers' decoder by {candle_diff:e} and gives {} samples for {}",
        theirs.len(),
        samples.len()
    );
}
