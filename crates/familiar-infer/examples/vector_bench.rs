//! Vector search for `make bench`: exact (SIMD) and IVF over the same
//! vectors, per-query latency and IVF recall@10 against exact search.
//! Usage: vector_bench BASE.f32 QUERIES.f32 DIM → one JSON line.
//! Files are little-endian f32 rows (unit vectors).

use std::time::Instant;

use familiar_infer::vector::{FlatIndex, IvfIndex};

fn read(path: &str, dim: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).expect("vectors file");
    bytes
        .chunks_exact(4 * dim)
        .map(|row| row.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dim: usize = args[3].parse().expect("dim");
    let base = read(&args[1], dim);
    let queries = read(&args[2], dim);
    let mut flat = FlatIndex::new(dim);
    for v in &base {
        flat.push(v);
    }
    drop(base);
    let t = Instant::now();
    let ivf = IvfIndex::build(&flat, IvfIndex::default_cells(flat.len()), 0x5eed);
    let build_s = t.elapsed().as_secs_f64();
    let time = |f: &dyn Fn(&[f32]) -> Vec<usize>| {
        let mut latencies = Vec::new();
        let mut results = Vec::new();
        for q in &queries {
            let t = Instant::now();
            results.push(f(q));
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
        }
        latencies.sort_by(f64::total_cmp);
        (percentile(&latencies, 0.5), percentile(&latencies, 0.99), results)
    };
    let (exact_p50, exact_p99, truth) = time(&|q| flat.search(q, 10).iter().map(|n| n.row).collect());
    let (ivf_p50, ivf_p99, found) = time(&|q| ivf.search(q, 10).iter().map(|n| n.row).collect());
    let hits: usize = truth.iter().zip(&found).map(|(t, f)| f.iter().filter(|r| t.contains(r)).count()).sum();
    let recall = hits as f64 / (10 * queries.len()) as f64;
    println!(
        "{{\"n\": {}, \"exact_p50_ms\": {exact_p50:.3}, \"exact_p99_ms\": {exact_p99:.3}, \"ivf_p50_ms\": {ivf_p50:.3}, \
         \"ivf_p99_ms\": {ivf_p99:.3}, \"ivf_recall10\": {recall:.4}, \"ivf_build_s\": {build_s:.2}, \"cells\": {}, \"nprobe\": {}}}",
        flat.len(),
        ivf.cells(),
        ivf.nprobe
    );
}
