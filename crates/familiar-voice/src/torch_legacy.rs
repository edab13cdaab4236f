//! A reader of PyTorch's legacy (pre-1.6, non-zip) `torch.save` format, which
//! candle's pickle reader does not handle. The file is five pieces in a row:
//! a pickled magic number, a pickled protocol version (1001), a pickled dict of
//! system information (endianness, type sizes), the pickled object itself — in
//! which each tensor is `_rebuild_tensor_v2(storage, offset, size, stride, …)`
//! and each storage a persistent id `('storage', torch.FloatStorage, key,
//! location, numel, view)` — then a pickled list of storage keys, and finally
//! each listed storage as a little-endian i64 element count and its raw bytes.
//!
//! The input is untrusted. The pickle machine runs no code (a global is only a
//! name; calling one it does not know gives an opaque value), every length is
//! checked against the bytes that remain before anything is read, containers
//! live in one arena so the memo shares them instead of copying (memory stays
//! proportional to the file), and a tensor may not hold more elements than its
//! storage. Every malformed file is a typed error, never a panic.

use std::collections::HashMap;
use std::rc::Rc;

/// `torch.serialization.MAGIC_NUMBER`.
const MAGIC_NUMBER: i128 = 0x1950_a86a_20f9_469c_fc6c;
/// `torch.serialization.PROTOCOL_VERSION`.
const PROTOCOL_VERSION: i128 = 1001;

#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    #[error("the checkpoint ends early, while reading {what} at byte {offset}: the file is incomplete, fetch it again")]
    Truncated { what: &'static str, offset: usize },
    #[error(
        "this is a zip torch checkpoint, not the legacy format this reader handles: load it with candle's pickle reader"
    )]
    ZipCheckpoint,
    #[error("not a legacy torch checkpoint: it does not start with torch's magic number")]
    NotTorch,
    #[error("unsupported torch checkpoint protocol {0} (only 1001 is known)")]
    Protocol(String),
    #[error("the checkpoint's system information is not supported: {0}")]
    SystemInfo(String),
    #[error("malformed pickle at byte {offset}: {message}")]
    Pickle { offset: usize, message: String },
    #[error("storage {key}: {message}")]
    Storage { key: String, message: String },
    #[error("tensor {name}: {message}")]
    Tensor { name: String, message: String },
    #[error("the checkpoint has no dictionary at {0}")]
    NoDict(String),
}

/// The element types of torch storages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F64,
    F32,
    F16,
    Bf16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Dtype {
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::Bf16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    /// The storage class `torch.<name>` stands for.
    fn from_storage_class(name: &str) -> Option<Dtype> {
        Some(match name {
            "DoubleStorage" => Dtype::F64,
            "FloatStorage" => Dtype::F32,
            "HalfStorage" => Dtype::F16,
            "BFloat16Storage" => Dtype::Bf16,
            "LongStorage" => Dtype::I64,
            "IntStorage" => Dtype::I32,
            "ShortStorage" => Dtype::I16,
            "CharStorage" => Dtype::I8,
            "ByteStorage" | "UntypedStorage" => Dtype::U8,
            "BoolStorage" => Dtype::Bool,
            _ => return None,
        })
    }
}

