//! The runtime on the real bundled model (SmolLM2-135M-Instruct, Q4_1),
//! fetched by `scripts/fetch-models.sh` (run by `make test`).

mod common;
#[cfg(feature = "cuda")]
mod gpu;

use std::path::PathBuf;

use common::cached_model;

use familiar_infer::model::{read_gguf, text_setup};
use familiar_infer::{CancelToken, Engine, EngineOptions, GenerateRequest, Message, SamplingParams, StopReason};

fn model_path() -> PathBuf {
    cached_model("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Token ids of a varied text set, for a gpt2-style BPE vocabulary (SmolLM2)
/// and a SentencePiece one (Gemma 3), against llama.cpp's own.
#[test]
fn token_ids_match_llama_cpp() {
    let cases = [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", include_str!("../../../tests/fixtures/tokenizer/smollm2-135m.json")),
        ("gemma-3-270m-q4_k_m.gguf", include_str!("../../../tests/fixtures/tokenizer/gemma3-270m.json")),
    ];
    let mut mismatches = Vec::new();
    for (model, golden) in cases {
        let (content, _) = read_gguf(&cached_model(model)).unwrap();
        let (tokenizer, _) = text_setup(&content).unwrap();
        let golden: serde_json::Value = serde_json::from_str(golden).unwrap();
        let ids = |v: &serde_json::Value| -> Vec<u32> {
            v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
        };
        for case in golden["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            for (key, bos, special) in [("plain", false, false), ("special", false, true), ("with_bos", true, false)] {
                let ours = tokenizer.encode(text, bos, special);
                if ours != ids(&case[key]) {
                    mismatches
                        .push(format!("{model} {key} {text:?}:\n  ours   {ours:?}\n  llama  {:?}", ids(&case[key])));
                }
            }
            // Decoding gives the text back.
            assert_eq!(tokenizer.decode(&ids(&case["plain"]), false), text, "{model}");
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn a_gemma3_model_generates_what_llama_cpp_generates() {
    let engine = Engine::load(
        &cached_model("gemma-3-270m-q4_k_m.gguf"),
        EngineOptions { threads: Some(2), ..Default::default() },
    )
    .unwrap();
    assert_eq!(engine.info.arch, familiar_infer::Arch::Gemma3);
    let prompt = engine.tokenizer.encode("The capital of France is", true, false);
    let a = engine.generate_with(request(prompt.clone(), greedy(8)), |_| {}).unwrap();
    let b = engine.generate_with(request(prompt, greedy(8)), |_| {}).unwrap();
    assert_eq!(a.tokens, b.tokens);
    // llama.cpp (llama-cpp-python 0.3.16) on the same file, greedy, 8 tokens.
    assert_eq!(a.text, " the capital of the country of France.");
    // 606 tokens: past the 512-token sliding window of the local layers.
    let long =
        format!("{}The capital of France is", "The lighthouse keeper wrote in his log every evening. ".repeat(60));
    let prompt = engine.tokenizer.encode(&long, true, false);
    assert_eq!(prompt.len(), 606);
    let c = engine.generate_with(request(prompt, greedy(8)), |_| {}).unwrap();
    assert_eq!(c.text, " Paris. The capital of France is Paris");
}

fn engine() -> Engine {
    Engine::load(&model_path(), EngineOptions { threads: Some(2), ..Default::default() }).unwrap()
}

fn chat_prompt(engine: &Engine, messages: &[Message]) -> Vec<u32> {
    let text = engine.template.render(messages, true).unwrap();
    engine.tokenizer.encode(&text, true, true)
}

fn ask(engine: &Engine, question: &str) -> Vec<u32> {
    chat_prompt(engine, &[Message::new("system", "You are a helpful assistant."), Message::new("user", question)])
}

fn request(prompt: Vec<u32>, params: SamplingParams) -> GenerateRequest {
    GenerateRequest { prompt, params, cancel: CancelToken::default() }
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { max_tokens, ..SamplingParams::greedy() }
}

#[test]
fn greedy_generation_is_deterministic_and_streams_the_whole_text() {
    let engine = engine();
    assert_eq!(engine.info.arch, familiar_infer::Arch::Llama);
    assert!(engine.info.own_template, "SmolLM2 ships a ChatML template");
    let prompt = ask(&engine, "What is the capital of France?");
    let mut streamed = String::new();
    let first = engine.generate_with(request(prompt.clone(), greedy(24)), |t| streamed.push_str(t)).unwrap();
    assert!(!first.text.trim().is_empty());
    assert_eq!(streamed, first.text, "the stream carries exactly the text");
    assert!(first.text.contains("Paris"), "{}", first.text);
    // A second engine, and the same engine again (after its cache was reset), agree.
    let again = engine.generate_with(request(prompt.clone(), greedy(24)), |_| {}).unwrap();
    let fresh = Engine::load(&model_path(), EngineOptions { threads: Some(1), ..Default::default() }).unwrap();
    let other = fresh.generate_with(request(prompt, greedy(24)), |_| {}).unwrap();
    assert_eq!(again.tokens, first.tokens);
    assert_eq!(other.tokens, first.tokens);
}

#[test]
fn the_same_seed_gives_the_same_reply() {
    let engine = engine();
    let prompt = ask(&engine, "Tell me about cats.");
    let params = |seed| SamplingParams { seed, temperature: 1.0, max_tokens: 20, ..SamplingParams::default() };
    let a = engine.generate_with(request(prompt.clone(), params(1)), |_| {}).unwrap();
    let b = engine.generate_with(request(prompt.clone(), params(1)), |_| {}).unwrap();
    let c = engine.generate_with(request(prompt, params(2)), |_| {}).unwrap();
    assert_eq!(a.text, b.text);
    assert_ne!(a.tokens, c.tokens);
}

#[test]
fn a_stop_string_ends_the_reply_before_it() {
    let engine = engine();
    let prompt = ask(&engine, "Describe the sea in two sentences.");
    let full = engine.generate_with(request(prompt.clone(), greedy(40)), |_| {}).unwrap();
    // Stop on a word from the middle of the unstopped reply.
    let words: Vec<&str> = full.text.split(|c: char| !c.is_alphabetic()).filter(|w| w.len() > 3).collect();
    assert!(words.len() >= 3, "{:?}", full.text);
    let word = words[words.len() / 2].to_string();
    let params = SamplingParams { stop: vec![word.clone()], ..greedy(40) };
    let mut streamed = String::new();
    let stopped = engine.generate_with(request(prompt, params), |t| streamed.push_str(t)).unwrap();
    assert_eq!(stopped.stop, StopReason::StopString(word.clone()));
    assert!(full.text.starts_with(&stopped.text), "{:?} / {:?}", stopped.text, full.text);
    assert!(!stopped.text.contains(&word) && !streamed.contains(&word));
    assert_eq!(streamed, stopped.text);
}

#[test]
fn cancel_stops_mid_stream() {
    let engine = engine();
    let req =
        request(ask(&engine, "Write a long story about a dragon."), SamplingParams { max_tokens: 200, ..greedy(200) });
    let cancel = req.cancel.clone();
    let mut pieces = 0;
    let done = engine
        .generate_with(req, |_| {
            pieces += 1;
            if pieces == 3 {
                cancel.cancel();
            }
        })
        .unwrap();
    assert_eq!(done.stop, StopReason::Cancelled);
    assert!(done.tokens.len() < 10, "{} tokens", done.tokens.len());
}

/// On the CPU: the GPU's batched and one-token kernels round differently
/// enough for this small model's near-ties to flip within a few tokens, so
/// its device cache is checked at the logits instead (`gpu::the_device_cache_…`).
#[test]
fn a_follow_up_reuses_the_cache_and_matches_a_cold_run() {
    let cpu = || Engine::load(&model_path(), EngineOptions { threads: Some(2), cpu_only: true }).unwrap();
    let engine = cpu();
    let mut messages =
        vec![Message::new("system", "You are a helpful assistant."), Message::new("user", "Name a fruit.")];
    let first = engine.generate_with(request(chat_prompt(&engine, &messages), greedy(16)), |_| {}).unwrap();
    let mut prompt = chat_prompt(&engine, &messages);
    prompt.extend(&first.tokens);
    // The end-of-turn token the model produced, then the next user turn.
    messages.push(Message::new("assistant", first.text.clone()));
    messages.push(Message::new("user", "And a vegetable?"));
    let rendered = chat_prompt(&engine, &messages);
    assert!(rendered.starts_with(&prompt), "re-rendering the history gives the same tokens");
    let warm = engine.generate_with(request(rendered.clone(), greedy(16)), |_| {}).unwrap();
    // The cache holds every token the model has seen: the last one drawn when
    // the reply hit its token limit was never fed back.
    let seen = prompt.len() - usize::from(first.stop == StopReason::MaxTokens);
    assert_eq!(warm.reused_tokens, seen, "only the new tokens are computed");
    // An edited last message shares everything before it: that part is reused.
    messages.pop();
    messages.push(Message::new("user", "And a flower?"));
    let edited = chat_prompt(&engine, &messages);
    let common = edited.iter().zip(&rendered).take_while(|(a, b)| a == b).count();
    let again = engine.generate_with(request(edited.clone(), greedy(16)), |_| {}).unwrap();
    assert_eq!(again.reused_tokens, common);
    // Batched prefill and token-by-token decoding round differently, so a
    // near-tie may flip late in a reply; a wrong cache would derail it at once.
    let fresh = cpu().generate_with(request(edited, greedy(16)), |_| {}).unwrap();
    assert_eq!(fresh.reused_tokens, 0);
    assert!(again.tokens.len() >= 6 && fresh.tokens.len() >= 6, "{:?} / {:?}", again.text, fresh.text);
    assert_eq!(fresh.tokens[..6], again.tokens[..6], "reusing the cache gives the same reply");
}

#[test]
fn a_prompt_longer_than_the_context_is_an_error_not_a_crash() {
    let engine = engine();
    let long = vec![engine.tokenizer.encode(" hello", false, false)[0]; engine.info.context_length + 5];
    let err = engine.generate_with(request(long, greedy(4)), |_| {}).unwrap_err().to_string();
    assert!(err.contains("the model's context holds"), "{err}");
    // The engine still works afterwards.
    assert!(engine.generate_with(request(ask(&engine, "Hi"), greedy(4)), |_| {}).is_ok());
}

#[test]
fn broken_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model_path()).unwrap();
    let truncated = dir.path().join("truncated.gguf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = Engine::load(&truncated, EngineOptions::default()).err().unwrap().to_string();
    assert!(err.contains("is truncated") && err.contains("download it again"), "{err}");

    // A header whose first key claims to be a terabyte long: refused, not allocated.
    let mut hostile = bytes.clone();
    hostile[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let path = dir.path().join("hostile.gguf");
    std::fs::write(&path, &hostile).unwrap();
    let err = Engine::load(&path, EngineOptions::default()).err().unwrap().to_string();
    assert!(err.starts_with("the model file is corrupt: metadata key 0 claims 1099511627776 bytes"), "{err}");

    let not_gguf = dir.path().join("notes.gguf");
    std::fs::write(&not_gguf, b"these are not weights").unwrap();
    let err = Engine::load(&not_gguf, EngineOptions::default()).err().unwrap().to_string();
    assert!(err.contains("is not a GGUF model file"), "{err}");

    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    assert!(Engine::load(&empty, EngineOptions::default()).err().unwrap().to_string().contains("too short"));

    let other_arch = dir.path().join("mamba.gguf");
    let mut file = std::fs::File::create(&other_arch).unwrap();
    let arch = candle_core::quantized::gguf_file::Value::String("mamba".into());
    candle_core::quantized::gguf_file::write(&mut file, &[("general.architecture", &arch)], &[]).unwrap();
    drop(file);
    let err = Engine::load(&other_arch, EngineOptions::default()).err().unwrap().to_string();
    assert_eq!(err, "unsupported model architecture `mamba` (supported: llama, qwen2, qwen3, gemma3, phi3)");

    let missing = dir.path().join("nowhere.gguf");
    assert!(Engine::load(&missing, EngineOptions::default()).err().unwrap().to_string().starts_with("could not read"));
}

/// A tiny llama with random weights of the real architecture, written twice:
/// as a Hugging Face folder (safetensors, config.json, tokenizer.json) and as
/// a GGUF (q/k rows permuted as llama.cpp's converter does, SmolLM2's
/// vocabulary). Both must tokenize alike and give the same logits.
#[test]
fn a_safetensors_llama_matches_the_same_weights_in_gguf() {
    safetensors_matches_gguf("llama");
}

/// qwen2: q/k/v biases, rotary halves, and no row permutation in its GGUF.
#[test]
fn a_safetensors_qwen2_matches_the_same_weights_in_gguf() {
    safetensors_matches_gguf("qwen2");
}

fn safetensors_matches_gguf(arch: &str) {
    use candle_core::quantized::gguf_file::Value;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use familiar_infer::model::Model;
    use std::collections::HashMap;

    let dir = tempfile::tempdir().unwrap();
    let (content, _) = read_gguf(&model_path()).unwrap();
    let md = &content.metadata;
    let strings = |key: &str| -> Vec<String> {
        md[key].to_vec().unwrap().iter().map(|v| v.to_string().unwrap().clone()).collect()
    };
    let tokens = strings("tokenizer.ggml.tokens");
    let types: Vec<i32> =
        md["tokenizer.ggml.token_type"].to_vec().unwrap().iter().map(|v| v.to_i32().unwrap()).collect();
    let vocab: serde_json::Map<String, serde_json::Value> =
        tokens.iter().enumerate().map(|(i, t)| (t.clone(), serde_json::json!(i))).collect();
    let added: Vec<serde_json::Value> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == 3)
        .map(|(i, _)| serde_json::json!({ "id": i, "content": tokens[i], "special": true }))
        .collect();
    let gpt2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    let tokenizer_json = serde_json::json!({
        "added_tokens": added,
        "pre_tokenizer": { "type": "Sequence", "pretokenizers": [
            { "type": "Split", "pattern": { "Regex": r"\p{N}" }, "behavior": "Isolated" },
            { "type": "Split", "pattern": { "Regex": gpt2 }, "behavior": "Isolated" },
            { "type": "ByteLevel" } ] },
        "model": { "type": "BPE", "vocab": vocab, "merges": strings("tokenizer.ggml.merges") },
    });
    let bos = md["tokenizer.ggml.bos_token_id"].to_u32().unwrap() as usize;
    let eos = md["tokenizer.ggml.eos_token_id"].to_u32().unwrap() as usize;
    let hf = dir.path().join("tiny-llama");
    std::fs::create_dir(&hf).unwrap();
    std::fs::write(hf.join("tokenizer.json"), tokenizer_json.to_string()).unwrap();
    let chat_template = md["tokenizer.chat_template"].to_string().unwrap();
    let tokenizer_config =
        serde_json::json!({ "bos_token": tokens[bos], "eos_token": tokens[eos], "chat_template": chat_template });
    std::fs::write(hf.join("tokenizer_config.json"), tokenizer_config.to_string()).unwrap();
    let (dim, layers, heads, kv_heads, ffn, n_vocab) = (64usize, 2usize, 4usize, 2usize, 96usize, tokens.len());
    let config = serde_json::json!({
        "model_type": arch, "hidden_size": dim, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "intermediate_size": ffn, "vocab_size": n_vocab, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 512, "tie_word_embeddings": true,
    });
    std::fs::write(hf.join("config.json"), config.to_string()).unwrap();

    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |shape: (usize, usize), scale: f32| -> Tensor {
        let values: Vec<f32> = (0..shape.0 * shape.1)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    };
    let hd = dim / heads;
    let mut st: HashMap<String, Tensor> = HashMap::new();
    st.insert("model.embed_tokens.weight".into(), random((n_vocab, dim), 0.5));
    st.insert("model.norm.weight".into(), (random((1, dim), 0.2) + 1.0).unwrap().squeeze(0).unwrap());
    for i in 0..layers {
        let p = format!("model.layers.{i}");
        st.insert(format!("{p}.input_layernorm.weight"), (random((1, dim), 0.2) + 1.0).unwrap().squeeze(0).unwrap());
        st.insert(
            format!("{p}.post_attention_layernorm.weight"),
            (random((1, dim), 0.2) + 1.0).unwrap().squeeze(0).unwrap(),
        );
        st.insert(format!("{p}.self_attn.q_proj.weight"), random((heads * hd, dim), 0.4));
        st.insert(format!("{p}.self_attn.k_proj.weight"), random((kv_heads * hd, dim), 0.4));
        st.insert(format!("{p}.self_attn.v_proj.weight"), random((kv_heads * hd, dim), 0.4));
        st.insert(format!("{p}.self_attn.o_proj.weight"), random((dim, heads * hd), 0.4));
        st.insert(format!("{p}.mlp.gate_proj.weight"), random((ffn, dim), 0.4));
        st.insert(format!("{p}.mlp.up_proj.weight"), random((ffn, dim), 0.4));
        st.insert(format!("{p}.mlp.down_proj.weight"), random((dim, ffn), 0.4));
        if arch == "qwen2" {
            for (name, rows) in [("q_proj", heads * hd), ("k_proj", kv_heads * hd), ("v_proj", kv_heads * hd)] {
                st.insert(format!("{p}.self_attn.{name}.bias"), random((1, rows), 0.4).squeeze(0).unwrap());
            }
        }
    }
    candle_core::safetensors::save(&st, hf.join("model.safetensors")).unwrap();

    // The same weights as a GGUF: llama.cpp's converter permutes q/k rows so
    // that rotary pairs are adjacent.
    let permute = |w: &Tensor, n: usize| -> Tensor {
        if arch == "qwen2" {
            return w.clone();
        }
        let (rows, cols) = w.dims2().unwrap();
        w.reshape((n, 2, rows / n / 2, cols)).unwrap().transpose(1, 2).unwrap().reshape((rows, cols)).unwrap()
    };
    let q = |t: &Tensor| QTensor::quantize(&t.contiguous().unwrap(), GgmlDType::F32).unwrap();
    let mut gguf_tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), q(&st["model.embed_tokens.weight"])),
        ("output_norm.weight".into(), q(&st["model.norm.weight"])),
    ];
    for i in 0..layers {
        let p = format!("model.layers.{i}");
        let b = format!("blk.{i}");
        gguf_tensors.push((format!("{b}.attn_norm.weight"), q(&st[&format!("{p}.input_layernorm.weight")])));
        gguf_tensors.push((format!("{b}.ffn_norm.weight"), q(&st[&format!("{p}.post_attention_layernorm.weight")])));
        gguf_tensors
            .push((format!("{b}.attn_q.weight"), q(&permute(&st[&format!("{p}.self_attn.q_proj.weight")], heads))));
        gguf_tensors
            .push((format!("{b}.attn_k.weight"), q(&permute(&st[&format!("{p}.self_attn.k_proj.weight")], kv_heads))));
        gguf_tensors.push((format!("{b}.attn_v.weight"), q(&st[&format!("{p}.self_attn.v_proj.weight")])));
        gguf_tensors.push((format!("{b}.attn_output.weight"), q(&st[&format!("{p}.self_attn.o_proj.weight")])));
        gguf_tensors.push((format!("{b}.ffn_gate.weight"), q(&st[&format!("{p}.mlp.gate_proj.weight")])));
        gguf_tensors.push((format!("{b}.ffn_up.weight"), q(&st[&format!("{p}.mlp.up_proj.weight")])));
        gguf_tensors.push((format!("{b}.ffn_down.weight"), q(&st[&format!("{p}.mlp.down_proj.weight")])));
        for (gguf_name, hf_name) in [("attn_q", "q_proj"), ("attn_k", "k_proj"), ("attn_v", "v_proj")] {
            if let Some(bias) = st.get(&format!("{p}.self_attn.{hf_name}.bias")) {
                gguf_tensors.push((format!("{b}.{gguf_name}.bias"), q(bias)));
            }
        }
    }
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (format!("{arch}.embedding_length"), Value::U32(dim as u32)),
        (format!("{arch}.block_count"), Value::U32(layers as u32)),
        (format!("{arch}.attention.head_count"), Value::U32(heads as u32)),
        (format!("{arch}.attention.head_count_kv"), Value::U32(kv_heads as u32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
        (format!("{arch}.rope.freq_base"), Value::F32(10_000.0)),
        (format!("{arch}.context_length"), Value::U32(512)),
        (format!("{arch}.feed_forward_length"), Value::U32(ffn as u32)),
    ];
    for (key, value) in md.iter().filter(|(k, _)| k.starts_with("tokenizer.")) {
        metadata.push((key.clone(), value.clone()));
    }
    let gguf = dir.path().join("tiny-llama.gguf");
    let mut file = std::fs::File::create(&gguf).unwrap();
    let md_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = gguf_tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    candle_core::quantized::gguf_file::write(&mut file, &md_refs, &t_refs).unwrap();
    drop(file);

    let (mut from_st, st_tok, st_template) = Model::load(&hf, &Device::Cpu).unwrap();
    let (mut from_gguf, gguf_tok, _) = Model::load(&gguf, &Device::Cpu).unwrap();
    assert!(st_template.from_model, "the chat template comes from tokenizer_config.json");
    for text in
        ["Hello, world!", "1234567 café 日本語 🙂", "<|im_start|>user\nHi<|im_end|>\n", "def f(x):\n    return x  \n"]
    {
        assert_eq!(st_tok.encode(text, true, true), gguf_tok.encode(text, true, true), "{text:?}");
    }
    let prompt = gguf_tok.encode("The quick brown fox jumps over the lazy dog", false, false);
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    let a = from_st.forward(&prompt, 0).unwrap();
    let b = from_gguf.forward(&prompt, 0).unwrap();
    assert_eq!(a.len(), n_vocab);
    assert!(close(&a, &b) < 1e-3, "prefill logits differ by {}", close(&a, &b));
    let a = from_st.forward(&prompt[..1], prompt.len()).unwrap();
    let b = from_gguf.forward(&prompt[..1], prompt.len()).unwrap();
    assert!(close(&a, &b) < 1e-3, "decode logits differ by {}", close(&a, &b));
    // The plain-Rust decode step and the tensor path agree, for both layouts.
    for model in [&mut from_st, &mut from_gguf] {
        model.set_fast_decode(true);
        let fast = model.forward(&prompt[1..2], prompt.len() + 1).unwrap();
        model.set_fast_decode(false);
        let slow = model.forward(&prompt[1..2], prompt.len() + 1).unwrap();
        assert!(close(&fast, &slow) < 1e-3, "decode paths differ by {}", close(&fast, &slow));
        // And a further step on top of a cache the other path wrote.
        let slow_next = model.forward(&prompt[2..3], prompt.len() + 2).unwrap();
        model.set_fast_decode(true);
        let fast_next = model.forward(&prompt[2..3], prompt.len() + 2).unwrap();
        assert!(close(&fast_next, &slow_next) < 1e-3, "{}", close(&fast_next, &slow_next));
    }
}

/// A tiny qwen3 with seeded random weights (q/k norms, rotary halves, head
/// size from `key_length`), written as GGUF; llama.cpp's greedy tokens for it
/// were taken once with llama-cpp-python 0.3.16 (set FAMILIAR_WRITE_TINY to
/// a path prefix to get the files).
#[test]
fn a_tiny_qwen3_generates_what_llama_cpp_generates() {
    assert_agrees(&tiny_greedy("qwen3"), &LLAMA_CPP_TINY_QWEN3);
}

/// qwen2: q/k/v biases.
#[test]
fn a_tiny_qwen2_generates_what_llama_cpp_generates() {
    assert_agrees(&tiny_greedy("qwen2"), &LLAMA_CPP_TINY_QWEN2);
}

/// phi3: fused q/k/v and gate/up matrices (candle-transformers' implementation).
#[test]
fn a_tiny_phi3_generates_what_llama_cpp_generates() {
    assert_agrees(&tiny_greedy("phi3"), &LLAMA_CPP_TINY_PHI3);
}

/// The tiny models' weights are f32, which llama.cpp multiplies as they are;
/// our decode step reads 8-bit copies, so a late near-tie may flip: the first
/// six greedy tokens must be llama.cpp's.
fn assert_agrees(ours: &[u32], llama_cpp: &[u32]) {
    assert_eq!(ours[..6], llama_cpp[..6], "greedy tokens differ from llama.cpp's: {ours:?} / {llama_cpp:?}");
}

/// Writes a tiny seeded model of `arch` and returns its greedy continuation
/// of a fixed prompt, computed on the CPU.
fn tiny_greedy(arch: &str) -> Vec<u32> {
    tiny_greedy_on(arch, &candle_core::Device::Cpu)
}

/// The same, computed on `device`.
fn tiny_greedy_on(arch: &str, device: &candle_core::Device) -> Vec<u32> {
    use candle_core::quantized::gguf_file::Value;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    use familiar_infer::model::Model;

    let (content, _) = read_gguf(&model_path()).unwrap();
    let n_vocab = content.metadata["tokenizer.ggml.tokens"].to_vec().unwrap().len();
    let phi3 = arch == "phi3";
    let (dim, layers, heads, kv_heads, ffn) = (64usize, 2usize, 4usize, 2usize, 96usize);
    let hd = if arch == "qwen3" { 32 } else { dim / heads };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |rows: usize, cols: usize, scale: f32, offset: f32| -> QTensor {
        let values: Vec<f32> = (0..rows * cols)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale + offset
            })
            .collect();
        let shape: Vec<usize> = if rows == 1 { vec![cols] } else { vec![rows, cols] };
        QTensor::quantize(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap(), GgmlDType::F32).unwrap()
    };
    let mut tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), random(n_vocab, dim, 1.0, 0.0)),
        ("output_norm.weight".into(), random(1, dim, 0.2, 1.0)),
    ];
    if phi3 {
        tensors.push(("output.weight".into(), random(n_vocab, dim, 1.0, 0.0)));
    }
    for i in 0..layers {
        let b = format!("blk.{i}");
        tensors.push((format!("{b}.attn_norm.weight"), random(1, dim, 0.2, 1.0)));
        if phi3 {
            tensors.push((format!("{b}.attn_qkv.weight"), random((heads + 2 * kv_heads) * hd, dim, 0.5, 0.0)));
        } else {
            tensors.push((format!("{b}.attn_q.weight"), random(heads * hd, dim, 0.5, 0.0)));
            tensors.push((format!("{b}.attn_k.weight"), random(kv_heads * hd, dim, 0.5, 0.0)));
            tensors.push((format!("{b}.attn_v.weight"), random(kv_heads * hd, dim, 0.5, 0.0)));
            if arch == "qwen3" {
                tensors.push((format!("{b}.attn_q_norm.weight"), random(1, hd, 0.2, 1.0)));
                tensors.push((format!("{b}.attn_k_norm.weight"), random(1, hd, 0.2, 1.0)));
            } else {
                tensors.push((format!("{b}.attn_q.bias"), random(1, heads * hd, 0.5, 0.0)));
                tensors.push((format!("{b}.attn_k.bias"), random(1, kv_heads * hd, 0.5, 0.0)));
                tensors.push((format!("{b}.attn_v.bias"), random(1, kv_heads * hd, 0.5, 0.0)));
            }
        }
        tensors.push((format!("{b}.attn_output.weight"), random(dim, heads * hd, 0.5, 0.0)));
        tensors.push((format!("{b}.ffn_norm.weight"), random(1, dim, 0.2, 1.0)));
        if phi3 {
            tensors.push((format!("{b}.ffn_up.weight"), random(2 * ffn, dim, 0.5, 0.0)));
        } else {
            tensors.push((format!("{b}.ffn_gate.weight"), random(ffn, dim, 0.5, 0.0)));
            tensors.push((format!("{b}.ffn_up.weight"), random(ffn, dim, 0.5, 0.0)));
        }
        tensors.push((format!("{b}.ffn_down.weight"), random(dim, ffn, 0.5, 0.0)));
    }
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (format!("{arch}.context_length"), Value::U32(512)),
        (format!("{arch}.embedding_length"), Value::U32(dim as u32)),
        (format!("{arch}.block_count"), Value::U32(layers as u32)),
        (format!("{arch}.feed_forward_length"), Value::U32(ffn as u32)),
        (format!("{arch}.attention.head_count"), Value::U32(heads as u32)),
        (format!("{arch}.attention.head_count_kv"), Value::U32(kv_heads as u32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (format!("{arch}.rope.freq_base"), Value::F32(10_000.0)),
    ];
    if phi3 {
        metadata.push(("phi3.rope.dimension_count".into(), Value::U32(hd as u32)));
    } else if arch == "qwen3" {
        metadata.push(("qwen3.attention.key_length".into(), Value::U32(hd as u32)));
        metadata.push(("qwen3.attention.value_length".into(), Value::U32(hd as u32)));
    }
    for (key, value) in content.metadata.iter().filter(|(k, _)| k.starts_with("tokenizer.")) {
        metadata.push((key.clone(), value.clone()));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("tiny-{arch}.gguf"));
    let mut file = std::fs::File::create(&path).unwrap();
    let md_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    candle_core::quantized::gguf_file::write(&mut file, &md_refs, &t_refs).unwrap();
    drop(file);
    if let Ok(keep) = std::env::var("FAMILIAR_WRITE_TINY") {
        std::fs::copy(&path, format!("{keep}{arch}.gguf")).unwrap();
    }

    let (mut model, _, _) = Model::load(&path, device).unwrap();
    let prompt: Vec<u32> = vec![504, 2365, 6354, 16438, 27003, 690, 260, 23790];
    let mut tokens = prompt.clone();
    let argmax = |l: &[f32]| l.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i as u32).unwrap();
    let mut next = argmax(&model.forward(&prompt, 0).unwrap());
    let mut ours = Vec::new();
    for _ in 0..8 {
        ours.push(next);
        tokens.push(next);
        next = argmax(&model.forward(&[next], tokens.len() - 1).unwrap());
    }
    ours
}

/// llama.cpp's greedy continuations of the prompt above on the tiny models.
const LLAMA_CPP_TINY_QWEN3: [u32; 8] = [41753, 11652, 9998, 33185, 3863, 21412, 10781, 39645];
const LLAMA_CPP_TINY_QWEN2: [u32; 8] = [5734, 38067, 6731, 15976, 23328, 16435, 20760, 20760];
const LLAMA_CPP_TINY_PHI3: [u32; 8] = [3935, 22830, 19926, 4815, 3719, 38367, 45055, 19910];
