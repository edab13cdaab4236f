//! Loading a GGUF model onto a device: the architecture is read from the
//! file's metadata, the weights checked against the file's size, and the
//! matching candle implementation chosen.

use std::fs::File;
use std::path::Path;

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_phi3;

use crate::llama::{DEQUANTIZE_BELOW, LlamaModel};

use crate::InferError;
use crate::template::ChatTemplate;
use crate::tokenizer::Tokenizer;

/// Architectures Familiar runs, as named in `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
    Phi3,
}

impl Arch {
    pub fn from_name(name: &str) -> Result<Arch, InferError> {
        Ok(match name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma3" => Arch::Gemma3,
            "phi3" => Arch::Phi3,
            other => {
                return Err(InferError::Unsupported(format!(
                    "model architecture `{other}` (supported: llama, qwen2, qwen3, gemma3, phi3)"
                )));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma3 => "gemma3",
            Arch::Phi3 => "phi3",
        }
    }
}

enum Weights {
    /// llama, qwen2, qwen3 and gemma3: Familiar's own implementation.
    Llama(LlamaModel),
    Phi3(quantized_phi3::ModelWeights),
}

/// What a model file says about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub arch: Arch,
    /// Tokens the model attends over, as this runtime supports it.
    pub context_length: usize,
    pub vocab_size: usize,
    /// Whether the chat template is the model's own (else ChatML).
    pub own_template: bool,
    pub file_bytes: u64,
    /// Where it runs: `cpu`, `cuda:0`, `metal:0`.
    pub device: String,
}

fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// A model loaded on a device, with its tokenizer and chat template.
pub struct Model {
    weights: Weights,
    device: Device,
    pub info: ModelInfo,
}

fn io_err(path: &Path, e: std::io::Error) -> InferError {
    InferError::Io(format!("could not read {}: {e}", path.display()))
}

/// Reads a GGUF file's header and metadata, checking that every tensor lies
/// inside the file (a truncated download fails here, not half-way through loading).
pub fn read_gguf(path: &Path) -> Result<(Content, u64), InferError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let size = file.metadata().map_err(|e| io_err(path, e))?.len();
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut file, &mut magic)
        .map_err(|_| InferError::Model(format!("{} is empty or too short to be a GGUF model", path.display())))?;
    if &magic != b"GGUF" {
        return Err(InferError::Model(format!("{} is not a GGUF model file", path.display())));
    }
    std::io::Seek::rewind(&mut file).map_err(|e| io_err(path, e))?;
    crate::gguf_check::check_header(std::io::BufReader::new(&mut file), size)?;
    std::io::Seek::rewind(&mut file).map_err(|e| io_err(path, e))?;
    let content = Content::read(&mut file)
        .map_err(|e| InferError::Model(format!("{} is corrupt or truncated: {e}", path.display())))?;
    for (name, info) in &content.tensor_infos {
        let bytes = info.shape.elem_count() / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
        let end = content.tensor_data_offset + info.offset + bytes as u64;
        if end > size {
            return Err(InferError::Model(format!(
                "{} is truncated: tensor `{name}` ends at byte {end} but the file has {size} bytes; download it again",
                path.display()
            )));
        }
    }
    Ok((content, size))
}

/// The tokenizer and chat template a GGUF file describes.
pub fn text_setup(content: &Content) -> Result<(Tokenizer, ChatTemplate), InferError> {
    let tokenizer = Tokenizer::from_gguf(content)?;
    let source = content.metadata.get("tokenizer.chat_template").and_then(|v| v.to_string().ok());
    let template = ChatTemplate::for_tokenizer(source.map(String::as_str), &tokenizer)?;
    Ok((tokenizer, template))
}

impl Model {
    /// Loads a model: a GGUF file, or a folder with Hugging Face safetensors
    /// weights (`config.json`, `*.safetensors`, `tokenizer.json`).
    pub fn load(path: &Path, device: &Device) -> Result<(Model, Tokenizer, ChatTemplate), InferError> {
        if path.is_dir() { Model::load_safetensors(path, device) } else { Model::load_gguf(path, device) }
    }

