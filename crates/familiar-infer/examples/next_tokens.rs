//! Prints a model's greedy continuation of a prompt, token by token:
//! `cargo run -p familiar-infer --example next_tokens -- MODEL.gguf "prompt" [n]`
use familiar_infer::{CancelToken, Engine, EngineOptions, GenerateRequest, SamplingParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (path, prompt) = (args.get(1).ok_or("model?")?, args.get(2).ok_or("prompt?")?);
    let n: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(8);
    let engine = Engine::load(std::path::Path::new(path), EngineOptions::default())?;
    let tokens = engine.tokenizer.encode(prompt, true, false);
    let params = SamplingParams { max_tokens: n, ..SamplingParams::greedy() };
    let done =
        engine.generate_with(GenerateRequest { prompt: tokens, params, cancel: CancelToken::default() }, |_| {})?;
    println!("{:?} {:?}", done.text, done.tokens);
    Ok(())
}
