//! Embedding throughput on a folder: `cargo run --release --example embed_speed -- <model dir> [n]`.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("model folder");
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let embedder = familiar_infer::Embedder::load(std::path::Path::new(&dir)).expect("load");
    let texts: Vec<String> = (0..n)
        .map(|i| {
            format!("Sentence {i}: the quick brown fox jumps over the lazy dog while the hacker writes a kludge. ")
                .repeat(1 + i % 8)
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = Instant::now();
    let enc = embedder.tokenizer().encode_batch(refs.clone(), true).expect("tokenize");
    let tokens: usize = enc.iter().map(|e| e.len()).sum();
    println!("tokenize: {:.3}s for {tokens} tokens", t.elapsed().as_secs_f64());
    let t = Instant::now();
    embedder.embed(&refs).expect("embed");
    let batched = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for r in refs.iter().take(32) {
        embedder.embed(&[r]).expect("embed");
    }
    let single = t.elapsed().as_secs_f64();
    println!("batch 32: {:.1} texts/s; batch 1: {:.1} texts/s", n as f64 / batched, 32.0 / single);
}
