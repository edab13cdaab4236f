//! Shared helpers: fixtures, a studio in a temporary folder, PNG builders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use familiar::agent::{self, Agent, ExportFormat, ImportOptions, Imported};
use familiar::api::Studio;
use serde_json::Value;

/// The checkout cargo runs the tests for, not the one the binary was built in
/// (a shared target folder serves several checkouts).
pub fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
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
    let studio = studio_at(dir.path()).await;
    (dir, studio)
}

/// A studio on the data folder `home`, with the same fixed clock.
pub async fn studio_at(home: &Path) -> Studio {
    Studio::open(home).await.unwrap().with_clock(Arc::new(|| 1_764_028_800))
}

/// An empty folder for a fixture that every test of this run shares (it lives
/// as long as the process, so a temporary folder would never be removed): a
/// fixed place in cargo's target folder, emptied at first use, so each run
/// replaces the last one's instead of leaving its own behind.
pub fn shared_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("it-shared").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

/// The bundled model in the machine's cache (fetched by scripts/fetch-models.sh).
pub fn bundled_model() -> PathBuf {
    familiar::models::bundled_model_file().expect("the bundled model is missing: run scripts/fetch-models.sh")
}

/// A studio with the sample agents and the bundled model installed.
pub async fn studio_with_model() -> (tempfile::TempDir, Studio) {
    let (dir, studio) = studio().await;
    familiar::api::install_samples(&studio).await.unwrap();
    familiar::api::install_bundled_model(&studio).await.unwrap().expect("the bundled model installs");
    (dir, studio)
}

/// A local stand-in for the Hugging Face Hub: `GET /{repo}/resolve/{rev}/{file}`
/// answers 302 to `/cdn/{file}` with `X-Linked-Etag` (the sha256) and
/// `X-Linked-Size`, and the CDN serves the bytes with `Range` support. Files
/// of no repository are served at their path, as PyPI's file server does. It
/// can cut the first download short, to test resuming.
pub struct Hub {
    pub url: String,
    /// Request lines and their Range header, in order.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub struct HubFile {
    pub repo: String,
    pub name: String,
    pub bytes: Vec<u8>,
    /// The sha256 the Hub announces (normally that of `bytes`).
    pub etag: String,
}

impl Hub {
    pub fn start(files: Vec<HubFile>, cut_first_download_at: Option<usize>) -> Hub {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let files = std::sync::Arc::new(files);
        let cut = std::sync::Arc::new(std::sync::Mutex::new(cut_first_download_at));
        let server_log = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let (files, log, cut) = (files.clone(), server_log.clone(), cut.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request = String::new();
                    if reader.read_line(&mut request).is_err() {
                        return;
                    }
                    let mut range = None;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                            range = v.trim().trim_end_matches('-').parse::<usize>().ok();
                        }
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    log.lock().unwrap().push(format!("{path} range={range:?}"));
                    let found = files.iter().find(|f| path == format!("/{}/resolve/main/{}", f.repo, f.name));
                    if let Some(f) = found {
                        let head = format!(
                            "HTTP/1.1 302 Found\r\nLocation: /cdn/{}\r\nX-Linked-Etag: \"{}\"\r\nX-Linked-Size: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            f.name,
                            f.etag,
                            f.bytes.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        return;
                    }
                    // A file of no repository is served at its own path, as PyPI's file server does.
                    let served = |f: &&HubFile| {
                        path == format!("/cdn/{}", f.name) || (f.repo.is_empty() && path == format!("/{}", f.name))
                    };
                    let Some(f) = files.iter().find(served) else {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                        );
                        return;
                    };
                    let start = range.unwrap_or(0).min(f.bytes.len());
                    let body = &f.bytes[start..];
                    let head = if range.is_some() {
                        format!(
                            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            f.bytes.len() - 1,
                            f.bytes.len(),
                            body.len()
                        )
                    } else {
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                    };
                    let _ = stream.write_all(head.as_bytes());
                    let limit = cut.lock().unwrap().take().unwrap_or(body.len()).min(body.len());
                    let _ = stream.write_all(&body[..limit]);
                });
            }
        });
        Hub { url, log }
    }
}

/// The wallet passphrase the CLI gets in tests (through `FAMILIAR_PASSPHRASE`).
pub const PASSPHRASE: &str = "a test passphrase";

/// Runs the `familiar` binary with `FAMILIAR_HOME` set.
pub fn familiar(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_familiar"))
        .args(args)
        .env("FAMILIAR_HOME", home)
        .env("FAMILIAR_PASSPHRASE", PASSPHRASE)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the familiar binary runs")
}

/// Runs a command that must succeed and returns its stdout.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = familiar(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "familiar {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

pub fn json(home: &Path, args: &[&str]) -> Value {
    let stdout = ok(home, args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("familiar {args:?} printed no JSON ({e}): {stdout}"))
}

/// Runs a command that must fail; returns stderr.
pub fn fails(home: &Path, args: &[&str]) -> String {
    let out = familiar(home, args);
    assert!(!out.status.success(), "familiar {args:?} should fail");
    assert!(out.stdout.is_empty(), "errors go to stderr only");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    stderr
}
