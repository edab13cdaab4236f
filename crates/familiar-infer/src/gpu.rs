//! The GPU a model would run on and its memory, and what a model needs of it:
//! the VRAM half of the fit check made before loading.
//!
//! Only the `cuda` backend can report its memory; a Metal GPU shares the
//! machine's memory, which the RAM check already covers.

use std::path::Path;

use serde::Serialize;

use crate::InferError;
use crate::model::read_gguf;

/// A GPU and its memory now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
    /// The backend the build runs models with: `cuda`.
    pub backend: String,
    /// The device's own name, e.g. "NVIDIA GeForce RTX 4090".
    pub name: String,
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// The GPU models would run on: `None` when the build has no CUDA backend,
/// the machine has no CUDA device, or its driver does not answer.
pub fn gpu_info() -> Option<GpuInfo> {
    #[cfg(feature = "cuda")]
    {
        use candle_core::cuda_backend::cudarc::driver::CudaContext;
        let ctx = CudaContext::new(0).ok()?;
        let (free, total) = ctx.mem_get_info().ok()?;
        Some(GpuInfo {
            backend: "cuda".into(),
            name: ctx.name().ok()?,
            total_bytes: total as u64,
            free_bytes: free as u64,
        })
    }
    #[cfg(not(feature = "cuda"))]
    None
}

/// Bytes beyond weights and cache: cuBLAS's workspace, activations of a
/// 512-token prefill chunk, and the CUDA context's own share.
const GPU_OVERHEAD: u64 = 384 << 20;

/// What a GGUF model takes of a GPU's memory when loaded: its weights as
/// stored (they stay quantized on a GPU), the token embedding as f32 (looked
/// up on the device), and a full-context f32 KV cache.
pub fn gpu_memory_needed(path: &Path) -> Result<u64, InferError> {
    let (content, file_bytes) = read_gguf(path)?;
    let arch =
        content.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    let md = |key: &str| content.metadata.get(&format!("{arch}.{key}")).and_then(|v| v.to_u32().ok()).map(u64::from);
    let embedding = content.tensor_infos.get("token_embd.weight").map_or(0, |t| t.shape.elem_count() as u64 * 4);
    let dim = md("embedding_length").unwrap_or(0);
    let heads = md("attention.head_count").unwrap_or(1).max(1);
    let kv_heads = md("attention.head_count_kv").unwrap_or(heads);
    let head_dim = md("attention.key_length").unwrap_or(dim / heads);
    let positions = md("context_length").unwrap_or(4096).min(32_768);
    let kv_cache = md("block_count").unwrap_or(0) * 2 * kv_heads * head_dim * 4 * positions;
    Ok(file_bytes + embedding + kv_cache + GPU_OVERHEAD)
}
