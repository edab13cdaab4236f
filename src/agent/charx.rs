//! CHARX: a zip with `card.json` at its root and assets addressed as
//! `embeded://path`; also the same layout unpacked in a folder.

use std::collections::BTreeMap;
use std::path::Path;

use super::card::{parse_json, to_bytes};
use super::spec::AgentSpec;
use super::{Agent, CardError, limits};
use crate::archive::{self, is_safe_path};

pub const CARD_JSON: &str = "card.json";

/// The card JSON and every file of a CHARX archive.
pub fn read(bytes: &[u8]) -> Result<(serde_json::Value, BTreeMap<String, Vec<u8>>), CardError> {
    let mut files = archive::read_zip(bytes, archive::Limits::default())?;
    let card = files.remove(CARD_JSON).ok_or(CardError::NoCardJson)?;
    Ok((parse_json(&card)?, files))
}

/// Reads the files a spec embeds from a folder in CHARX layout. Symbolic
/// links, unsafe paths and oversized files are refused.
pub fn read_dir_files(dir: &Path, spec: &AgentSpec) -> Result<BTreeMap<String, Vec<u8>>, CardError> {
    let mut files = BTreeMap::new();
    let mut total = 0usize;
    for rel in spec.embedded_paths() {
        if !is_safe_path(rel) {
            return Err(CardError::UnsafeAssetPath(rel.to_owned()));
        }
        let path = dir.join(rel);
        let io = |e| CardError::Io(path.display().to_string(), e);
        let meta = std::fs::symlink_metadata(&path).map_err(io)?;
        if !meta.is_file() {
            return Err(CardError::UnsafeAssetPath(format!("{rel} (not a regular file)")));
        }
        total += meta.len() as usize;
        if total > limits::MAX_INPUT_BYTES {
            return Err(CardError::TooLarge(total, limits::MAX_INPUT_BYTES));
        }
        files.insert(rel.to_owned(), std::fs::read(&path).map_err(io)?);
    }
    Ok(files)
}

/// Writes the agent as a CHARX archive (deterministic).
pub fn write(agent: &Agent) -> Result<Vec<u8>, CardError> {
    let card = to_bytes(&agent.card_json());
    let files = std::iter::once((CARD_JSON, card.as_slice()))
        .chain(agent.files().iter().map(|(p, d)| (p.as_str(), d.as_slice())));
    Ok(archive::write_zip(files)?)
}
