//! Sentence embeddings on candle: a sentence-transformers folder (BERT-family
//! or nomic-bert weights in safetensors, `tokenizer.json`, pooling config) is
//! loaded and run exactly as `sentence-transformers` runs it — truncation to
//! `max_seq_length`, padding to the longest text of a batch, mean or CLS
//! pooling over real tokens, L2 normalisation when the pipeline has it.
//!
//! [`EmbeddingEngine`] owns one model on its own thread; requests carry their
//! reply channel and are cancellable between batches.

use std::path::Path;
use std::sync::{Arc, mpsc};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::nomic_bert;
use serde::Deserialize;

use crate::{CancelToken, InferError};

/// Texts per forward pass: the same as sentence-transformers' default.
pub const BATCH: usize = 32;

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
}

enum Net {
    /// Our packed encoder (no padding computed).
    Bert(crate::bert::Bert),
    Nomic(nomic_bert::NomicBertModel),
}

/// A loaded sentence-embedding model.
pub struct Embedder {
    net: Net,
    tokenizer: tokenizers::Tokenizer,
    pooling: Pooling,
    normalize: bool,
    max_tokens: usize,
    dim: usize,
    device: Device,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct Module {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct ArchProbe {
    model_type: Option<String>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, InferError> {
    let bytes = std::fs::read(path).map_err(|e| InferError::Io(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| InferError::Model(format!("{} is not valid: {e}", path.display())))
}

fn model_error(e: candle_core::Error) -> InferError {
    InferError::Model(format!("the embedding model could not run: {e}"))
}

impl Embedder {
    /// Loads a sentence-transformers folder on the CPU.
    pub fn load(dir: &Path) -> Result<Embedder, InferError> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(InferError::Model(format!(
                "{} is not a sentence-embedding model folder (it has no config.json)",
                dir.display()
            )));
        }
        let probe: ArchProbe = read_json(&config_path)?;
        let model_type = probe.model_type.unwrap_or_else(|| "bert".into());
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(InferError::Model(format!("{} has no model.safetensors", dir.display())));
        }
        let device = Device::Cpu;
        let tensors = || {
            candle_core::safetensors::load(&weights, &device)
                .map_err(|e| InferError::Model(format!("cannot read {}: {e}", weights.display())))
        };
        let (net, dim, positions) = match model_type.as_str() {
            "bert" => {
                let config: crate::bert::BertConfig = read_json(&config_path)?;
                let net = crate::bert::Bert::load(config, tensors()?)?;
                let (dim, positions) = (net.hidden_size(), net.max_positions());
                (Net::Bert(net), dim, positions)
            }
            "nomic_bert" => {
                let config: nomic_bert::Config = read_json(&config_path)?;
                let vb = VarBuilder::from_tensors(tensors()?, DType::F32, &device);
                let net = nomic_bert::NomicBertModel::load(vb, &config).map_err(model_error)?;
                (Net::Nomic(net), config.n_embd, config.n_positions)
            }
            other => {
                return Err(InferError::Unsupported(format!(
                    "embedding architecture `{other}` (bert and nomic_bert are supported)"
                )));
            }
        };
        let pooling = match dir.join("1_Pooling/config.json") {
            p if p.is_file() => {
                let c: PoolingConfig = read_json(&p)?;
                if c.pooling_mode_cls_token && !c.pooling_mode_mean_tokens { Pooling::Cls } else { Pooling::Mean }
            }
            _ => Pooling::Mean,
        };
        let normalize = match dir.join("modules.json") {
            p if p.is_file() => read_json::<Vec<Module>>(&p)?.iter().any(|m| m.kind.ends_with(".Normalize")),
            _ => true,
        };
        let max_tokens = match dir.join("sentence_bert_config.json") {
            p if p.is_file() => read_json::<SentenceBertConfig>(&p)?.max_seq_length.unwrap_or(positions),
            _ => positions,
        }
        .min(positions);
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| InferError::Model(format!("cannot read {}: {e}", tokenizer_path.display())))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length: max_tokens, ..Default::default() }))
            .map_err(|e| InferError::Model(format!("cannot set the tokenizer's truncation: {e}")))?;
        Ok(Embedder { net, tokenizer, pooling, normalize, max_tokens, dim, device })
    }

    /// The length of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest input in tokens; longer texts are truncated.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, InferError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| InferError::Prompt(format!("cannot tokenize: {e}")))?;
        Ok(encodings.into_iter().map(|e| e.get_ids().to_vec()).collect())
    }

    /// Embeds texts, sorted by length into batches of [`BATCH`] so that little
    /// padding is computed; vectors come back in the input's order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, InferError> {
        self.embed_cancellable(texts, &CancelToken::default())
    }

    /// [`Embedder::embed`], stopping between batches once `cancel` is set.
    pub fn embed_cancellable(&self, texts: &[&str], cancel: &CancelToken) -> Result<Vec<Vec<f32>>, InferError> {
        let ids = self.ids(texts)?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut out = vec![Vec::new(); ids.len()];
        for batch in order.chunks(BATCH) {
            if cancel.is_cancelled() {
                return Err(InferError::Cancelled);
            }
            let rows: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, v) in batch.iter().zip(self.forward(&rows)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward(&self, rows: &[&[u32]]) -> Result<Vec<Vec<f32>>, InferError> {
        let mut pooled = match &self.net {
            Net::Bert(net) => {
                let (hidden, offsets) = net.forward(rows)?;
                let h = self.dim;
                (0..rows.len())
                    .map(|t| {
                        let tokens = &hidden[offsets[t] * h..offsets[t + 1] * h];
                        match self.pooling {
                            Pooling::Cls => tokens[..h].to_vec(),
                            Pooling::Mean => {
                                let mut sum = vec![0f32; h];
                                for row in tokens.chunks_exact(h) {
                                    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                                }
                                let count = (tokens.len() / h).max(1) as f32;
                                sum.iter_mut().for_each(|s| *s /= count);
                                sum
                            }
                        }
                    })
                    .collect()
            }
            Net::Nomic(net) => self.forward_padded(net, rows)?,
        };
        if self.normalize {
            for v in &mut pooled {
                let norm = crate::vector::dot(v, v).sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
            }
        }
        Ok(pooled)
    }

    /// Candle's nomic-bert on a padded batch, pooled (not yet normalised).
    fn forward_padded(&self, net: &nomic_bert::NomicBertModel, rows: &[&[u32]]) -> Result<Vec<Vec<f32>>, InferError> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut input = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for row in rows {
            input.extend_from_slice(row);
            input.extend(std::iter::repeat_n(0u32, len - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let input = Tensor::from_vec(input, (rows.len(), len), &self.device)?;
            let mask = Tensor::from_vec(mask, (rows.len(), len), &self.device)?;
            let hidden = net.forward(&input, None, Some(&mask))?;
            let pooled = match self.pooling {
                Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
                Pooling::Mean => {
                    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
                    sum.broadcast_div(&count)?
                }
            };
            pooled.to_vec2::<f32>()
        };
        run().map_err(model_error)
    }
}

type Reply = mpsc::Sender<Result<Vec<Vec<f32>>, InferError>>;

struct Job {
    texts: Vec<String>,
    cancel: CancelToken,
    reply: Reply,
}

/// An embedding model on its own thread. Cloning shares the thread.
#[derive(Clone)]
pub struct EmbeddingEngine {
    jobs: mpsc::Sender<Job>,
    tokenizer: Arc<tokenizers::Tokenizer>,
    dim: usize,
    max_tokens: usize,
}

impl EmbeddingEngine {
    /// Loads the model on a new thread; load errors come back here.
    pub fn load(dir: &Path) -> Result<EmbeddingEngine, InferError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let path = dir.to_path_buf();
        std::thread::Builder::new()
            .name("familiar-embed".into())
            .spawn(move || {
                let embedder = match Embedder::load(&path) {
                    Ok(e) => {
                        // Callers size chunks with it: count every token, truncate nothing.
                        let mut counting = e.tokenizer.clone();
                        counting.with_truncation(None).ok();
                        let _ = ready_tx.send(Ok((counting, e.dim, e.max_tokens)));
                        e
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
                    let _ = job.reply.send(embedder.embed_cancellable(&texts, &job.cancel));
                }
            })
            .map_err(|e| InferError::Io(format!("cannot start the embedding thread: {e}")))?;
        let (tokenizer, dim, max_tokens) =
            ready_rx.recv().map_err(|_| InferError::Model("the embedding thread stopped while loading".into()))??;
        Ok(EmbeddingEngine { jobs, tokenizer: Arc::new(tokenizer), dim, max_tokens })
    }

    /// Embeds texts on the model's thread (blocking the caller).
    pub fn embed(&self, texts: Vec<String>, cancel: &CancelToken) -> Result<Vec<Vec<f32>>, InferError> {
        let (reply, rx) = mpsc::channel();
        self.jobs
            .send(Job { texts, cancel: cancel.clone(), reply })
            .map_err(|_| InferError::Model("the embedding thread has stopped".into()))?;
        rx.recv().map_err(|_| InferError::Model("the embedding thread has stopped".into()))?
    }

    /// The model's tokenizer, for sizing chunks in its own tokens.
    pub fn tokenizer(&self) -> &tokenizers::Tokenizer {
        &self.tokenizer
    }

    /// The length of every vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest input in tokens.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }
}
