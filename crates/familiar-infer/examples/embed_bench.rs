//! Embedding throughput for `make bench`: sentences per second at batch 1
//! and batch 32, on sentences read from a file (one per line).
//! Usage: embed_bench MODEL_DIR SENTENCES_FILE → one JSON line.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, file) = (&args[1], &args[2]);
    let text = std::fs::read_to_string(file).expect("sentences file");
    let sentences: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let embedder = familiar_infer::Embedder::load(std::path::Path::new(dir)).expect("model");
    embedder.embed(&sentences[..32.min(sentences.len())]).expect("warm-up");
    let single = &sentences[..64.min(sentences.len())];
    let t = Instant::now();
    for s in single {
        embedder.embed(&[s]).expect("embed");
    }
    let batch1 = single.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    embedder.embed(&sentences).expect("embed");
    let batch32 = sentences.len() as f64 / t.elapsed().as_secs_f64();
    println!("{{\"batch1\": {batch1:.2}, \"batch32\": {batch32:.2}, \"sentences\": {}}}", sentences.len());
}
