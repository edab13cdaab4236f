//! Agent packages: a deterministic archive of an agent and its files, whose
//! identity is the sha256 of its bytes (and the CIDv1 of those bytes: raw
//! codec, sha2-256).
//!
//! Layout (a CHARX-compatible zip, so card tools can open it too):
//! `card.json` (Character Card V3, Familiar's fields under `extensions`),
//! `assets/…` (the files the card embeds), and `familiar.json` (format
//! version and the sha256 and size of every other file).
//!
//! Architecture invariant: a package is canonical. Reading one rebuilds it
//! from what it holds and refuses it unless the bytes come out identical, so
//! one agent has exactly one package and any change to a byte is detected.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agent::{Agent, AgentSpec, CardError, to_v3_json};
use crate::archive::{self, ArchiveError};

pub const FORMAT: &str = "familiar-agent-package";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "familiar.json";
pub const CARD: &str = "card.json";

/// Multicodec code of raw bytes, and of the sha2-256 multihash.
const RAW_CODEC: u64 = 0x55;
const SHA2_256: u64 = 0x12;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("not a valid package archive: {0}")]
    Archive(#[from] ArchiveError),
    #[error("not a Familiar package: there is no {MANIFEST}")]
    NoManifest,
    #[error("invalid {MANIFEST}: {0}")]
    Manifest(String),
    #[error("package format version {0} is newer than this Familiar understands ({FORMAT_VERSION}); update Familiar")]
    UnsupportedVersion(u32),
    #[error("invalid card in the package: {0}")]
    Card(#[from] CardError),
    #[error("`{0}` does not match the sha256 in {MANIFEST}: the package was altered")]
    FileMismatch(String),
    #[error("`{0}` is listed in {MANIFEST} but missing")]
    MissingFile(String),
    #[error("`{0}` is in the package but not listed in {MANIFEST}")]
    UnlistedFile(String),
    #[error("the package is not in canonical form: it was altered or built by a different tool")]
    NotCanonical,
    #[error("sha256 mismatch: expected {expected}, the file has {actual}")]
    Sha256Mismatch { expected: String, actual: String },
    #[error("`{0}` is not a sha256 (64 hexadecimal digits)")]
    BadSha256(String),
    #[error("{0}")]
    Io(String),
}

/// A package's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageId {
    /// sha256 of the package bytes, lowercase hex: the on-chain content hash.
    pub sha256: String,
    /// CIDv1 (raw, sha2-256) in base32: the `ipfs://` address.
    pub cid: String,
}

impl PackageId {
    pub fn of(bytes: &[u8]) -> PackageId {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        PackageId { sha256: hex::encode(digest), cid: cid_of_digest(&digest) }
    }
}

fn cid_of_digest(digest: &[u8; 32]) -> String {
    // A 32-byte digest always fits the 64-byte multihash.
    match cid::multihash::Multihash::<64>::wrap(SHA2_256, digest) {
        Ok(mh) => cid::Cid::new_v1(RAW_CODEC, mh).to_string(),
        Err(_) => String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    format_version: u32,
    name: String,
    files: Vec<ManifestFile>,
}

/// One file of a package, as listed in its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// A package read and verified.
#[derive(Debug)]
pub struct Package {
    pub id: PackageId,
    pub agent: Agent,
    pub format_version: u32,
    /// Every file but the manifest, sorted by path.
    pub files: Vec<ManifestFile>,
    /// The package's bytes.
    pub bytes: Vec<u8>,
}

fn contents(agent: &Agent) -> BTreeMap<String, Vec<u8>> {
    let mut files = agent.files().clone();
    files.insert(CARD.into(), card_bytes(agent.spec()));
    files
}

fn card_bytes(spec: &AgentSpec) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&to_v3_json(spec)).unwrap_or_default();
    out.push(b'\n');
    out
}

fn listing(files: &BTreeMap<String, Vec<u8>>) -> Vec<ManifestFile> {
    files
        .iter()
        .map(|(path, data)| ManifestFile {
            path: path.clone(),
            sha256: hex::encode(Sha256::digest(data)),
            size: data.len() as u64,
        })
        .collect()
}

