//! A structural check of a GGUF file's header before anything parses it for
//! real: every count and length is read and checked against the bytes that
//! remain in the file, so a corrupt or hostile header (a string "4 billion
//! bytes long", a trillion-element array) is refused with a clear error
//! instead of a huge allocation. Only sizes are checked here; candle reads
//! the values afterwards.

use std::io::Read;

use crate::InferError;

/// The most key-value pairs and tensors a header may declare.
const MAX_ENTRIES: u64 = 1 << 20;

struct Cursor<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Cursor<R> {
    fn take(&mut self, n: u64, what: &str) -> Result<(), InferError> {
        if n > self.remaining {
            return Err(corrupt(format!("{what} claims {n} bytes but only {} remain", self.remaining)));
        }
        let copied = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| corrupt(format!("reading {what}: {e}")))?;
        if copied != n {
            return Err(corrupt(format!("{what} is cut short")));
        }
        self.remaining -= n;
        Ok(())
    }

    fn u32(&mut self, what: &str) -> Result<u32, InferError> {
        let mut b = [0u8; 4];
        self.read(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64, InferError> {
        let mut b = [0u8; 8];
        self.read(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    fn read(&mut self, buf: &mut [u8], what: &str) -> Result<(), InferError> {
        if buf.len() as u64 > self.remaining {
            return Err(corrupt(format!("the file ends inside {what}")));
        }
        self.inner.read_exact(buf).map_err(|_| corrupt(format!("the file ends inside {what}")))?;
        self.remaining -= buf.len() as u64;
        Ok(())
    }

    fn len(&mut self, version: u32, what: &str) -> Result<u64, InferError> {
        if version == 1 { Ok(self.u32(what)? as u64) } else { self.u64(what) }
    }

    fn string(&mut self, version: u32, what: &str) -> Result<(), InferError> {
        let n = self.len(version, what)?;
        self.take(n, what)
    }

    fn value(&mut self, version: u32, kind: u32, what: &str, depth: u32) -> Result<(), InferError> {
        match kind {
            0 | 1 | 7 => self.take(1, what),
            2 | 3 => self.take(2, what),
            4..=6 => self.take(4, what),
            10..=12 => self.take(8, what),
            8 => self.string(version, what),
            9 => {
                if depth > 2 {
                    return Err(corrupt(format!("{what} nests arrays too deeply")));
                }
                let inner = self.u32(what)?;
                let count = self.len(version, what)?;
                let fixed = match inner {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match fixed {
                    Some(size) => {
                        let bytes = count.checked_mul(size).ok_or_else(|| corrupt(format!("{what} is too large")))?;
                        self.take(bytes, what)
                    }
                    None => {
                        // Every element takes at least 8 bytes (a string's length, an array's header).
                        if count.saturating_mul(8) > self.remaining {
                            return Err(corrupt(format!("{what} claims {count} elements, more than the file holds")));
                        }
                        for _ in 0..count {
                            self.value(version, inner, what, depth + 1)?;
                        }
                        Ok(())
                    }
                }
            }
            other => Err(corrupt(format!("{what} has an unknown value type {other}"))),
        }
    }
}

fn corrupt(detail: String) -> InferError {
    InferError::Model(format!("the model file is corrupt: {detail}"))
}

/// Checks the header of a GGUF file of `size` bytes read from `reader`.
pub fn check_header(reader: impl Read, size: u64) -> Result<(), InferError> {
    let mut c = Cursor { inner: reader, remaining: size };
    let mut magic = [0u8; 4];
    c.read(&mut magic, "the magic number")?;
    let version = c.u32("the version")?;
    if !(1..=3).contains(&version) {
        return Err(InferError::Unsupported(format!("GGUF version {version}")));
    }
    let tensors = c.len(version, "the tensor count")?;
    let entries = c.len(version, "the metadata count")?;
    if tensors > MAX_ENTRIES || entries > MAX_ENTRIES {
        return Err(corrupt(format!("it declares {tensors} tensors and {entries} metadata entries")));
    }
    for i in 0..entries {
        c.string(version, &format!("metadata key {i}"))?;
        let kind = c.u32("a metadata type")?;
        c.value(version, kind, &format!("metadata entry {i}"), 0)?;
    }
    for i in 0..tensors {
        let what = format!("tensor {i}");
        c.string(version, &what)?;
        let dims = c.u32(&what)?;
        if dims > 4 {
            return Err(corrupt(format!("{what} has {dims} dimensions")));
        }
        for _ in 0..dims {
            c.len(version, &what)?;
        }
        c.take(4 + 8, &what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(entries: &[u8]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
        out.extend(1u64.to_le_bytes());
        out.extend(entries);
        out
    }

    #[test]
    fn lengths_beyond_the_file_are_refused() {
        // Key "a", type string, length 2^40.
        let mut e = 1u64.to_le_bytes().to_vec();
        e.push(b'a');
        e.extend(8u32.to_le_bytes());
        e.extend((1u64 << 40).to_le_bytes());
        let bytes = header(&e);
        let err = check_header(bytes.as_slice(), bytes.len() as u64).unwrap_err().to_string();
        assert!(err.contains("claims 1099511627776 bytes"), "{err}");
        // An array of a trillion strings.
        let mut e = 1u64.to_le_bytes().to_vec();
        e.push(b'a');
        e.extend(9u32.to_le_bytes());
        e.extend(8u32.to_le_bytes());
        e.extend((1u64 << 40).to_le_bytes());
        let bytes = header(&e);
        assert!(
            check_header(bytes.as_slice(), bytes.len() as u64)
                .unwrap_err()
                .to_string()
                .contains("more than the file holds")
        );
    }

    #[test]
    fn a_well_formed_header_passes() {
        let mut e = 1u64.to_le_bytes().to_vec();
        e.push(b'a');
        e.extend(4u32.to_le_bytes());
        e.extend(7u32.to_le_bytes());
        let bytes = header(&e);
        check_header(bytes.as_slice(), bytes.len() as u64).unwrap();
    }
}