/// A tensor read out of a checkpoint: contiguous, row-major, little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl RawTensor {
    /// The values of an f32 tensor, or `None` for any other type.
    pub fn f32s(&self) -> Option<Vec<f32>> {
        (self.dtype == Dtype::F32)
            .then(|| self.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

/// A parsed checkpoint; tensors are materialised on request.
pub struct Checkpoint<'a> {
    root: Value,
    objects: Vec<Container>,
    /// Each storage's bytes inside the file, by key.
    storages: HashMap<Rc<str>, &'a [u8]>,
}

impl Checkpoint<'_> {
    /// The tensors of the dictionary reached from the root object through `path`
    /// (keys of nested dictionaries; empty for the root itself), in file order.
    /// Entries that are not tensors (counters, nested settings) are left out.
    pub fn state_dict(&self, path: &[&str]) -> Result<Vec<(String, RawTensor)>, TorchError> {
        let no_dict = || TorchError::NoDict(if path.is_empty() { "the root".into() } else { path.join(".") });
        let mut at = &self.root;
        for key in path {
            at = self.dict_get(at, key).ok_or_else(no_dict)?;
        }
        let Value::Object(id) = at else { return Err(no_dict()) };
        let Some(Container::Dict(entries)) = self.objects.get(*id) else { return Err(no_dict()) };
        let mut out: Vec<(String, RawTensor)> = Vec::new();
        for (key, value) in entries {
            if let (Value::Str(name), Value::Tensor(t)) = (key, value) {
                let tensor = self.materialise(name, t)?;
                // A later entry with the same key replaces an earlier one, as in Python.
                out.retain(|(n, _)| **n != **name);
                out.push((name.to_string(), tensor));
            }
        }
        Ok(out)
    }

    fn dict_get<'v>(&'v self, dict: &'v Value, key: &str) -> Option<&'v Value> {
        let Value::Object(id) = dict else { return None };
        let Some(Container::Dict(entries)) = self.objects.get(*id) else { return None };
        entries.iter().rev().find(|(k, _)| matches!(k, Value::Str(s) if &**s == key)).map(|(_, v)| v)
    }

    fn materialise(&self, name: &str, t: &TensorRef) -> Result<RawTensor, TorchError> {
        let err = |message: String| TorchError::Tensor { name: name.to_owned(), message };
        let bytes = self
            .storages
            .get(&t.storage.key)
            .ok_or_else(|| err(format!("its storage {} is not in the file", t.storage.key)))?;
        let size = t.storage.dtype.size();
        let numel = t.numel;
        // Bounds were checked when the tensor was built, so these products cannot overflow.
        if t.stride == row_major(&t.shape) {
            let from = t.offset * size;
            let data = bytes.get(from..from + numel * size).ok_or_else(|| err("reaches past its storage".into()))?;
            return Ok(RawTensor { dtype: t.storage.dtype, shape: t.shape.clone(), data: data.to_vec() });
        }
        // Bounded by the storage's bytes, which are in the file.
        let mut data = Vec::with_capacity((numel * size).min(bytes.len()));
        // Walk the strided index in row-major order.
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..numel {
            let element = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
            let from = element * size;
            let chunk = bytes.get(from..from + size).ok_or_else(|| err("reaches past its storage".into()))?;
            data.extend_from_slice(chunk);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(RawTensor { dtype: t.storage.dtype, shape: t.shape.clone(), data })
    }
}

/// The strides of a contiguous tensor of this shape.
fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut stride = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        stride[d] = stride[d + 1] * shape[d + 1];
    }
    stride
}

/// Parses a legacy torch checkpoint held in memory (bytes after the last storage are ignored, as torch does).
pub fn read(bytes: &[u8]) -> Result<Checkpoint<'_>, TorchError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(TorchError::ZipCheckpoint);
    }
    if !bytes.starts_with(b"\x80") {
        return Err(TorchError::NotTorch);
    }
    let mut pos = 0;
    let (magic, _) = unpickle(bytes, &mut pos)?;
    if !matches!(magic, Value::Int(MAGIC_NUMBER)) {
        return Err(TorchError::NotTorch);
    }
    let (protocol, _) = unpickle(bytes, &mut pos)?;
    match protocol {
        Value::Int(PROTOCOL_VERSION) => {}
        Value::Int(other) => return Err(TorchError::Protocol(other.to_string())),
        _ => return Err(TorchError::Protocol("that is not a number".into())),
    }
    let (info, info_objects) = unpickle(bytes, &mut pos)?;
    check_system_info(&info, &info_objects)?;

    let mut referenced = HashMap::new();
    let (root, objects) = unpickle_with(bytes, &mut pos, &mut referenced)?;

    let keys_start = pos;
    let (keys, key_objects) = unpickle(bytes, &mut pos)?;
    let malformed_keys =
        || TorchError::Pickle { offset: keys_start, message: "the storage keys are not a list of strings".into() };
    let Value::Object(id) = keys else { return Err(malformed_keys()) };
    let Some(Container::List(keys)) = key_objects.get(id) else { return Err(malformed_keys()) };

    let mut storages = HashMap::new();
    for key in keys {
        let Value::Str(key) = key else { return Err(malformed_keys()) };
        let storage_err = |message: String| TorchError::Storage { key: key.to_string(), message };
        let reference = referenced
            .get(key)
            .ok_or_else(|| storage_err("it is listed but no tensor of the checkpoint uses it".into()))?;
        let count = take(bytes, &mut pos, 8, "a storage's element count")?;
        let count = i64::from_le_bytes(count.try_into().map_err(|_| storage_err("bad count".into()))?);
        if count < 0 || count as u64 != reference.numel as u64 {
            return Err(storage_err(format!(
                "the file holds {count} elements where the checkpoint announced {}",
                reference.numel
            )));
        }
        let length = reference
            .numel
            .checked_mul(reference.dtype.size())
            .ok_or_else(|| storage_err(format!("{} elements is not a real size", reference.numel)))?;
        let data = take(bytes, &mut pos, length, "a storage's bytes")?;
        storages.insert(key.clone(), data);
    }
    // A tensor whose storage was never written cannot be read; say so when it is asked for.
    Ok(Checkpoint { root, objects, storages })
}

