//! Zip archives, read defensively and written deterministically.
//!
//! Reading enforces the hostile-input rules shared by CHARX and agent packages:
//! bounded entry count and sizes, a bounded compression ratio (measured while
//! inflating, not trusted from the headers), no duplicate names, no symlinks,
//! no absolute or escaping paths. Writing sorts entries and fixes timestamps,
//! permissions and the host system, so the same files give the same bytes.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Component, Path};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// Limits applied while reading an archive.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_entry_bytes: u64,
    pub max_total_bytes: u64,
    /// Uncompressed ÷ compressed, checked for entries above `ratio_floor` bytes.
    pub max_ratio: u64,
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 4096,
            max_entry_bytes: 256 << 20,
            max_total_bytes: 512 << 20,
            max_ratio: 200,
            ratio_floor: 1 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a readable zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("the archive is empty")]
    Empty,
    #[error("the archive has more than {0} entries")]
    TooManyEntries(usize),
    #[error("the archive lists `{0}` more than once")]
    Duplicate(String),
    #[error("the archive lists the same file name more than once")]
    DuplicateNames,
    #[error("entry `{0}` is a symbolic link, which is not allowed")]
    Symlink(String),
    #[error("entry `{0}` has an unsafe path (absolute, or escaping the archive's folder)")]
    UnsafePath(String),
    #[error("entry `{0}` is larger than the limit of {1} bytes")]
    EntryTooLarge(String, u64),
    #[error("the archive unpacks to more than {0} bytes")]
    TotalTooLarge(u64),
    #[error("entry `{0}` expands more than {1}× (a zip bomb?)")]
    Ratio(String, u64),
    #[error("entry `{0}` could not be read: {1}")]
    Entry(String, std::io::Error),
    #[error("could not write the archive: {0}")]
    Write(String),
}

/// Checks a path from an archive or a card: relative, `/`-separated, no `..`,
/// no empty, `.` or drive components, no backslashes or NUL.
pub fn is_safe_path(path: &str) -> bool {
    if path.is_empty() || path.len() > 512 || path.contains(['\\', '\0', ':']) || path.starts_with('/') {
        return false;
    }
    path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
}

/// Reads every file of a zip archive into memory, enforcing `limits`.
/// Directory entries are skipped. Returns the files sorted by path.
pub fn read_zip(bytes: &[u8], limits: Limits) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries(limits.max_entries));
    }
    if archive.has_duplicate_names() {
        return Err(ArchiveError::DuplicateNames);
    }
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i)?;
        let name = entry.name()?.to_string();
        if entry.is_symlink() {
            return Err(ArchiveError::Symlink(name));
        }
        if entry.is_dir() {
            if !is_safe_path(name.trim_end_matches('/')) {
                return Err(ArchiveError::UnsafePath(name));
            }
            continue;
        }
        if !is_safe_path(&name) || entry.enclosed_name().is_none() {
            return Err(ArchiveError::UnsafePath(name));
        }
        if entry.size() > limits.max_entry_bytes {
            return Err(ArchiveError::EntryTooLarge(name, limits.max_entry_bytes));
        }
        let compressed = entry.compressed_size().max(1);
        // Never trust the declared size: read at most one byte past the limit.
        let mut data = Vec::with_capacity(entry.size().min(limits.max_entry_bytes) as usize);
        entry
            .take(limits.max_entry_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| ArchiveError::Entry(name.clone(), e))?;
        let size = data.len() as u64;
        if size > limits.max_entry_bytes {
            return Err(ArchiveError::EntryTooLarge(name, limits.max_entry_bytes));
        }
        if size > limits.ratio_floor && size / compressed > limits.max_ratio {
            return Err(ArchiveError::Ratio(name, limits.max_ratio));
        }
        total += size;
        if total > limits.max_total_bytes {
            return Err(ArchiveError::TotalTooLarge(limits.max_total_bytes));
        }
        if files.insert(name.clone(), data).is_some() {
            return Err(ArchiveError::Duplicate(name));
        }
    }
    if files.is_empty() {
        return Err(ArchiveError::Empty);
    }
    Ok(files)
}

/// Writes `files` as a zip whose bytes depend only on the paths and contents:
/// entries sorted by path, timestamps at the zip epoch (1980-01-01), Unix
/// permissions 0644, no extra fields. Already-compressed media is stored.
pub fn write_zip<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Vec<u8>, ArchiveError> {
    let mut sorted: Vec<(&str, &[u8])> = files.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let werr = |e: zip::result::ZipError| ArchiveError::Write(e.to_string());
    for (path, data) in sorted {
        if !is_safe_path(path) {
            return Err(ArchiveError::UnsafePath(path.to_owned()));
        }
        let method = if is_compressed_media(path) { CompressionMethod::Stored } else { CompressionMethod::Deflated };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(if method == CompressionMethod::Deflated { Some(6) } else { None })
            .last_modified_time(DateTime::default())
            .unix_permissions(0o644)
            .system(zip::System::Unix)
            .large_file(data.len() as u64 >= u32::MAX as u64);
        writer.start_file(path, options).map_err(werr)?;
        writer.write_all(data).map_err(|e| ArchiveError::Write(e.to_string()))?;
    }
    Ok(writer.finish().map_err(werr)?.into_inner())
}

fn is_compressed_media(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    matches!(
        ext.as_str(),
        "png"
            | "jpg"
            | "jpeg"
            | "webp"
            | "gif"
            | "avif"
            | "mp3"
            | "ogg"
            | "opus"
            | "flac"
            | "m4a"
            | "mp4"
            | "webm"
            | "zip"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_are_relative_and_stay_inside() {
        for ok in ["card.json", "assets/icon/images/main.png", "a/b.c/d"] {
            assert!(is_safe_path(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/./b", "C:/x", "a\\b", "a\0b", "a/.."] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }

    #[test]
    fn limits_on_entries_sizes_and_ratio_are_enforced() {
        let zip = write_zip([("a.txt", &[b'a'; 3000][..]), ("b.txt", &[b'b'; 3000][..])]).unwrap();
        let small = |f: fn(&mut Limits)| {
            let mut limits = Limits::default();
            f(&mut limits);
            read_zip(&zip, limits).unwrap_err().to_string()
        };
        assert_eq!(small(|l| l.max_entries = 1), "the archive has more than 1 entries");
        assert_eq!(small(|l| l.max_entry_bytes = 2999), "entry `a.txt` is larger than the limit of 2999 bytes");
        assert_eq!(small(|l| l.max_total_bytes = 5000), "the archive unpacks to more than 5000 bytes");
        assert_eq!(
            small(|l| {
                l.ratio_floor = 100;
                l.max_ratio = 10;
            }),
            "entry `a.txt` expands more than 10× (a zip bomb?)"
        );
    }

    #[test]
    fn writing_is_independent_of_input_order() {
        let a = write_zip([("b.txt", &b"2"[..]), ("a.txt", &b"1"[..])]).unwrap();
        let b = write_zip([("a.txt", &b"1"[..]), ("b.txt", &b"2"[..])]).unwrap();
        assert_eq!(a, b);
        let files = read_zip(&a, Limits::default()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["a.txt", "b.txt"]);
    }
}
