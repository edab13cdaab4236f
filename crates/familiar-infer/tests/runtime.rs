//! The runtime on the real bundled model (SmolLM2-135M-Instruct, Q4_1),
//! fetched by `scripts/fetch-models.sh` (run by `make test`).

use std::path::PathBuf;

use familiar_infer::model::{read_gguf, text_setup};
use familiar_infer::{CancelToken, Engine, EngineOptions, GenerateRequest, Message, SamplingParams, StopReason};

fn model_path() -> PathBuf {
    let cache = std::env::var_os("FAMILIAR_MODEL_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let system = PathBuf::from("/var/cache/familiar/models");
        if system.is_dir() {
            system
        } else {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/familiar/models")
        }
    });
    let path = cache.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(path.is_file(), "{} is missing: run scripts/fetch-models.sh", path.display());
    path
}

#[test]
fn token_ids_match_llama_cpp() {
    let (content, _) = read_gguf(&model_path()).unwrap();
    let (tokenizer, _) = text_setup(&content).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/fixtures/tokenizer/smollm2-135m.json")).unwrap();
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
    };
    let mut mismatches = Vec::new();
    for case in golden["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        for (key, bos, special) in [("plain", false, false), ("special", false, true), ("with_bos", true, false)] {
            let ours = tokenizer.encode(text, bos, special);
            if ours != ids(&case[key]) {
                mismatches.push(format!("{key} {text:?}:\n  ours   {ours:?}\n  llama  {:?}", ids(&case[key])));
            }
        }
        // Decoding gives the text back.
        assert_eq!(tokenizer.decode(&ids(&case["plain"]), false), text);
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}
