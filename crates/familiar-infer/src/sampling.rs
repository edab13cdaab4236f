//! Sampling as a plain value, and the sampler that applies it to logits.
//!
//! Order, as llama.cpp applies it by default: penalties (repetition,
//! presence, frequency) → top-k → top-p → min-p → temperature → draw. A
//! temperature of 0 is greedy decoding, which is deterministic; otherwise
//! the draw uses a seeded generator, so the same seed gives the same reply.

use serde::{Deserialize, Serialize};

/// How to pick the next token. Serializable: it is stored with each reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub presence_penalty: f32,
    pub frequency_penalty: f32,
    /// How many of the last tokens the penalties look at.
    pub penalty_window: usize,
    pub seed: u64,
    pub stop: Vec<String>,
    pub max_tokens: usize,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repetition_penalty: 1.1,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_window: 64,
            seed: 42,
            stop: Vec::new(),
            max_tokens: 512,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding: always the most likely token.
    pub fn greedy() -> Self {
        SamplingParams { temperature: 0.0, repetition_penalty: 1.0, ..SamplingParams::default() }
    }
}

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Applies [`SamplingParams`] token after token.
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Sampler {
        let rng = Rng(params.seed);
        Sampler { params, rng }
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks the next token from `logits`, given the tokens so far.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        let p = &self.params;
        let window = &history[history.len().saturating_sub(p.penalty_window)..];
        if !window.is_empty()
            && (p.repetition_penalty != 1.0 || p.presence_penalty != 0.0 || p.frequency_penalty != 0.0)
        {
            let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
            for t in window {
                *counts.entry(*t).or_default() += 1;
            }
            for (token, count) in counts {
                let Some(l) = logits.get_mut(token as usize) else { continue };
                if p.repetition_penalty != 1.0 {
                    *l = if *l > 0.0 { *l / p.repetition_penalty } else { *l * p.repetition_penalty };
                }
                *l -= p.presence_penalty + p.frequency_penalty * count as f32;
            }
        }
        if p.temperature <= 0.0 {
            return argmax(logits);
        }
        let mut candidates: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, l)| (i as u32, *l)).collect();
        let k = if p.top_k == 0 { candidates.len() } else { p.top_k.min(candidates.len()) };
        if k < candidates.len() {
            candidates.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            candidates.truncate(k);
        }
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        // Softmax over what is left (before temperature, as llama.cpp's top-p/min-p see it).
        let probs = softmax(candidates.iter().map(|c| c.1));
        let mut keep = candidates.len();
        if p.top_p < 1.0 {
            let mut sum = 0.0;
            for (i, prob) in probs.iter().enumerate() {
                sum += prob;
                if sum >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        if p.min_p > 0.0 {
            let floor = probs[0] * p.min_p;
            keep = keep.min(probs.iter().take_while(|prob| **prob >= floor).count().max(1));
        }
        candidates.truncate(keep.max(1));
        let probs = softmax(candidates.iter().map(|c| c.1 / p.temperature));
        let mut r = self.rng.next_f32();
        for (i, prob) in probs.iter().enumerate() {
            if r < *prob {
                return candidates[i].0;
            }
            r -= prob;
        }
        candidates[candidates.len() - 1].0
    }
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn softmax(values: impl Iterator<Item = f32> + Clone) -> Vec<f32> {
    let max = values.clone().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = values.map(|v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest_logit() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&mut [0.1, 3.0, 2.0], &[]), 1);
    }

    #[test]
    fn the_same_seed_draws_the_same_tokens() {
        let draw = |seed| {
            let mut s = Sampler::new(SamplingParams {
                seed,
                temperature: 1.0,
                top_k: 0,
                top_p: 1.0,
                min_p: 0.0,
                ..Default::default()
            });
            (0..50).map(|_| s.sample(&mut [1.0, 1.1, 0.9, 1.05, 0.5], &[])).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn penalties_push_repeated_tokens_down() {
        let mut s = Sampler::new(SamplingParams { repetition_penalty: 2.0, temperature: 0.0, ..Default::default() });
        assert_eq!(s.sample(&mut [2.0, 1.5], &[0, 0]), 1);
        let mut s = Sampler::new(SamplingParams {
            presence_penalty: 1.0,
            repetition_penalty: 1.0,
            temperature: 0.0,
            ..Default::default()
        });
        assert_eq!(s.sample(&mut [2.0, 1.5], &[0]), 1);
    }

    #[test]
    fn top_k_one_is_greedy_whatever_the_temperature() {
        let mut s = Sampler::new(SamplingParams { top_k: 1, temperature: 5.0, ..Default::default() });
        for _ in 0..20 {
            assert_eq!(s.sample(&mut [0.0, 0.2, 0.1], &[]), 1);
        }
    }
}
