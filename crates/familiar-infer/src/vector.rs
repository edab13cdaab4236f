//! Nearest-neighbour search over unit vectors (inner product = cosine):
//! exact search with SIMD dot products for small sets, and an inverted-file
//! index (IVF: spherical k-means cells, only the cells nearest the query are
//! scanned) where exact search would miss the latency budget.
//!
//! Rows are identified by their position in the order they were added.

use rayon::prelude::*;

/// Above this many bytes of vectors, [`VectorIndex::build`] chooses IVF:
/// exact search reads every byte per query (≈ 3 ms per 64 MiB at 20 GB/s).
pub const EXACT_LIMIT_BYTES: usize = 64 << 20;

/// One result: the row and its inner product with the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    pub row: usize,
    pub score: f32,
}

/// The inner product of two equally long vectors.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Sixteen independent sums let the compiler keep whole vector registers busy.
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..16 {
            acc[k] = x[k].mul_add(y[k], acc[k]);
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The best `k` of scored rows, best first (a small sorted buffer: k is small).
#[derive(Debug, Clone)]
struct TopK {
    k: usize,
    items: Vec<Neighbour>,
}

impl TopK {
    fn new(k: usize) -> TopK {
        TopK { k, items: Vec::with_capacity(k + 1) }
    }

    fn floor(&self) -> f32 {
        if self.items.len() < self.k { f32::NEG_INFINITY } else { self.items[self.k - 1].score }
    }

    fn push(&mut self, row: usize, score: f32) {
        if self.k == 0 || score <= self.floor() {
            return;
        }
        let at = self.items.partition_point(|n| n.score >= score);
        self.items.insert(at, Neighbour { row, score });
        self.items.truncate(self.k);
    }

    fn merge(mut self, other: TopK) -> TopK {
        for n in other.items {
            self.push(n.row, n.score);
        }
        self
    }
}

/// Exact top-k over `data` (rows of `dim`); `rows` maps a position to its row.
fn scan(data: &[f32], dim: usize, query: &[f32], k: usize, rows: impl Fn(usize) -> usize + Sync) -> TopK {
    const BLOCK: usize = 4096;
    data.par_chunks(BLOCK * dim)
        .enumerate()
        .map(|(b, block)| {
            let mut top = TopK::new(k);
            for (i, v) in block.chunks_exact(dim).enumerate() {
                top.push(rows(b * BLOCK + i), dot(v, query));
            }
            top
        })
        .reduce(|| TopK::new(k), TopK::merge)
}

/// Vectors searched exactly.
#[derive(Debug, Clone, Default)]
pub struct FlatIndex {
    dim: usize,
    data: Vec<f32>,
}

impl FlatIndex {
    pub fn new(dim: usize) -> FlatIndex {
        FlatIndex { dim, data: Vec::new() }
    }

    /// Adds one vector (its length must be the index's dimension).
    pub fn push(&mut self, v: &[f32]) {
        assert_eq!(v.len(), self.dim, "vector length");
        self.data.extend_from_slice(v);
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn row(&self, row: usize) -> &[f32] {
        &self.data[row * self.dim..(row + 1) * self.dim]
    }

    /// The `k` rows with the highest inner product, best first.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        scan(&self.data, self.dim, query, k, |i| i).items
    }
}

/// An inverted-file index: vectors grouped by their nearest k-means centroid,
/// stored cell by cell so a probe reads contiguous memory.
#[derive(Debug, Clone)]
pub struct IvfIndex {
    dim: usize,
    centroids: Vec<f32>,
    /// Cell `c` holds rows `rows[offsets[c]..offsets[c + 1]]`, vectors alike.
    offsets: Vec<usize>,
    rows: Vec<u32>,
    data: Vec<f32>,
    /// Cells scanned per query.
    pub nprobe: usize,
}

/// A small deterministic generator (SplitMix64) for sampling training rows.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// For each row of `data`, the centroid with the highest inner product:
/// rows × centroids as one matrix product, in blocks.
fn assign(data: &[f32], dim: usize, centroids: &[f32]) -> Vec<usize> {
    let cells = centroids.len() / dim;
    let mut transposed = vec![0f32; dim * cells];
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        for (d, v) in centroid.iter().enumerate() {
            transposed[d * cells + c] = *v;
        }
    }
    let argmax = |scores: &[f32]| {
        scores.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (c, &s)| if s > best.1 { (c, s) } else { best }).0
    };
    let Ok(packed) = crate::gemm::Packed::new(&transposed, dim, cells) else {
        return data.par_chunks(dim).map(|v| nearest(centroids, dim, v)).collect();
    };
    let zero = vec![0f32; cells];
    let mut out = Vec::with_capacity(data.len() / dim);
    for block in data.chunks(4096 * dim) {
        match packed.forward(block, block.len() / dim, &zero) {
            Ok(scores) => out.extend(scores.chunks_exact(cells).map(argmax)),
            Err(_) => out.extend(block.par_chunks(dim).map(|v| nearest(centroids, dim, v)).collect::<Vec<_>>()),
        }
    }
    out
}