    /// Loads a llama or qwen2 model from a Hugging Face folder.
    pub fn load_safetensors(dir: &Path, device: &Device) -> Result<(Model, Tokenizer, ChatTemplate), InferError> {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| io_err(&dir.join(name), e));
        let config_text = read("config.json")?;
        let config: crate::llama::HfConfig =
            serde_json::from_str(&config_text).map_err(|e| InferError::Model(format!("config.json: {e}")))?;
        let arch = match config.model_type.as_str() {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            other => {
                return Err(InferError::Unsupported(format!(
                    "safetensors model type `{other}` (supported: llama, qwen2; other families load from GGUF)"
                )));
            }
        };
        let tokenizer_config = read("tokenizer_config.json").ok();
        let tokenizer = Tokenizer::from_hf_json(&read("tokenizer.json")?, tokenizer_config.as_deref())?;
        let template_source = tokenizer_config
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
            .and_then(|c| c["chat_template"].as_str().map(str::to_owned));
        let template = ChatTemplate::for_tokenizer(template_source.as_deref(), &tokenizer)?;
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(InferError::Model(format!("{} has no .safetensors weights", dir.display())));
        }
        let mut tensors = std::collections::HashMap::new();
        let mut file_bytes = 0;
        for file in &files {
            file_bytes += std::fs::metadata(file).map_err(|e| io_err(file, e))?.len();
            let loaded = candle_core::safetensors::load(file, device)
                .map_err(|e| InferError::Model(format!("{} is corrupt or truncated: {e}", file.display())))?;
            tensors.extend(loaded);
        }
        let weights = LlamaModel::from_safetensors(&config, &tensors, device)
            .map_err(|e| InferError::Model(format!("could not load {}: {e}", dir.display())))?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let info = ModelInfo {
            name,
            arch,
            context_length: weights.max_positions,
            vocab_size: tokenizer.vocab_size(),
            own_template: template.from_model,
            file_bytes,
            device: device_name(device),
        };
        Ok((Model { weights: Weights::Llama(weights), device: device.clone(), info }, tokenizer, template))
    }

    /// Loads a GGUF model. Returns the model with its tokenizer and template.
    pub fn load_gguf(path: &Path, device: &Device) -> Result<(Model, Tokenizer, ChatTemplate), InferError> {
        let (content, file_bytes) = read_gguf(path)?;
        let arch_name = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .ok_or_else(|| InferError::Model("the model file does not name its architecture".into()))?;
        let arch = Arch::from_name(&arch_name)?;
        let (tokenizer, template) = text_setup(&content)?;
        let name = content
            .metadata
            .get("general.name")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        let declared =
            content.metadata.get(&format!("{arch_name}.context_length")).and_then(|v| v.to_u32().ok()).unwrap_or(2048)
                as usize;
        let context_length = match arch {
            // Rotary tables are precomputed up to this many positions.
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Gemma3 => declared.min(32_768),
            _ => declared,
        };
        let mut file = File::open(path).map_err(|e| io_err(path, e))?;
        let load = |e: candle_core::Error| InferError::Model(format!("could not load {}: {e}", path.display()));
        let weights = match arch {
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Gemma3 => Weights::Llama(
                LlamaModel::from_gguf(&content, &mut file, device, device.is_cpu() && file_bytes < DEQUANTIZE_BELOW)
                    .map_err(load)?,
            ),
            Arch::Phi3 => {
                Weights::Phi3(quantized_phi3::ModelWeights::from_gguf(false, content, &mut file, device).map_err(load)?)
            }
        };
        let info = ModelInfo {
            name,
            arch,
            context_length,
            vocab_size: tokenizer.vocab_size(),
            own_template: template.from_model,
            file_bytes,
            device: device_name(device),
        };
        Ok((Model { weights, device: device.clone(), info }, tokenizer, template))
    }

    /// Runs `tokens` at positions `pos..`, returning the logits after the last one.
    /// Position 0 starts a fresh sequence (the KV cache is dropped).
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>, InferError> {
        // Both models start a fresh sequence at position 0: ours cuts its cache
        // back to `pos`, candle's phi3 resets at 0.
        let mut run = || -> candle_core::Result<Vec<f32>> {
            let input = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
            let logits = match &mut self.weights {
                Weights::Llama(m) => m.forward(&input, pos)?,
                Weights::Phi3(m) => m.forward(&input, pos)?,
            };
            logits.squeeze(0)?.to_dtype(candle_core::DType::F32)?.to_vec1()
        };
        run().map_err(|e| InferError::Model(format!("inference failed: {e}")))
    }

    /// Chooses between the plain-Rust decode step (the default where it
    /// applies) and the tensor path for single tokens; tests compare the two.
    pub fn set_fast_decode(&mut self, on: bool) {
        if let Weights::Llama(m) = &mut self.weights {
            m.fast_decode = on && m.fast_decode_ready();
        }
    }

    /// Whether the KV cache can be cut back to a shorter prefix (else a
    /// prompt that does not extend the cache starts over).
    pub fn can_truncate(&self) -> bool {
        matches!(self.weights, Weights::Llama(_))
    }
}
