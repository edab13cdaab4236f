//! Search: BM25 (FTS5) and vector search (exact or IVF), fused by reciprocal
//! rank fusion, optionally re-ranked for diversity (MMR). Every hit carries
//! the scores and ranks that put it there.

use std::collections::HashMap;
use std::sync::Arc;

use familiar_infer::vector::{VectorIndex, dot};
use serde::Serialize;

use super::{Chunk, KnowledgeBase, KnowledgeError, KnowledgeStore};

/// The constant of reciprocal rank fusion (Cormack et al. 2009): 1/(k + rank).
pub const RRF_K: f32 = 60.0;

/// Which retrievers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Hybrid,
    Bm25,
    Vector,
}

impl std::str::FromStr for Mode {
    type Err = KnowledgeError;

    fn from_str(s: &str) -> Result<Mode, KnowledgeError> {
        match s {
            "hybrid" => Ok(Mode::Hybrid),
            "bm25" | "keyword" => Ok(Mode::Bm25),
            "vector" | "semantic" => Ok(Mode::Vector),
            other => Err(KnowledgeError::Invalid(format!("unknown search mode `{other}` (hybrid, bm25 or vector)"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub limit: usize,
    pub mode: Mode,
    /// Diversity: MMR with this λ (1 = relevance only, 0 = diversity only).
    pub mmr: Option<f32>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { limit: 5, mode: Mode::Hybrid, mmr: None }
    }
}

/// Why a chunk was returned.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Scores {
    /// BM25 score (higher is better) and 1-based rank among keyword hits.
    pub bm25: Option<f32>,
    pub bm25_rank: Option<usize>,
    /// Cosine similarity and 1-based rank among vector hits.
    pub vector: Option<f32>,
    pub vector_rank: Option<usize>,
    /// The fused score (reciprocal rank fusion).
    pub fused: f32,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Hit {
    pub base: String,
    pub document: String,
    pub path: String,
    pub title: Option<String>,
    /// `page 4`, `section Installation`, or `chunk 3` when the format has neither.
    pub location: String,
    pub chunk: Chunk,
    pub scores: Scores,
}

/// A knowledge base's vectors in memory: row `i` of the index is chunk `ids[i]`.
pub struct BaseVectors {
    pub generation: i64,
    pub ids: Vec<i64>,
    pub index: VectorIndex,
}

/// A base to search, with the query embedded by that base's model.
pub struct Target {
    pub kb: KnowledgeBase,
    pub vectors: Arc<BaseVectors>,
}

/// One query: its text, and its vector per target (same order).
pub struct Query {
    pub text: String,
    pub vectors: Vec<Vec<f32>>,
}

pub fn location(chunk: &Chunk) -> String {
    match (&chunk.page, &chunk.section) {
        (Some(page), _) => format!("page {page}"),
        (None, Some(section)) => format!("section {section}"),
        (None, None) => format!("chunk {}", chunk.ord + 1),
    }
}

/// Searches `targets` for `queries` (several phrasings of one need fuse into one list).
pub async fn search(
    store: &KnowledgeStore<'_>,
    targets: &[Target],
    queries: &[Query],
    options: &SearchOptions,
) -> Result<Vec<Hit>, KnowledgeError> {
    if targets.is_empty() || options.limit == 0 {
        return Ok(Vec::new());
    }
    let pool = (options.limit * 4).max(20);
    let kb_ids: Vec<i64> = targets.iter().map(|t| t.kb.id).collect();
    let mut fused: HashMap<i64, Scores> = HashMap::new();
    for query in queries {
        if options.mode != Mode::Vector {
            for (rank, (id, score)) in store.bm25(&kb_ids, &query.text, pool).await?.into_iter().enumerate() {
                let f = fused.entry(id).or_default();
                f.fused += 1.0 / (RRF_K + rank as f32 + 1.0);
                if f.bm25.is_none_or(|s| score > s) {
                    f.bm25 = Some(score);
                    f.bm25_rank = Some(rank + 1);
                }
            }
        }
        if options.mode != Mode::Bm25 {
            let mut hits: Vec<(i64, f32)> = targets
                .iter()
                .zip(&query.vectors)
                .flat_map(|(t, v)| t.vectors.index.search(v, pool).into_iter().map(|n| (t.vectors.ids[n.row], n.score)))
                .collect();
            hits.sort_by(|a, b| b.1.total_cmp(&a.1));
            hits.truncate(pool);
            for (rank, (id, score)) in hits.into_iter().enumerate() {
                let f = fused.entry(id).or_default();
                f.fused += 1.0 / (RRF_K + rank as f32 + 1.0);
                if f.vector.is_none_or(|s| score > s) {
                    f.vector = Some(score);
                    f.vector_rank = Some(rank + 1);
                }
            }
        }
    }
    let mut ranked: Vec<(i64, Scores)> = fused.into_iter().collect();
    ranked.sort_by(|a, b| b.1.fused.total_cmp(&a.1.fused).then(a.0.cmp(&b.0)));
    ranked.truncate(pool);
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut scores: HashMap<i64, Scores> = ranked.into_iter().collect();
    let rows = store.chunks(&ids).await?;
    let order = match options.mmr {
        Some(lambda) => {
            let vectors: Vec<&[f32]> = rows.iter().map(|(_, _, v)| v.as_slice()).collect();
            let relevance: Vec<f32> = rows.iter().map(|(c, _, _)| scores.get(&c.id).map_or(0.0, |s| s.fused)).collect();
            mmr(&vectors, &relevance, lambda, options.limit)
        }
        None => (0..rows.len().min(options.limit)).collect(),
    };
    let names: HashMap<i64, &str> = targets.iter().map(|t| (t.kb.id, t.kb.name.as_str())).collect();
    let mut rows: Vec<Option<_>> = rows.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|i| rows.get_mut(i).and_then(Option::take))
        .map(|(chunk, doc, _)| Hit {
            base: names.get(&chunk.kb_id).copied().unwrap_or_default().to_owned(),
            document: doc.name,
            path: doc.path,
            title: doc.title,
            location: location(&chunk),
            scores: scores.remove(&chunk.id).unwrap_or_default(),
            chunk,
        })
        .collect())
}

/// Maximal marginal relevance: picks `k` items, each time the one that best
/// balances relevance (`lambda`) against similarity to those already picked.
pub fn mmr(vectors: &[&[f32]], relevance: &[f32], lambda: f32, k: usize) -> Vec<usize> {
    let top = relevance.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
    let mut picked: Vec<usize> = Vec::new();
    let mut left: Vec<usize> = (0..vectors.len().min(relevance.len())).collect();
    while picked.len() < k && !left.is_empty() {
        let score = |i: usize| {
            let similarity = picked.iter().map(|&j| dot(vectors[i], vectors[j])).fold(0.0f32, f32::max);
            lambda * relevance[i] / top - (1.0 - lambda) * similarity
        };
        let (at, _) = left
            .iter()
            .enumerate()
            .max_by(|a, b| score(*a.1).total_cmp(&score(*b.1)).then(b.0.cmp(&a.0)))
            .expect("non-empty");
        picked.push(left.remove(at));
    }
    picked
}

#[cfg(test)]
mod tests {
    #[test]
    fn mmr_prefers_a_different_second_item() {
        let (a, a2, b) = ([1.0f32, 0.0], [0.99f32, 0.141], [0.0f32, 1.0]);
        let vectors: Vec<&[f32]> = vec![&a, &a2, &b];
        assert_eq!(super::mmr(&vectors, &[1.0, 0.95, 0.8], 1.0, 2), [0, 1]);
        assert_eq!(super::mmr(&vectors, &[1.0, 0.95, 0.8], 0.5, 2), [0, 2]);
    }
}
