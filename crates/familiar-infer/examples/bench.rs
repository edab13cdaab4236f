//! Measures prefill (pp) and decode (tg) speed of a GGUF model on this runtime,
//! the way llama-bench does: a prompt of `pp` tokens, then `tg` generated tokens
//! greedily, one warm-up and `runs` measured runs. Prints JSON.
//!
//! `cargo run --release -p familiar-infer --example bench -- MODEL.gguf [threads] [pp] [tg] [runs]`

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
    let engine = Engine::load(std::path::Path::new(path), EngineOptions { threads: Some(threads) })?;
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
    let spread = |v: &[f64]| (v.iter().cloned().fold(f64::MAX, f64::min), v.iter().cloned().fold(0.0, f64::max));
    println!(
        "{}",
        serde_json::json!({
            "threads": threads, "pp": pp, "tg": tg, "runs": runs,
            "pp_tok_s": median(pp_rates.clone()), "pp_spread": spread(&pp_rates),
            "tg_tok_s": median(tg_rates.clone()), "tg_spread": spread(&tg_rates),
        })
    );
    Ok(())
}