fn check_system_info(info: &Value, objects: &[Container]) -> Result<(), TorchError> {
    let Value::Object(id) = info else { return Err(TorchError::SystemInfo("it is not a dictionary".into())) };
    let Some(Container::Dict(entries)) = objects.get(*id) else {
        return Err(TorchError::SystemInfo("it is not a dictionary".into()));
    };
    let get = |key: &str| entries.iter().rev().find(|(k, _)| matches!(k, Value::Str(s) if &**s == key)).map(|(_, v)| v);
    if let Some(v) = get("little_endian")
        && !matches!(v, Value::Bool(true))
    {
        return Err(TorchError::SystemInfo("it was written big-endian".into()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The pickle machine.

#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i128),
    Str(Rc<str>),
    /// `module.name`, never resolved to code.
    Global(Rc<str>, Rc<str>),
    /// A list, tuple or dict in the arena.
    Object(usize),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
    /// Anything this reader does not model: floats, byte strings, integers wider than 128 bits,
    /// the result of calling an unknown global.
    Opaque,
}

#[derive(Debug)]
enum Container {
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

#[derive(Debug)]
struct StorageRef {
    key: Rc<str>,
    dtype: Dtype,
    /// Elements of the whole (root) storage.
    numel: usize,
    /// Where a view starts inside the root storage, in elements.
    view_offset: usize,
    /// Elements visible through this reference (the view's size, or the whole storage).
    view_numel: usize,
}

#[derive(Debug)]
struct TensorRef {
    storage: Rc<StorageRef>,
    /// In elements, from the start of the root storage.
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
    numel: usize,
}

struct Machine<'b, 's> {
    bytes: &'b [u8],
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objects: Vec<Container>,
    /// Every storage named so far, by key.
    storages: &'s mut HashMap<Rc<str>, Rc<StorageRef>>,
    /// Where the current opcode started, for messages.
    at: usize,
}

fn take<'b>(bytes: &'b [u8], pos: &mut usize, n: usize, what: &'static str) -> Result<&'b [u8], TorchError> {
    let end =
        pos.checked_add(n).filter(|&end| end <= bytes.len()).ok_or(TorchError::Truncated { what, offset: *pos })?;
    let out = &bytes[*pos..end];
    *pos = end;
    Ok(out)
}

/// Runs one pickle from `pos` to its STOP; returns the value and the arena its containers live in.
fn unpickle(bytes: &[u8], pos: &mut usize) -> Result<(Value, Vec<Container>), TorchError> {
    unpickle_with(bytes, pos, &mut HashMap::new())
}

/// The same, recording every storage a persistent id names in `storages`.
fn unpickle_with(
    bytes: &[u8],
    pos: &mut usize,
    storages: &mut HashMap<Rc<str>, Rc<StorageRef>>,
) -> Result<(Value, Vec<Container>), TorchError> {
    let mut m = Machine {
        bytes,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        objects: Vec::new(),
        storages,
        at: 0,
    };
    loop {
        m.at = *pos;
        let op = take(bytes, pos, 1, "a pickle opcode")?[0];
        if op == b'.' {
            let value = m.pop()?;
            return Ok((value, m.objects));
        }
        m.step(op, pos)?;
    }
}

impl<'b> Machine<'b, '_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, TorchError> {
        Err(TorchError::Pickle { offset: self.at, message: message.into() })
    }

    fn pop(&mut self) -> Result<Value, TorchError> {
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.fail("the stack is empty"),
        }
    }

    /// The values pushed since the last MARK, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, TorchError> {
        let Some(mark) = self.marks.pop() else { return self.fail("no MARK to return to") };
        if mark > self.stack.len() {
            return self.fail("the stack was popped below a MARK");
        }
        Ok(self.stack.split_off(mark))
    }

    fn new_object(&mut self, container: Container) -> Value {
        self.objects.push(container);
        Value::Object(self.objects.len() - 1)
    }

    fn read(&self, pos: &mut usize, n: usize) -> Result<&'b [u8], TorchError> {
        take(self.bytes, pos, n, "a pickle argument")
    }

    fn uint(&self, pos: &mut usize, n: usize) -> Result<u64, TorchError> {
        let b = self.read(pos, n)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    fn line(&self, pos: &mut usize) -> Result<Rc<str>, TorchError> {
        let rest = self.bytes.get(*pos..).unwrap_or_default();
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(TorchError::Truncated { what: "a GLOBAL name", offset: *pos });
        };
        let text = std::str::from_utf8(&rest[..n])
            .map_err(|_| TorchError::Pickle { offset: self.at, message: "a GLOBAL name is not UTF-8".into() })?;
        *pos += n + 1;
        Ok(text.into())
    }

    fn text(&self, bytes: &[u8]) -> Result<Value, TorchError> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::Str(s.into())),
            Err(_) => self.fail("a string is not UTF-8"),
        }
    }

    fn step(&mut self, op: u8, pos: &mut usize) -> Result<(), TorchError> {
        match op {
            // PROTO, FRAME: nothing to do.
            0x80 => {
                self.read(pos, 1)?;
            }
            0x95 => {
                self.read(pos, 8)?;
            }
            b'(' => self.marks.push(self.stack.len()),
            b'}' => {
                let v = self.new_object(Container::Dict(Vec::new()));
                self.stack.push(v);
            }
            b']' => {
                let v = self.new_object(Container::List(Vec::new()));
                self.stack.push(v);
            }
            b')' => {
                let v = self.new_object(Container::Tuple(Vec::new()));
                self.stack.push(v);
            }
            // EMPTY_SET: kept as a list.
            0x8f => {
                let v = self.new_object(Container::List(Vec::new()));
                self.stack.push(v);
            }
            b't' | b'l' | 0x91 => {
                let items = self.pop_mark()?;
                let container = if op == b't' { Container::Tuple(items) } else { Container::List(items) };
                let v = self.new_object(container);
                self.stack.push(v);
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return self.fail("the stack is too short for a tuple");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                let v = self.new_object(Container::Tuple(items));
                self.stack.push(v);
            }
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                let v = self.new_object(Container::Dict(pairs));
                self.stack.push(v);
            }
            b'a' => {
                let item = self.pop()?;
                self.extend(vec![item])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.extend(items)?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![(key, value)])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.set_items(pairs)?;
            }
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'J' => {
                let b = self.read(pos, 4)?;
                self.stack.push(Value::Int(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i128));
            }
            b'K' => {
                let v = self.uint(pos, 1)?;
                self.stack.push(Value::Int(v as i128));
            }
            b'M' => {
                let v = self.uint(pos, 2)?;
                self.stack.push(Value::Int(v as i128));
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a { self.uint(pos, 1)? } else { self.uint(pos, 4)? };
                let b = self.read(pos, usize::try_from(n).unwrap_or(usize::MAX))?;
                self.stack.push(long(b));
            }
            // BINFLOAT: no float is needed to find tensors.
            b'G' => {
                self.read(pos, 8)?;
                self.stack.push(Value::Opaque);
            }
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    0x8c => self.uint(pos, 1)?,
                    b'X' => self.uint(pos, 4)?,
                    _ => self.uint(pos, 8)?,
                };
                let b = self.read(pos, usize::try_from(n).unwrap_or(usize::MAX))?;
                let v = self.text(b)?;
                self.stack.push(v);
            }
            // Byte strings: Python 2's BINSTRING / SHORT_BINSTRING are read as text (torch.load
            // decodes them as UTF-8); BINBYTES* are not needed.
            b'B' | b'C' | 0x8e | b'T' | b'U' => {
                let n = match op {
                    b'C' | b'U' => self.uint(pos, 1)?,
                    b'B' | b'T' => self.uint(pos, 4)?,
                    _ => self.uint(pos, 8)?,
                };
                let b = self.read(pos, usize::try_from(n).unwrap_or(usize::MAX))?;
                let text = matches!(op, b'T' | b'U').then(|| std::str::from_utf8(b).ok()).flatten();
                self.stack.push(text.map_or(Value::Opaque, |s| Value::Str(s.into())));
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => self.uint(pos, 1)? as u32,
                    b'r' => self.uint(pos, 4)? as u32,
                    _ => self.memo.len() as u32,
                };
                let Some(top) = self.stack.last() else { return self.fail("nothing to memoize") };
                self.memo.insert(key, top.clone());
            }
            b'h' | b'j' => {
                let key = if op == b'h' { self.uint(pos, 1)? } else { self.uint(pos, 4)? } as u32;
                let Some(v) = self.memo.get(&key) else { return self.fail(format!("memo entry {key} was never set")) };
                self.stack.push(v.clone());
            }
            b'c' => {
                let module = self.line(pos)?;
                let name = self.line(pos)?;
                self.stack.push(Value::Global(module, name));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return self.fail("STACK_GLOBAL needs two strings");
                };
                self.stack.push(Value::Global(module, name));
            }
            b'R' => {
                let args = self.pop()?;
                let func = self.pop()?;
                let v = self.call(&func, &args)?;
                self.stack.push(v);
            }
            // BUILD sets an object's state (an OrderedDict's `_metadata`, say): the object is kept as it is.
            b'b' => {
                self.pop()?;
                if self.stack.is_empty() {
                    return self.fail("BUILD with nothing to build");
                }
            }
            // NEWOBJ, NEWOBJ_EX: an instance of a class this reader does not model.
            0x81 => {
                self.pop()?;
                self.pop()?;
                self.stack.push(Value::Opaque);
            }
            0x92 => {
                self.pop()?;
                self.pop()?;
                self.pop()?;
                self.stack.push(Value::Opaque);
            }
            b'Q' => {
                let pid = self.pop()?;
                let v = self.persistent(&pid)?;
                self.stack.push(v);
            }
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let Some(top) = self.stack.last().cloned() else { return self.fail("nothing to duplicate") };
                self.stack.push(top);
            }
            other => return self.fail(format!("unsupported opcode 0x{other:02x}")),
        }
        Ok(())
    }

    fn pairs(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>, TorchError> {
        if !items.len().is_multiple_of(2) {
            return self.fail("a dictionary needs key/value pairs");
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        Ok(pairs)
    }

    fn extend(&mut self, items: Vec<Value>) -> Result<(), TorchError> {
        match self.stack.last() {
            Some(Value::Object(id)) => match self.objects.get_mut(*id) {
                Some(Container::List(list)) => {
                    list.extend(items);
                    Ok(())
                }
                _ => self.fail("APPEND to something that is not a list"),
            },
            Some(Value::Opaque) => Ok(()),
            _ => self.fail("APPEND to something that is not a list"),
        }
    }

    fn set_items(&mut self, pairs: Vec<(Value, Value)>) -> Result<(), TorchError> {
        match self.stack.last() {
            Some(Value::Object(id)) => match self.objects.get_mut(*id) {
                Some(Container::Dict(dict)) => {
                    dict.extend(pairs);
                    Ok(())
                }
                _ => self.fail("SETITEM on something that is not a dictionary"),
            },
            Some(Value::Opaque) => Ok(()),
            _ => self.fail("SETITEM on something that is not a dictionary"),
        }
    }

    fn tuple(&self, v: &Value) -> Option<&[Value]> {
        match v {
            Value::Object(id) => match self.objects.get(*id) {
                Some(Container::Tuple(items)) => Some(items),
                _ => None,
            },
            _ => None,
        }
    }

    fn usize_of(&self, v: &Value, what: &str) -> Result<usize, TorchError> {
        match v {
            Value::Int(i) => match usize::try_from(*i) {
                Ok(n) => Ok(n),
                Err(_) => self.fail(format!("{what} is {i}, which is not a size")),
            },
            _ => self.fail(format!("{what} is not an integer")),
        }
    }

    /// `persistent_load`: only torch storages are known.
    fn persistent(&mut self, pid: &Value) -> Result<Value, TorchError> {
        let Some(fields) = self.tuple(pid) else { return self.fail("a persistent id is not a tuple") };
        let [Value::Str(kind), Value::Global(_, class), Value::Str(key), _location, numel, view] = fields else {
            return self.fail("a persistent id is not ('storage', type, key, location, size, view)");
        };
        if &**kind != "storage" {
            return self.fail(format!("unknown persistent id kind {kind:?}"));
        }
        let key = key.clone();
        let Some(dtype) = Dtype::from_storage_class(class) else {
            return self.fail(format!("unknown storage type {class}"));
        };
        let numel = self.usize_of(numel, "a storage size")?;
        let (view_offset, view_numel) = match view {
            Value::None => (0, numel),
            other => {
                let Some([_view_key, offset, size]) = self.tuple(other) else {
                    return self.fail("a storage view is not (key, offset, size)");
                };
                let (offset, size) = (self.usize_of(offset, "a view offset")?, self.usize_of(size, "a view size")?);
                if offset.checked_add(size).is_none_or(|end| end > numel) {
                    return self
                        .fail(format!("a view of {size} elements at {offset} does not fit a storage of {numel}"));
                }
                (offset, size)
            }
        };
        // Every reference to one storage must agree on what it holds, as torch's own writer guarantees.
        if let Some(known) = self.storages.get(&key)
            && (known.dtype != dtype || known.numel != numel)
        {
            return self.fail(format!("storage {key} is announced twice with different types or sizes"));
        }
        let storage = Rc::new(StorageRef { key: key.clone(), dtype, numel, view_offset, view_numel });
        self.storages.insert(key.clone(), storage.clone());
        Ok(Value::Storage(storage))
    }

    /// REDUCE: the few callables torch checkpoints use; anything else gives an opaque value.
    fn call(&mut self, func: &Value, args: &Value) -> Result<Value, TorchError> {
        let Value::Global(module, name) = func else { return Ok(Value::Opaque) };
        let Some(args) = self.tuple(args) else { return self.fail("REDUCE arguments are not a tuple") };
        match (&**module, &**name) {
            ("collections", "OrderedDict") if args.is_empty() => Ok(self.new_object(Container::Dict(Vec::new()))),
            ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
                let [storage, offset, size, stride, ..] = args else {
                    return self.fail("_rebuild_tensor needs (storage, offset, size, stride, …)");
                };
                let tensor = self.tensor(storage, offset, size, stride)?;
                Ok(Value::Tensor(Rc::new(tensor)))
            }
            ("torch._utils", "_rebuild_parameter") => match args.first() {
                Some(t @ Value::Tensor(_)) => Ok(t.clone()),
                _ => self.fail("_rebuild_parameter without a tensor"),
            },
            _ => Ok(Value::Opaque),
        }
    }

    fn tensor(&self, storage: &Value, offset: &Value, size: &Value, stride: &Value) -> Result<TensorRef, TorchError> {
        let Value::Storage(storage) = storage else { return self.fail("a tensor without a storage") };
        let offset = self.usize_of(offset, "a tensor offset")?;
        let dims = |v: &Value, what: &str| -> Result<Vec<usize>, TorchError> {
            let Some(items) = self.tuple(v) else { return self.fail(format!("a tensor {what} is not a tuple")) };
            items.iter().map(|i| self.usize_of(i, what)).collect()
        };
        let (shape, stride) = (dims(size, "size")?, dims(stride, "stride")?);
        if shape.len() != stride.len() {
            return self.fail("a tensor's size and stride differ in length");
        }
        let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let Some(numel) = numel else { return self.fail("a tensor's size overflows") };
        // The furthest element it reaches must lie inside the storage (or its view).
        if numel > 0 {
            let last = shape
                .iter()
                .zip(&stride)
                .try_fold(offset, |acc, (&d, &s)| (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x)));
            if last.is_none_or(|last| last >= storage.view_numel) {
                return self.fail(format!(
                    "a tensor of shape {shape:?} at offset {offset} reaches past its storage of {} elements",
                    storage.view_numel
                ));
            }
        }
        if numel > storage.view_numel {
            return self.fail("a tensor holds more elements than its storage (an expanded view): not supported");
        }
        Ok(TensorRef { storage: storage.clone(), offset: storage.view_offset + offset, shape, stride, numel })
    }
}