fn nearest(centroids: &[f32], dim: usize, v: &[f32]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        let s = dot(centroid, v);
        if s > best.1 {
            best = (c, s);
        }
    }
    best.0
}

impl IvfIndex {
    /// Cells for `n` vectors: about 2·√n, so a probe of a few percent of the
    /// cells reads a few percent of the vectors.
    pub fn default_cells(n: usize) -> usize {
        ((2.0 * (n as f64).sqrt()) as usize).clamp(1, 65_536)
    }

    /// Groups `flat`'s vectors into `cells` cells by spherical k-means,
    /// trained on a deterministic sample (`seed`).
    pub fn build(flat: &FlatIndex, cells: usize, seed: u64) -> IvfIndex {
        let (n, dim) = (flat.len(), flat.dim);
        let cells = cells.clamp(1, n.max(1));
        let mut state = seed;
        // Training sample: up to 40 vectors per cell.
        let sample: Vec<usize> = if n <= cells * 40 {
            (0..n).collect()
        } else {
            (0..cells * 40).map(|_| (splitmix(&mut state) % n as u64) as usize).collect()
        };
        let mut centroids: Vec<f32> = Vec::with_capacity(cells * dim);
        for i in 0..cells {
            centroids.extend_from_slice(flat.row(sample[(i * sample.len()) / cells]));
        }
        let training: Vec<f32> = sample.iter().flat_map(|&r| flat.row(r).iter().copied()).collect();
        for _ in 0..10 {
            let assigned = assign(&training, dim, &centroids);
            let mut sums = vec![0f32; cells * dim];
            let mut counts = vec![0usize; cells];
            for (&r, &c) in sample.iter().zip(&assigned) {
                counts[c] += 1;
                for (s, x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(flat.row(r)) {
                    *s += x;
                }
            }
            for c in 0..cells {
                let slot = &mut sums[c * dim..(c + 1) * dim];
                if counts[c] == 0 {
                    // An empty cell restarts at a random sample vector.
                    let r = sample[(splitmix(&mut state) % sample.len() as u64) as usize];
                    slot.copy_from_slice(flat.row(r));
                }
                normalize(slot);
            }
            centroids = sums;
        }
        let assigned = assign(&flat.data, dim, &centroids);
        let mut offsets = vec![0usize; cells + 1];
        for &c in &assigned {
            offsets[c + 1] += 1;
        }
        for c in 0..cells {
            offsets[c + 1] += offsets[c];
        }
        let mut fill = offsets.clone();
        let mut rows = vec![0u32; n];
        let mut data = vec![0f32; n * dim];
        for (r, &c) in assigned.iter().enumerate() {
            let at = fill[c];
            fill[c] += 1;
            rows[at] = r as u32;
            data[at * dim..(at + 1) * dim].copy_from_slice(flat.row(r));
        }
        // A sixteenth of the cells, and at least 48: small indexes need relatively more.
        let nprobe = (cells / 16).max(48).min(cells);
        IvfIndex { dim, centroids, offsets, rows, data, nprobe }
    }

    pub fn cells(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Approximate top `k`: scans the `nprobe` cells nearest the query.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        let mut cells: Vec<(usize, f32)> =
            self.centroids.chunks_exact(self.dim).map(|c| dot(c, query)).enumerate().collect();
        let probe = self.nprobe.min(cells.len());
        cells.select_nth_unstable_by(probe.saturating_sub(1), |a, b| b.1.total_cmp(&a.1));
        cells.truncate(probe);
        cells
            .par_iter()
            .map(|&(c, _)| {
                let (from, to) = (self.offsets[c], self.offsets[c + 1]);
                scan(&self.data[from * self.dim..to * self.dim], self.dim, query, k, |i| self.rows[from + i] as usize)
            })
            .reduce(|| TopK::new(k), TopK::merge)
            .items
    }
}

/// The index a knowledge base searches: exact while small, IVF beyond.
#[derive(Debug, Clone)]
pub enum VectorIndex {
    Exact(FlatIndex),
    Ivf(IvfIndex),
}

impl VectorIndex {
    /// Exact search up to [`EXACT_LIMIT_BYTES`] of vectors, IVF above.
    pub fn build(flat: FlatIndex) -> VectorIndex {
        if flat.data.len() * 4 <= EXACT_LIMIT_BYTES {
            VectorIndex::Exact(flat)
        } else {
            let cells = IvfIndex::default_cells(flat.len());
            VectorIndex::Ivf(IvfIndex::build(&flat, cells, 0x5eed))
        }
    }

