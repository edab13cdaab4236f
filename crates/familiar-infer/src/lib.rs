//! Familiar's model runtime on candle: GGUF models of the llama, qwen2, qwen3,
//! gemma3 and phi3 families, tokenizers read from the GGUF itself, Hugging Face
//! chat templates, sampling, and an engine thread per loaded model.
//!
//! Architecture invariant: nothing here prints or blocks an async runtime; the
//! model runs on its own thread and talks through channels.

mod bert;
pub mod embed;
pub mod engine;
mod gemm;
mod gguf_check;
pub mod gpu;
pub mod llama;
pub mod model;
pub mod sampling;
pub mod template;
pub mod tokenizer;
pub mod vector;

pub use embed::{Embedder, EmbeddingEngine};
pub use engine::{CancelToken, Completion, Engine, EngineOptions, Event, GenerateRequest, StopReason};
pub use gpu::{GpuInfo, gpu_info, gpu_memory_needed};
pub use model::{Arch, ModelInfo};
pub use sampling::SamplingParams;
pub use template::{ChatTemplate, Message};
pub use tokenizer::Tokenizer;

/// Errors of the model runtime.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InferError {
    #[error("{0}")]
    Io(String),
    /// The model file is missing pieces, corrupt or truncated.
    #[error("{0}")]
    Model(String),
    #[error("unsupported {0}")]
    Unsupported(String),
    #[error("{0}")]
    Template(String),
    #[error("{0}")]
    Prompt(String),
    /// The caller cancelled the work.
    #[error("cancelled")]
    Cancelled,
}
