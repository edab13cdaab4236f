//! Model files of the cloned voice: a safetensors reader that checks each file's
//! header against its length before anything is read (a truncated or altered
//! file is refused with its name), then reads one tensor at a time on request,
//! so loading never holds a whole file and its tensors in memory together. No
//! memory mapping (the workspace forbids `unsafe`).
//!
//! Also the two other back ends the modules are built over: a recorder that
//! notes the name and shape of every tensor a module asks for (the tiny random
//! models are written from it), and the deterministic filler of those tensors.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

use super::CloneError;

/// Headers larger than this are refused (the real ones are a few tens of KiB).
const MAX_HEADER: u64 = 64 << 20;

struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    /// Byte range in the file.
    start: u64,
    len: u64,
}

/// A tensor that the model asked for and the file could not give.
#[derive(Debug, Clone)]
pub(crate) enum Problem {
    Missing(String),
    Shape { tensor: String, expected: Vec<usize>, found: Vec<usize> },
    Read(String),
}

/// One safetensors file, its header checked, its tensors read on request.
pub(crate) struct Safetensors {
    path: PathBuf,
    file: Mutex<File>,
    entries: HashMap<String, Entry>,
    /// The first tensor the model asked for and did not get, for a typed error.
    problem: Arc<Mutex<Option<Problem>>>,
}

