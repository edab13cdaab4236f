//! Measures prefill (pp) and decode (tg) speed of a GGUF model on this runtime,
//! the way llama-bench does: a prompt of `pp` tokens, then `tg` generated tokens
//! greedily, one warm-up and `runs` measured runs. Prints JSON.
//!
//! `cargo run --release -p familiar-infer --example bench -- MODEL.gguf [threads] [pp] [tg] [runs] [cpu]`
//! (`cpu` keeps a GPU build on the CPU).

use std::time::Instant;

use familiar_infer::{CancelToken, Engine, EngineOptions, GenerateRequest, SamplingParams};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: bench MODEL.gguf [threads] [pp] [tg] [runs]")?;
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let pp: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(512);
    let tg: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(128);
    let runs: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let cpu_only = args.get(6).is_some_and(|s| s == "cpu");
    let engine = Engine::load(std::path::Path::new(path), EngineOptions { threads: Some(threads), cpu_only })?;
    // A prompt of pp distinct-ish ordinary tokens (as llama-bench, content does not matter).
    let text = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun. ".repeat(pp / 8 + 1);
    let mut prompt = engine.tokenizer.encode(&text, false, false);
    prompt.truncate(pp);
    let (mut pp_rates, mut tg_rates) = (Vec::new(), Vec::new());
    for run in 0..=runs {
        // Prefill alone: a one-token generation from a fresh cache.
        let mut tokens = prompt.clone();
        tokens[0] = tokens[0].wrapping_add(run as u32 % 2); // never reuse the cache
        let params = SamplingParams { max_tokens: 1, ..SamplingParams::greedy() };
        let done =
            engine.generate_with(GenerateRequest { prompt: tokens, params, cancel: CancelToken::default() }, |_| {})?;
        // Decode: tg tokens after a one-token prompt.
        let params = SamplingParams { max_tokens: tg, stop: vec![], ..SamplingParams::greedy() };
        let start = Instant::now();
        let decoded = engine.generate_with(
            GenerateRequest { prompt: vec![prompt[run % prompt.len()]], params, cancel: CancelToken::default() },
            |_| {},
        )?;
        let secs = start.elapsed().as_secs_f64();
        if run > 0 {
            pp_rates.push(pp as f64 / (done.prefill_ms / 1e3));
            tg_rates.push(decoded.tokens.len() as f64 / secs);
        }
    }
    // Time to first token on the second turn of a long persona conversation,
    // with the cache reused (as in chat) and cold (the same prompt from scratch).
    let persona = "You are Captain Byte, a patient teacher of Linux who answers with care. ".repeat(110);
    let turn1 = format!(
        "<|im_start|>system\n{persona}<|im_end|>\n<|im_start|>user\nHow do I list files?<|im_end|>\n<|im_start|>assistant\n"
    );
    let first_prompt = engine.tokenizer.encode(&turn1, true, true);
    let params = SamplingParams { max_tokens: 16, ..SamplingParams::greedy() };
    let first = engine.generate_with(
        GenerateRequest { prompt: first_prompt.clone(), params: params.clone(), cancel: CancelToken::default() },
        |_| {},
    )?;
    let turn2 = format!(
        "{turn1}{}<|im_end|>\n<|im_start|>user\nAnd hidden ones?<|im_end|>\n<|im_start|>assistant\n",
        first.text
    );
    let second_prompt = engine.tokenizer.encode(&turn2, true, true);
    let warm = engine.generate_with(
        GenerateRequest { prompt: second_prompt.clone(), params: params.clone(), cancel: CancelToken::default() },
        |_| {},
    )?;
    let mut cold_prompt = second_prompt.clone();
    cold_prompt[0] = cold_prompt[0].wrapping_add(1);
    let cold = engine
        .generate_with(GenerateRequest { prompt: cold_prompt, params, cancel: CancelToken::default() }, |_| {})?;
    let spread = |v: &[f64]| (v.iter().cloned().fold(f64::MAX, f64::min), v.iter().cloned().fold(0.0, f64::max));
    println!(
        "{}",
        serde_json::json!({
            "device": engine.info.device, "threads": threads, "pp": pp, "tg": tg, "runs": runs,
            "pp_tok_s": median(pp_rates.clone()), "pp_spread": spread(&pp_rates),
            "tg_tok_s": median(tg_rates.clone()), "tg_spread": spread(&tg_rates),
            "ttft_prompt_tokens": second_prompt.len(), "ttft_turn2_warm_ms": warm.first_token_ms,
            "ttft_turn2_reused_tokens": warm.reused_tokens, "ttft_turn2_cold_ms": cold.first_token_ms,
            "turn2_text": turn2,
        })
    );
    Ok(())
}