    pub fn search(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        match self {
            VectorIndex::Exact(flat) => flat.search(query, k),
            VectorIndex::Ivf(ivf) => ivf.search(query, k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clustered(n: usize, dim: usize, seed: u64) -> FlatIndex {
        let mut state = seed;
        let mut uniform = || (splitmix(&mut state) >> 11) as f32 / (1u64 << 53) as f32 - 0.5;
        let centres: Vec<Vec<f32>> = (0..50).map(|_| (0..dim).map(|_| uniform()).collect()).collect();
        let mut flat = FlatIndex::new(dim);
        for i in 0..n {
            let mut v: Vec<f32> = centres[i % 50].iter().map(|c| c + 0.3 * uniform()).collect();
            normalize(&mut v);
            flat.push(&v);
        }
        flat
    }

    #[test]
    fn dot_matches_the_plain_sum_for_every_length() {
        for len in [0, 1, 15, 16, 17, 384, 385] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "length {len}");
        }
    }

    #[test]
    fn exact_search_finds_the_vector_itself_first() {
        let flat = clustered(2000, 64, 1);
        for row in [0, 17, 1999] {
            let hits = flat.search(flat.row(row), 5);
            assert_eq!(hits[0].row, row);
            assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }

    #[test]
    fn ivf_recalls_what_exact_search_finds() {
        let flat = clustered(20_000, 64, 2);
        let ivf = IvfIndex::build(&flat, IvfIndex::default_cells(flat.len()), 7);
        assert_eq!(ivf.len(), flat.len());
        let mut found = 0;
        for q in (0..20_000).step_by(200) {
            let truth: Vec<usize> = flat.search(flat.row(q), 10).iter().map(|n| n.row).collect();
            found += ivf.search(flat.row(q), 10).iter().filter(|n| truth.contains(&n.row)).count();
        }
        let recall = found as f64 / 1000.0;
        assert!(recall >= 0.9, "recall@10 {recall}");
    }

    #[test]
    fn searching_an_empty_index_finds_nothing() {
        assert!(FlatIndex::new(8).search(&[0.0; 8], 3).is_empty());
    }
}