impl Safetensors {
    /// Opens `path` and checks its header: JSON, known dtypes, byte ranges inside the file.
    pub(crate) fn open(path: &Path) -> Result<Safetensors, CloneError> {
        let name = path.display().to_string();
        let bad = |reason: String| CloneError::BadFile { file: name.clone(), reason };
        let mut file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CloneError::NotInstalled(name.clone())
            } else {
                bad(e.to_string())
            }
        })?;
        let file_len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let mut len_bytes = [0u8; 8];
        file.read_exact(&mut len_bytes).map_err(|_| bad("shorter than a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > MAX_HEADER || 8 + header_len > file_len {
            return Err(bad(format!("header length {header_len} does not fit in a {file_len}-byte file")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
        let header: serde_json::Value =
            serde_json::from_slice(&header).map_err(|e| bad(format!("the header is not JSON: {e}")))?;
        let object = header.as_object().ok_or_else(|| bad("the header is not a JSON object".into()))?;
        let data_start = 8 + header_len;
        let data_len = file_len - data_start;
        let mut entries = HashMap::new();
        for (tensor, info) in object {
            if tensor == "__metadata__" {
                continue;
            }
            let entry = parse_entry(info)
                .and_then(|(dtype, shape, begin, end)| {
                    if end < begin || end > data_len {
                        return Err(EntryError::OutOfBounds { begin, end, data_len });
                    }
                    let expected = shape.iter().try_fold(dtype.size_in_bytes() as u64, |n, &d| n.checked_mul(d as u64));
                    if expected != Some(end - begin) {
                        return Err(EntryError::Size { len: end - begin, dtype, shape });
                    }
                    Ok(Entry { dtype, shape, start: data_start + begin, len: end - begin })
                })
                .map_err(|reason| bad(format!("tensor {tensor}: {reason}")))?;
            entries.insert(tensor.clone(), entry);
        }
        Ok(Safetensors { path: path.to_path_buf(), file: Mutex::new(file), entries, problem: Arc::default() })
    }

    pub(crate) fn file_name(&self) -> String {
        self.path.display().to_string()
    }

    /// The shape of `tensor`, or a typed error naming the file.
    pub(crate) fn shape(&self, tensor: &str) -> Result<&[usize], CloneError> {
        self.entries
            .get(tensor)
            .map(|e| e.shape.as_slice())
            .ok_or_else(|| CloneError::MissingTensor { file: self.file_name(), tensor: tensor.to_owned() })
    }

    pub(crate) fn contains(&self, tensor: &str) -> bool {
        self.entries.contains_key(tensor)
    }

    /// How many numbered children `prefix.0`, `prefix.1`, … the file has.
    pub(crate) fn count(&self, prefix: &str) -> usize {
        (0..).take_while(|i| self.entries.keys().any(|k| k.starts_with(&format!("{prefix}.{i}.")))).count()
    }

    /// A `VarBuilder` over this file; `problem()` then tells what it could not give.
    pub(crate) fn var_builder(self: &Arc<Self>, device: &Device) -> candle_nn::VarBuilder<'static> {
        candle_nn::VarBuilder::from_backend(Box::new(Reader(self.clone())), DType::F32, device.clone())
    }

    /// Turns a failure to build a module over this file into a typed error.
    pub(crate) fn error(&self, context: &str, error: candle_core::Error) -> CloneError {
        let problem = self.problem.lock().ok().and_then(|mut p| p.take());
        let file = self.file_name();
        match problem {
            Some(Problem::Missing(tensor)) => CloneError::MissingTensor { file, tensor },
            Some(Problem::Shape { tensor, expected, found }) => {
                CloneError::WrongShape { file, tensor, expected, found }
            }
            Some(Problem::Read(reason)) => CloneError::BadFile { file, reason },
            None => CloneError::Model { context: format!("{context} ({file})"), source: error },
        }
    }

    fn note(&self, problem: Problem) -> candle_core::Error {
        let message = format!("{problem:?}");
        if let Ok(mut slot) = self.problem.lock() {
            slot.get_or_insert(problem);
        }
        candle_core::Error::Msg(message)
    }

    fn read(&self, name: &str, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
        let Some(entry) = self.entries.get(name) else {
            return Err(self.note(Problem::Missing(name.to_owned())));
        };
        let mut bytes = vec![0u8; entry.len as usize];
        let read = self.file.lock().map_err(|_| "poisoned".to_string()).and_then(|mut file| {
            file.seek(SeekFrom::Start(entry.start)).map_err(|e| e.to_string())?;
            file.read_exact(&mut bytes).map_err(|e| e.to_string())
        });
        if let Err(reason) = read {
            return Err(self.note(Problem::Read(format!("tensor {name}: {reason}"))));
        }
        Tensor::from_raw_buffer(&bytes, entry.dtype, &entry.shape, &Device::Cpu)?.to_dtype(dtype)?.to_device(device)
    }
}

/// What is wrong with one tensor's entry in a safetensors header.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    #[error("no {0}")]
    Missing(&'static str),
    #[error("dtype {0} is not a float type the model can use")]
    Dtype(String),
    #[error("data_offsets is not a pair")]
    Offsets,
    #[error("its bytes {begin}..{end} lie outside the {data_len} bytes of data (truncated file?)")]
    OutOfBounds { begin: u64, end: u64, data_len: u64 },
    #[error("{len} bytes do not hold a {dtype:?} tensor of shape {shape:?}")]
    Size { len: u64, dtype: DType, shape: Vec<usize> },
}

fn parse_entry(info: &serde_json::Value) -> Result<(DType, Vec<usize>, u64, u64), EntryError> {
    let dtype = match info.get("dtype").and_then(|d| d.as_str()) {
        Some("F32") => DType::F32,
        Some("F16") => DType::F16,
        Some("BF16") => DType::BF16,
        Some("F64") => DType::F64,
        Some(other) => return Err(EntryError::Dtype(other.to_owned())),
        None => return Err(EntryError::Missing("dtype")),
    };
    let shape = info
        .get("shape")
        .and_then(|s| s.as_array())
        .and_then(|s| s.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<Vec<_>>>())
        .ok_or(EntryError::Missing("shape"))?;
    let offsets = info
        .get("data_offsets")
        .and_then(|o| o.as_array())
        .and_then(|o| o.iter().map(|d| d.as_u64()).collect::<Option<Vec<_>>>())
        .ok_or(EntryError::Missing("data_offsets"))?;
    match offsets.as_slice() {
        [begin, end] => Ok((dtype, shape, *begin, *end)),
        _ => Err(EntryError::Offsets),
    }
}

struct Reader(Arc<Safetensors>);

impl SimpleBackend for Reader {
    fn get(&self, s: Shape, name: &str, _: candle_nn::Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        if let Some(entry) = self.0.entries.get(name)
            && entry.shape != s.dims()
        {
            return Err(self.0.note(Problem::Shape {
                tensor: name.to_owned(),
                expected: s.dims().to_vec(),
                found: entry.shape.clone(),
            }));
        }
        self.0.read(name, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.0.read(name, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

/// Notes the name and shape of every tensor asked for and hands out zeros:
/// building a module over it lists the module's tensors.
#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<BTreeMap<String, Vec<usize>>>>);

impl Recorder {
    pub(crate) fn var_builder(&self) -> candle_nn::VarBuilder<'static> {
        candle_nn::VarBuilder::from_backend(Box::new(self.clone()), DType::F32, Device::Cpu)
    }

    pub(crate) fn tensors(&self) -> BTreeMap<String, Vec<usize>> {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl SimpleBackend for Recorder {
    fn get(&self, s: Shape, name: &str, _: candle_nn::Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        if let Ok(mut tensors) = self.0.lock() {
            tensors.insert(name.to_owned(), s.dims().to_vec());
        }
        Tensor::zeros(s, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("the recorder cannot guess the shape of {name}")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// SplitMix64: the whole random source of the tiny models (simple enough to
/// write again in the parity script, so both sides make the same weights).
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), exactly representable (53 random bits).
    pub(crate) fn next_signed(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }
}

/// FNV-1a of a tensor's name: each tensor gets its own stream, whatever the order.
pub(crate) fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The values of one tensor of a tiny model: `center + scale * u`, u uniform in
/// [-1, 1). Norm gains sit around 1, weight-norm gains around 1, biases near 0,
/// embeddings and codebooks of unit scale, other weights scaled by 1/√fan-in.
pub(crate) fn fill(name: &str, shape: &[usize], seed: u64) -> Vec<f32> {
    let numel: usize = shape.iter().product();
    let (center, scale) = if name.ends_with("weight_g") {
        (1.0, 0.2)
    } else if shape.len() == 1 && name.ends_with("weight") {
        (1.0, 0.1)
    } else if shape.len() == 1 {
        (0.0, 0.1)
    } else if name.ends_with("embeddings.weight")
        || name.contains(".wtes.")
        || name.ends_with("wpe.weight")
        || name.ends_with("codebook.embed")
    {
        (0.0, 1.0)
    } else {
        let fan_in = numel / shape.first().copied().unwrap_or(1).max(1);
        (0.0, 1.0 / (fan_in.max(1) as f64).sqrt())
    };
    let mut rng = SplitMix64::new(seed ^ fnv1a(name));
    (0..numel).map(|_| (center + scale * rng.next_signed()) as f32).collect()
}

/// Writes the tensors `names` (name → shape) filled from `seed` as one safetensors file.
pub(crate) fn write_filled(path: &Path, tensors: &BTreeMap<String, Vec<usize>>, seed: u64) -> Result<(), CloneError> {
    let write_error = |e: candle_core::Error| CloneError::Write(path.display().to_string(), e.to_string());
    let mut out = HashMap::new();
    for (name, shape) in tensors {
        let values = fill(name, shape, seed);
        let tensor = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(write_error)?;
        out.insert(name.clone(), tensor);
    }
    candle_core::safetensors::save(&out, path).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_published_first_outputs() {
        // The reference sequence for seed 1234567 (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn the_fill_is_a_function_of_seed_and_name_only() {
        assert_eq!(fill("a.weight", &[3, 4], 7), fill("a.weight", &[3, 4], 7));
        assert_ne!(fill("a.weight", &[3, 4], 7), fill("b.weight", &[3, 4], 7));
        assert_ne!(fill("a.weight", &[3, 4], 7), fill("a.weight", &[3, 4], 8));
        assert!(fill("n.weight", &[16], 1).iter().all(|v| (0.9..=1.1).contains(v)));
    }
}