/// Builds the package of an agent. The same agent always gives the same bytes.
pub fn build(agent: &Agent) -> Result<Package, PackageError> {
    let files = contents(agent);
    let listed = listing(&files);
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: agent.name().to_owned(),
        files: listed.clone(),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Manifest(e.to_string()))?;
    manifest_bytes.push(b'\n');
    let entries = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .chain(std::iter::once((MANIFEST, manifest_bytes.as_slice())));
    let bytes = archive::write_zip(entries)?;
    Ok(Package {
        id: PackageId::of(&bytes),
        agent: agent.clone(),
        format_version: FORMAT_VERSION,
        files: listed,
        bytes,
    })
}

/// Reads and fully verifies a package: safe archive, manifest, every file's
/// hash, a valid card, and canonical form.
pub fn open(bytes: &[u8]) -> Result<Package, PackageError> {
    if bytes.is_empty() {
        return Err(PackageError::Archive(ArchiveError::Empty));
    }
    let mut files = archive::read_zip(bytes, archive::Limits::default())?;
    let manifest_bytes = files.remove(MANIFEST).ok_or(PackageError::NoManifest)?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| PackageError::Manifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(PackageError::Manifest(format!("format is `{}`, expected `{FORMAT}`", manifest.format)));
    }
    if manifest.format_version > FORMAT_VERSION {
        return Err(PackageError::UnsupportedVersion(manifest.format_version));
    }
    let actual = listing(&files);
    for listed in &manifest.files {
        match actual.iter().find(|f| f.path == listed.path) {
            None => return Err(PackageError::MissingFile(listed.path.clone())),
            Some(found) if found != listed => return Err(PackageError::FileMismatch(listed.path.clone())),
            Some(_) => {}
        }
    }
    if let Some(extra) = actual.iter().find(|f| !manifest.files.iter().any(|l| l.path == f.path)) {
        return Err(PackageError::UnlistedFile(extra.path.clone()));
    }
    let card = files.remove(CARD).ok_or_else(|| PackageError::MissingFile(CARD.into()))?;
    let value = crate::agent::parse_card_json(&card)?;
    let agent = Agent::new(crate::agent::spec_from_v3(&value)?, files)?;
    let rebuilt = build(&agent)?;
    if rebuilt.bytes != bytes {
        return Err(PackageError::NotCanonical);
    }
    Ok(rebuilt)
}

/// Verifies a package and, when given, that its sha256 is `expected`.
pub fn verify(bytes: &[u8], expected_sha256: Option<&str>) -> Result<Package, PackageError> {
    if let Some(expected) = expected_sha256 {
        let expected = expected.trim().trim_start_matches("0x").to_ascii_lowercase();
        if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PackageError::BadSha256(expected));
        }
        let actual = PackageId::of(bytes).sha256;
        if actual != expected {
            return Err(PackageError::Sha256Mismatch { expected, actual });
        }
    }
    open(bytes)
}

/// Verifies a package and writes its files (manifest included) into `dir`,
/// which must not exist yet. Files are written to a sibling folder first and
/// moved into place at the end, so a failure leaves nothing half-written.
pub fn unpack(bytes: &[u8], dir: &Path) -> Result<Package, PackageError> {
    let package = open(bytes)?;
    if dir.exists() {
        return Err(PackageError::Io(format!("{} already exists; choose a new folder", dir.display())));
    }
    let io = |e: std::io::Error| PackageError::Io(format!("could not unpack into {}: {e}", dir.display()));
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io)?;
    let staging = tempfile::Builder::new().prefix(".familiar-unpack-").tempdir_in(parent).map_err(io)?;
    let mut all = archive::read_zip(bytes, archive::Limits::default())?;
    for (path, data) in std::mem::take(&mut all) {
        let target = staging.path().join(&path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).map_err(io)?;
        }
        std::fs::write(&target, data).map_err(io)?;
    }
    std::fs::rename(staging.keep(), dir).map_err(io)?;
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cid_of_known_bytes_matches_ipfs() {
        // `ipfs add --cid-version=1 --raw-leaves` of "hello world\n".
        let id = PackageId::of(b"hello world\n");
        assert_eq!(id.sha256, "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
        assert_eq!(id.cid, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
    }
}
