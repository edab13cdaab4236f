//! Shared helpers: fixtures, a studio in a temporary folder, PNG builders.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use familiar::agent::{self, Agent, ExportFormat, ImportOptions, Imported};
use familiar::api::Studio;
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_path(name: &str) -> PathBuf {
    root().join("tests/fixtures/cards").join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn sample_dir(slug: &str) -> PathBuf {
    root().join("agents").join(slug)
}

/// Imports bytes, panicking with the error on failure.
pub fn import(bytes: &[u8]) -> Imported {
    agent::import_bytes(bytes, &ImportOptions::default()).unwrap_or_else(|e| panic!("import failed: {e}"))
}

pub fn import_named(bytes: &[u8], file_name: &str) -> Imported {
    let options = ImportOptions { name: None, file_name: Some(file_name.into()) };
    agent::import_bytes(bytes, &options).unwrap_or_else(|e| panic!("import failed: {e}"))
}

/// Every agent the tests round-trip: fixtures from other tools and the samples.
pub fn corpus() -> Vec<(String, Agent)> {
    let mut out: Vec<(String, Agent)> = [
        "st-v2-export.json",
        "v1.json",
        "v3-full.json",
        "st-v3.png",
        "risu-style.charx",
        "eliza-current.json",
        "eliza-v0.json",
        "persona.Modelfile",
    ]
    .iter()
    .map(|name| (name.to_string(), import_named(&fixture(name), name).agent))
    .collect();
    for slug in ["lena", "orbit", "bram"] {
        let imported = agent::import_dir(&sample_dir(slug), &ImportOptions::default()).unwrap();
        out.push((slug.to_string(), imported.agent));
    }
    out
}

pub fn export(agent: &Agent, format: ExportFormat) -> Vec<u8> {
    agent::export(agent, format).unwrap_or_else(|e| panic!("export {format:?} failed: {e}"))
}

/// The `data` object of the agent's V3 card.
pub fn data(agent: &Agent) -> Value {
    agent.card_json()["data"].clone()
}

/// A studio in a fresh temporary folder, with a fixed clock.
pub async fn studio() -> (tempfile::TempDir, Studio) {
    let dir = tempfile::tempdir().unwrap();
    let studio = Studio::open(dir.path()).await.unwrap().with_clock(Arc::new(|| 1_764_028_800));
    (dir, studio)
}

/// A small PNG written by the `png` crate's encoder, with the given tEXt chunks.
pub fn png_with_text(chunks: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 3, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (key, text) in chunks {
        encoder.add_text_chunk((*key).into(), (*text).into()).unwrap();
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[200; 18]).unwrap();
    writer.finish().unwrap();
    out
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A zip built entry by entry with the `zip` crate (for hostile archives).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A minimal valid V3 card.
pub fn v3_card(name: &str) -> String {
    serde_json::json!({ "spec": "chara_card_v3", "spec_version": "3.0", "data": { "name": name } }).to_string()
}