/// LONG1/LONG4: little-endian two's complement; integers wider than 128 bits are opaque.
fn long(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() > 16 {
        return Value::Opaque;
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let mut a = if negative { [0xffu8; 16] } else { [0u8; 16] };
    a[..b.len()].copy_from_slice(b);
    Value::Int(i128::from_le_bytes(a))
}

/// Writes legacy checkpoints the way `torch.save(..., _use_new_zipfile_serialization=False)`
/// does (protocol 2), with every size and offset open to tampering, for tests.
#[cfg(test)]
pub(crate) mod fake {
    /// One f32 tensor with its own storage.
    pub(crate) struct FakeTensor {
        pub name: String,
        pub shape: Vec<usize>,
        pub stride: Vec<usize>,
        pub offset: usize,
        /// The storage's contents.
        pub values: Vec<f32>,
        /// The element count the persistent id announces.
        pub announced: u64,
        /// The element count written before the storage's bytes.
        pub written: i64,
        pub storage_class: &'static str,
    }

    impl FakeTensor {
        pub(crate) fn new(name: &str, shape: &[usize], values: Vec<f32>) -> FakeTensor {
            let n = values.len();
            FakeTensor {
                name: name.into(),
                shape: shape.to_vec(),
                stride: super::row_major(shape),
                offset: 0,
                values,
                announced: n as u64,
                written: n as i64,
                storage_class: "FloatStorage",
            }
        }
    }

    fn text(out: &mut Vec<u8>, s: &str) {
        out.push(b'X');
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
    }

    fn int(out: &mut Vec<u8>, v: u64) {
        if v < 256 {
            out.extend([b'K', v as u8]);
        } else if v < (1 << 31) {
            out.push(b'J');
            out.extend((v as i32).to_le_bytes());
        } else {
            out.extend([0x8a, 8]);
            out.extend(v.to_le_bytes());
        }
    }

    fn tuple(out: &mut Vec<u8>, values: &[usize]) {
        out.push(b'(');
        for &v in values {
            int(out, v as u64);
        }
        out.push(b't');
    }

    fn header(out: &mut Vec<u8>, magic: &[u8]) {
        out.extend([0x80, 2, 0x8a, magic.len() as u8]);
        out.extend(magic);
        out.push(b'.');
        out.extend([0x80, 2, b'M', 0xe9, 0x03, b'.']);
        out.extend([0x80, 2, b'}', b'(']);
        text(out, "protocol_version");
        out.extend([b'M', 0xe9, 0x03]);
        text(out, "little_endian");
        out.push(0x88);
        text(out, "type_sizes");
        out.extend([b'}', b'(']);
        for (k, v) in [("short", 2), ("int", 4), ("long", 4)] {
            text(out, k);
            int(out, v);
        }
        out.extend([b'u', b'u', b'.']);
    }

    /// The magic number as LONG1 bytes.
    pub(crate) const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    /// `{"step": 1, "model_state": OrderedDict(tensors)}` as a legacy checkpoint.
    pub(crate) fn checkpoint(tensors: &[FakeTensor]) -> Vec<u8> {
        checkpoint_with_magic(tensors, &MAGIC)
    }

    pub(crate) fn checkpoint_with_magic(tensors: &[FakeTensor], magic: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        header(&mut out, magic);
        out.extend([0x80, 2, b'}', b'(']);
        text(&mut out, "step");
        int(&mut out, 1);
        text(&mut out, "model_state");
        out.extend(b"ccollections\nOrderedDict\n)R(");
        for (i, t) in tensors.iter().enumerate() {
            text(&mut out, &t.name);
            out.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
            text(&mut out, "storage");
            out.extend(format!("ctorch\n{}\n", t.storage_class).as_bytes());
            text(&mut out, &format!("key{i}"));
            text(&mut out, "cpu");
            int(&mut out, t.announced);
            out.extend([b'N', b't', b'Q']);
            int(&mut out, t.offset as u64);
            tuple(&mut out, &t.shape);
            tuple(&mut out, &t.stride);
            out.push(0x89);
            out.extend(b"ccollections\nOrderedDict\n)Rt");
            out.push(b'R');
        }
        out.extend([b'u', b'u', b'.']);
        out.extend([0x80, 2, b']', b'(']);
        for i in 0..tensors.len() {
            text(&mut out, &format!("key{i}"));
        }
        out.extend([b'e', b'.']);
        for t in tensors {
            out.extend(t.written.to_le_bytes());
            for v in &t.values {
                out.extend(v.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{FakeTensor, checkpoint, checkpoint_with_magic};
    use super::*;

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32 * 0.5).collect()
    }

    fn one(t: FakeTensor) -> Result<Vec<(String, RawTensor)>, TorchError> {
        let bytes = checkpoint(&[t]);
        read(&bytes)?.state_dict(&["model_state"])
    }

    #[test]
    fn tensors_come_back_by_name_with_their_shape_and_values() {
        let bytes =
            checkpoint(&[FakeTensor::new("a.weight", &[2, 3], values(6)), FakeTensor::new("a.bias", &[2], values(2))]);
        let tensors = read(&bytes).unwrap().state_dict(&["model_state"]).unwrap();
        assert_eq!(tensors.len(), 2);
        assert_eq!(tensors[0].0, "a.weight");
        assert_eq!(tensors[0].1.shape, vec![2, 3]);
        assert_eq!(tensors[0].1.f32s().unwrap(), values(6));
        assert_eq!(tensors[1].1.f32s().unwrap(), values(2));
    }

    #[test]
    fn offsets_and_strides_select_inside_a_shared_storage() {
        // A transposed 2×3 view starting at element 1 of a 7-element storage.
        let mut t = FakeTensor::new("t", &[3, 2], values(7));
        t.offset = 1;
        t.stride = vec![1, 3];
        let tensors = one(t).unwrap();
        // Element (i, j) is storage[1 + i + 3j].
        assert_eq!(tensors[0].1.f32s().unwrap(), vec![0.5, 2.0, 1.0, 2.5, 1.5, 3.0]);
    }

    #[test]
    fn the_wrong_magic_or_a_zip_file_is_named() {
        let mut magic = fake::MAGIC;
        magic[3] ^= 1;
        let bytes = checkpoint_with_magic(&[FakeTensor::new("t", &[1], values(1))], &magic);
        assert!(matches!(read(&bytes), Err(TorchError::NotTorch)));
        assert!(matches!(read(b"PK\x03\x04 rest of a zip"), Err(TorchError::ZipCheckpoint)));
        assert!(matches!(read(b"GGUF"), Err(TorchError::NotTorch)));
        assert!(matches!(read(b""), Err(TorchError::NotTorch)));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = checkpoint(&[FakeTensor::new("a", &[2, 2], values(4)), FakeTensor::new("b", &[3], values(3))]);
        for len in 0..bytes.len() {
            let result = read(&bytes[..len]).and_then(|c| c.state_dict(&["model_state"]));
            assert!(result.is_err(), "a file cut at {len} of {} bytes was accepted", bytes.len());
        }
        assert!(read(&bytes).is_ok());
    }

    #[test]
    fn an_absurd_storage_size_is_refused_before_allocating() {
        let mut t = FakeTensor::new("t", &[2], values(2));
        t.announced = u64::MAX / 2;
        t.written = i64::MAX;
        assert!(matches!(
            one(t),
            Err(TorchError::Pickle { .. } | TorchError::Storage { .. } | TorchError::Truncated { .. })
        ));

        let mut t = FakeTensor::new("t", &[2], values(2));
        t.announced = 1 << 40;
        t.written = 1 << 40;
        assert!(matches!(one(t), Err(TorchError::Truncated { .. })), "a storage longer than the file");

        let mut t = FakeTensor::new("t", &[2], values(2));
        t.written = -1;
        assert!(matches!(one(t), Err(TorchError::Storage { .. })));
    }

    #[test]
    fn a_tensor_reaching_past_its_storage_is_refused() {
        let mut t = FakeTensor::new("t", &[2, 3], values(5));
        t.announced = 5;
        t.written = 5;
        assert!(matches!(one(t), Err(TorchError::Pickle { .. })));

        let mut t = FakeTensor::new("t", &[2], values(2));
        t.offset = 1;
        assert!(matches!(one(t), Err(TorchError::Pickle { .. })));

        let mut t = FakeTensor::new("t", &[usize::MAX / 2, 4], values(2));
        t.stride = vec![0, 0];
        assert!(matches!(one(t), Err(TorchError::Pickle { .. })), "an overflowing shape");

        let mut t = FakeTensor::new("t", &[1 << 20], values(2));
        t.stride = vec![0];
        assert!(matches!(one(t), Err(TorchError::Pickle { .. })), "an expanded view larger than its storage");
    }

    #[test]
    fn a_storage_count_that_disagrees_with_the_pickle_is_refused() {
        let mut t = FakeTensor::new("t", &[2], values(3));
        t.written = 2;
        assert!(matches!(one(t), Err(TorchError::Storage { .. })));
    }

    #[test]
    fn unknown_storage_types_and_opcodes_are_errors() {
        let mut t = FakeTensor::new("t", &[2], values(2));
        t.storage_class = "QuantumStorage";
        assert!(matches!(one(t), Err(TorchError::Pickle { .. })));

        let mut bytes = checkpoint(&[FakeTensor::new("t", &[1], values(1))]);
        // The first opcode after the system information's PROTO: make it one that does not exist.
        let at = bytes.windows(3).position(|w| w == [b'.', 0x80, 2]).unwrap();
        let at = bytes[at + 1..].windows(3).position(|w| w == [b'.', 0x80, 2]).unwrap() + at + 1;
        let at = bytes[at + 1..].windows(3).position(|w| w == [b'.', 0x80, 2]).unwrap() + at + 1;
        bytes[at + 3] = 0xff;
        assert!(matches!(read(&bytes), Err(TorchError::Pickle { .. })));
    }

    #[test]
    fn a_missing_dictionary_is_named() {
        let bytes = checkpoint(&[FakeTensor::new("t", &[1], values(1))]);
        let checkpoint = read(&bytes).unwrap();
        assert!(
            matches!(checkpoint.state_dict(&["optimizer_state"]), Err(TorchError::NoDict(p)) if p == "optimizer_state")
        );
        assert!(matches!(checkpoint.state_dict(&["step"]), Err(TorchError::NoDict(_))));
        // The root dict holds no tensors directly.
        assert!(checkpoint.state_dict(&[]).unwrap().is_empty());
    }

    #[test]
    fn random_damage_never_panics() {
        let bytes = checkpoint(&[FakeTensor::new("a", &[2, 2], values(4)), FakeTensor::new("b", &[3], values(3))]);
        let mut state = 0x2545_f491u32;
        for _ in 0..5000 {
            let mut damaged = bytes.clone();
            for _ in 0..3 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let at = (state >> 8) as usize % damaged.len();
                damaged[at] = (state >> 3) as u8;
            }
            // Any outcome but a panic (or a runaway allocation) is fine.
            let _ = read(&damaged).and_then(|c| c.state_dict(&["model_state"]));
        }
    }
}
