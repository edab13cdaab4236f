//! A reader for CTranslate2's `model.bin` (binary versions 4–6): a header,
//! then named variables (rank, dims, dtype, raw little-endian data, no
//! alignment), then aliases. Every length is checked against the file, so a
//! truncated or hostile file is an error, never a panic or a huge allocation.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("not a CTranslate2 model: {0}")]
    Format(String),
    #[error("the model file ends early (at byte {0}): it is truncated")]
    Truncated(usize),
    #[error("CTranslate2 binary version {0} is not supported (4 to 6 are)")]
    Version(u32),
    #[error("the model has no variable {0}")]
    Missing(String),
}

/// An element type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable: its shape, type and raw bytes (a slice of the file).
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    /// The values as f32 (floating-point variables only).
    pub fn to_f32(&self) -> Result<Vec<f32>, Ct2Error> {
        let two = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
        Ok(match self.dtype {
            DType::F32 => self.data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            DType::F16 => self.data.chunks_exact(2).map(|c| half::f16::from_bits(two(c)).to_f32()).collect(),
            DType::BF16 => self.data.chunks_exact(2).map(|c| half::bf16::from_bits(two(c)).to_f32()).collect(),
            other => return Err(Ct2Error::Format(format!("expected floating-point values, found {other:?}"))),
        })
    }

    /// A scalar integer variable's value.
    pub fn as_int(&self) -> Option<i64> {
        match (self.dtype, self.data) {
            (DType::I8, [b]) => Some(*b as i8 as i64),
            (DType::I16, [a, b]) => Some(i16::from_le_bytes([*a, *b]) as i64),
            (DType::I32, [a, b, c, d]) => Some(i32::from_le_bytes([*a, *b, *c, *d]) as i64),
            _ => None,
        }
    }
}

/// A parsed model: its spec name and variables (aliases resolved).
#[derive(Debug)]
pub struct Model<'a> {
    pub spec: String,
    pub revision: u32,
    pub variables: BTreeMap<String, Variable<'a>>,
}

impl<'a> Model<'a> {
    pub fn get(&self, name: &str) -> Result<&Variable<'a>, Ct2Error> {
        self.variables.get(name).ok_or_else(|| Ct2Error::Missing(name.to_owned()))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ct2Error> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(Ct2Error::Truncated(self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, Ct2Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Ct2Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Ct2Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A u16 length that counts a trailing NUL, then the bytes.
    fn string(&mut self) -> Result<String, Ct2Error> {
        let len = self.u16()? as usize;
        if len == 0 {
            return Err(Ct2Error::Format("a string of length 0".into()));
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes[..len - 1].to_vec()).map_err(|_| Ct2Error::Format("a name is not UTF-8".into()))
    }
}

/// Parses a `model.bin`.
pub fn parse(bytes: &[u8]) -> Result<Model<'_>, Ct2Error> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u32()?;
    if !(4..=6).contains(&version) {
        return Err(Ct2Error::Version(version));
    }
    let spec = r.string()?;
    let revision = r.u32()?;
    let count = r.u32()? as usize;
    let mut variables = BTreeMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let rank = r.u8()? as usize;
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(r.u32()? as usize);
        }
        let code = r.u8()?;
        let dtype =
            DType::from_code(code).ok_or_else(|| Ct2Error::Format(format!("{name}: unknown type code {code}")))?;
        let size = r.u32()? as usize;
        let expected = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
        if expected != Some(size) {
            return Err(Ct2Error::Format(format!("{name}: {size} bytes for shape {shape:?} of {dtype:?}")));
        }
        let data = r.take(size)?;
        variables.insert(name, Variable { shape, dtype, data });
    }
    let aliases = r.u32()? as usize;
    for _ in 0..aliases {
        let alias = r.string()?;
        let target = r.string()?;
        if let Some(v) = variables.get(&target).cloned() {
            variables.insert(alias, v);
        }
    }
    Ok(Model { spec, revision, variables })
}
