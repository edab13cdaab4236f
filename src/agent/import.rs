//! Import: recognise a file's format from its bytes, parse it, and bring its
//! assets inside the agent. Export: write an agent in a chosen format.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;

use super::card::{self, CardVersion, parse_json, spec_from_card, to_bytes};
use super::png_card::{self, BASE64, PNG_SIGNATURE};
use super::spec::{AgentSpec, Asset, EMBEDDED};
use super::{Agent, CardError, charx, eliza, limits, modelfile};

/// The formats Familiar reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CardV1Json,
    CardV2Json,
    CardV3Json,
    CardPng,
    Charx,
    CharxFolder,
    ElizaJson,
    ElizaLegacyJson,
    Modelfile,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::CardV1Json => "Character Card V1 JSON",
            Format::CardV2Json => "Character Card V2 JSON",
            Format::CardV3Json => "Character Card V3 JSON",
            Format::CardPng => "Character Card PNG",
            Format::Charx => "CHARX",
            Format::CharxFolder => "CHARX folder",
            Format::ElizaJson => "elizaOS character",
            Format::ElizaLegacyJson => "elizaOS character (legacy v0)",
            Format::Modelfile => "Ollama Modelfile",
        }
    }
}

/// Export targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Ccv3Png,
    Charx,
    Ccv2Json,
    Ccv3Json,
    ElizaJson,
}

/// An export format name that Familiar does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}`; use ccv3-png, charx, ccv2-json, ccv3-json or eliza-json")]
pub struct UnknownExportFormat(pub String);

impl std::str::FromStr for ExportFormat {
    type Err = UnknownExportFormat;
    fn from_str(s: &str) -> Result<Self, UnknownExportFormat> {
        Ok(match s {
            "ccv3-png" => ExportFormat::Ccv3Png,
            "charx" => ExportFormat::Charx,
            "ccv2-json" => ExportFormat::Ccv2Json,
            "ccv3-json" => ExportFormat::Ccv3Json,
            "eliza-json" => ExportFormat::ElizaJson,
            other => return Err(UnknownExportFormat(other.to_owned())),
        })
    }
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ccv3Png => "png",
            ExportFormat::Charx => "charx",
            ExportFormat::Ccv2Json | ExportFormat::Ccv3Json | ExportFormat::ElizaJson => "json",
        }
    }
}

/// Choices that the file itself cannot carry.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The agent's name, for formats without one (a Modelfile), or to rename.
    pub name: Option<String>,
    /// The file's name, used as a fallback name.
    pub file_name: Option<String>,
}

/// An imported agent, with what the importer had to change.
#[derive(Debug)]
pub struct Imported {
    pub agent: Agent,
    pub format: Format,
    /// Things dropped on purpose (secrets) or assumed, to show the user.
    pub warnings: Vec<String>,
}

/// Imports one file's bytes, recognising its format from its content.
pub fn import_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Imported, CardError> {
    if bytes.is_empty() {
        return Err(CardError::Empty);
    }
    if bytes.len() > limits::MAX_INPUT_BYTES {
        return Err(CardError::TooLarge(bytes.len(), limits::MAX_INPUT_BYTES));
    }
    let mut warnings = Vec::new();
    let (spec, files, format) = if bytes.starts_with(PNG_SIGNATURE) {
        let png = png_card::read(bytes)?;
        let (spec, _) = spec_from_card(&parse_json(&png.card_json)?)?;
        let (spec, files) = embed_png_assets(spec, png.image, png.assets)?;
        let spec = drop_dangling(spec, &files, &mut warnings);
        (spec, files, Format::CardPng)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let (value, files) = charx::read(bytes)?;
        let (spec, _) = spec_from_card(&value)?;
        let (spec, files) = embed_inline_assets(spec, files)?;
        (spec, files, Format::Charx)
    } else if looks_like_json(bytes) {
        let value = parse_json(bytes)?;
        if eliza::is_eliza(&value) {
            let (spec, legacy, mut notes) = eliza::import(&value)?;
            warnings.append(&mut notes);
            let (spec, files) = embed_inline_assets(spec, BTreeMap::new())?;
            let spec = drop_dangling(spec, &files, &mut warnings);
            (spec, files, if legacy { Format::ElizaLegacyJson } else { Format::ElizaJson })
        } else {
            let (spec, version) = spec_from_card(&value)?;
            let (spec, files) = embed_inline_assets(spec, BTreeMap::new())?;
            let spec = drop_dangling(spec, &files, &mut warnings);
            let format = match version {
                CardVersion::V1 => Format::CardV1Json,
                CardVersion::V2 => Format::CardV2Json,
                CardVersion::V3 => Format::CardV3Json,
            };
            (spec, files, format)
        }
    } else if let Some(text) = modelfile::looks_like(bytes) {
        let fallback =
            options.file_name.as_deref().and_then(file_stem).filter(|s| !s.eq_ignore_ascii_case("modelfile"));
        let (spec, mut notes) = modelfile::import(text, fallback)?;
        warnings.append(&mut notes);
        (spec, BTreeMap::new(), Format::Modelfile)
    } else {
        return Err(CardError::UnknownFormat(
            "expected a card PNG, a CHARX archive, card JSON, an elizaOS character or an Ollama Modelfile".into(),
        ));
    };
    let (mut spec, files) = canonical_paths(spec, files)?;
    if let Some(name) = options.name.as_ref().filter(|n| !n.trim().is_empty()) {
        spec.name = name.trim().to_owned();
    }
    Ok(Imported { agent: Agent::new(spec, files)?, format, warnings })
}

/// Imports a folder in CHARX layout (`card.json` plus the files it embeds).
pub fn import_dir(dir: &Path, options: &ImportOptions) -> Result<Imported, CardError> {
    let card_path = dir.join(charx::CARD_JSON);
    let meta = std::fs::symlink_metadata(&card_path).map_err(|e| CardError::Io(card_path.display().to_string(), e))?;
    if !meta.is_file() || meta.len() as usize > limits::MAX_CARD_JSON_BYTES {
        return Err(CardError::NoCardJson);
    }
    let bytes = std::fs::read(&card_path).map_err(|e| CardError::Io(card_path.display().to_string(), e))?;
    let (mut spec, _) = spec_from_card(&parse_json(&bytes)?)?;
    let files = charx::read_dir_files(dir, &spec)?;
    if let Some(name) = options.name.as_ref().filter(|n| !n.trim().is_empty()) {
        spec.name = name.trim().to_owned();
    }
    let (spec, files) = embed_inline_assets(spec, files)?;
    let (spec, files) = canonical_paths(spec, files)?;
    Ok(Imported { agent: Agent::new(spec, files)?, format: Format::CharxFolder, warnings: Vec::new() })
}

fn looks_like_json(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// A file name without its folder and its last extension.
fn file_stem(name: &str) -> Option<&str> {
    let base = name.rsplit(['/', '\\']).next()?;
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    (!stem.is_empty()).then_some(stem)
}

/// A single-file card cannot carry `embeded://` files; assets that point at
/// one are dropped with a warning instead of failing the whole import.
fn drop_dangling(mut spec: AgentSpec, files: &BTreeMap<String, Vec<u8>>, warnings: &mut Vec<String>) -> AgentSpec {
    if let Some(assets) = spec.assets.as_mut() {
        assets.retain(|a| match a.embedded_path() {
            Some(path) if !files.contains_key(path) => {
                warnings.push(format!(
                    "dropped asset `{}` ({}): its file `{path}` is not included in this card",
                    a.name, a.kind
                ));
                false
            }
            _ => true,
        });
    }
    spec
}

/// The folder of an asset inside a CHARX, by file extension.
fn category(ext: &str) -> &'static str {
    match ext {
        "png" | "jpg" | "jpeg" | "webp" | "gif" | "avif" | "bmp" | "svg" => "images",
        "mp3" | "wav" | "ogg" | "opus" | "flac" | "m4a" => "audio",
        "mp4" | "webm" | "mkv" | "mov" => "video",
        "glb" | "gltf" | "vrm" | "obj" => "3d",
        "safetensors" | "onnx" | "gguf" | "pt" => "ai",
        "ttf" | "otf" | "woff" | "woff2" => "fonts",
        "js" | "lua" | "py" => "code",
        _ => "other",
    }
}

fn sanitize(part: &str, fallback: &str, max: usize) -> String {
    let clean: String = part
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(max)
        .collect();
    if clean.trim_matches('_').is_empty() { fallback.to_owned() } else { clean }
}

/// Places an asset at a fresh CHARX path and points its URI there.
fn place(asset: &mut Asset, data: Vec<u8>, files: &mut BTreeMap<String, Vec<u8>>) {
    let ext = sanitize(&asset.ext.to_ascii_lowercase(), "bin", 8);
    let kind = sanitize(&asset.kind, "other", 32);
    let name = sanitize(&asset.name, "asset", 64);
    let dir = format!("assets/{kind}/{}", category(&ext));
    let mut path = format!("{dir}/{name}.{ext}");
    let mut n = 1;
    while files.contains_key(&path) {
        n += 1;
        path = format!("{dir}/{name}-{n}.{ext}");
    }
    files.insert(path.clone(), data);
    asset.uri = format!("{EMBEDDED}{path}");
}

/// Moves every embedded file to its canonical path,
/// `assets/{type}/{images|audio|…}/{name}.{ext}`, in the order of the assets,
/// so that an agent has one layout whichever format it came from.
fn canonical_paths(
    mut spec: AgentSpec,
    files: BTreeMap<String, Vec<u8>>,
) -> Result<(AgentSpec, BTreeMap<String, Vec<u8>>), CardError> {
    let mut placed = BTreeMap::new();
    if let Some(assets) = spec.assets.as_mut() {
        for asset in assets.iter_mut() {
            if let Some(path) = asset.embedded_path() {
                if !crate::archive::is_safe_path(path) {
                    return Err(CardError::UnsafeAssetPath(path.to_owned()));
                }
                let data = files.get(path).ok_or_else(|| CardError::MissingAsset(path.to_owned()))?.clone();
                place(asset, data, &mut placed);
            }
        }
    }
    Ok((spec, placed))
}

/// Decodes `data:…;base64,` asset URIs into embedded files. Other URIs
/// (`embeded://`, `ccdefault:`, `http(s)://`) are left as they are.
fn embed_inline_assets(
    mut spec: AgentSpec,
    mut files: BTreeMap<String, Vec<u8>>,
) -> Result<(AgentSpec, BTreeMap<String, Vec<u8>>), CardError> {
    if let Some(assets) = spec.assets.as_mut() {
        for (i, asset) in assets.iter_mut().enumerate() {
            if let Some(rest) = asset.uri.strip_prefix("data:") {
                let Some((_, payload)) = rest.split_once(";base64,") else { continue };
                let data = BASE64
                    .decode(payload.trim().as_bytes())
                    .map_err(|e| CardError::Base64(format!("data.assets[{i}].uri"), e))?;
                place(asset, data, &mut files);
            }
        }
    }
    Ok((spec, files))
}

/// Resolves a PNG card's assets: the image itself is the main icon
/// (`ccdefault:` or no `assets` at all), `__asset:{path}` URIs name
/// `chara-ext-asset_` chunks.
fn embed_png_assets(
    mut spec: AgentSpec,
    image: Vec<u8>,
    mut chunks: BTreeMap<String, Vec<u8>>,
) -> Result<(AgentSpec, BTreeMap<String, Vec<u8>>), CardError> {
    let mut files = BTreeMap::new();
    let assets = spec.assets.get_or_insert_with(Vec::new);
    if !assets.iter().any(Asset::is_main_icon) {
        assets.insert(
            0,
            Asset {
                kind: "icon".into(),
                uri: "ccdefault:".into(),
                name: "main".into(),
                ext: "png".into(),
                extra: Default::default(),
            },
        );
    }
    let mut image = Some(image);
    for asset in assets.iter_mut() {
        // In a PNG card the image itself is the main icon, whatever its URI says.
        let is_image = asset.uri.starts_with("ccdefault:") || asset.embedded_path().is_some();
        if asset.is_main_icon() && is_image {
            if let Some(data) = image.take() {
                asset.ext = "png".into();
                place(asset, data, &mut files);
            }
        } else if let Some(path) = asset.uri.strip_prefix("__asset:") {
            let data = chunks.remove(path).ok_or_else(|| CardError::MissingAsset(asset.uri.clone()))?;
            place(asset, data, &mut files);
        }
    }
    embed_inline_assets(spec, files)
}

/// A copy of the spec whose embedded assets are rewritten by `rewrite`
/// (which gets the asset's index, the asset and its file).
fn rewrite_assets(agent: &Agent, mut rewrite: impl FnMut(usize, &Asset, &[u8]) -> Option<String>) -> AgentSpec {
    let mut spec = agent.spec().clone();
    if let Some(assets) = spec.assets.as_mut() {
        for (i, asset) in assets.iter_mut().enumerate() {
            let data = asset.embedded_path().and_then(|p| agent.files().get(p));
            if let Some(data) = data
                && let Some(uri) = rewrite(i, asset, data)
            {
                asset.uri = uri;
            }
        }
    }
    spec
}

fn mime(ext: &str) -> String {
    match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png".into(),
        "jpg" | "jpeg" => "image/jpeg".into(),
        "webp" => "image/webp".into(),
        "gif" => "image/gif".into(),
        "mp3" => "audio/mpeg".into(),
        "wav" => "audio/wav".into(),
        "ogg" => "audio/ogg".into(),
        _ => "application/octet-stream".into(),
    }
}

/// The spec with every embedded asset as a base64 `data:` URI, so that a
/// single JSON document carries the whole agent.
pub fn inline_assets(agent: &Agent) -> AgentSpec {
    rewrite_assets(agent, |_, asset, data| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        Some(format!("data:{};base64,{b64}", mime(&asset.ext)))
    })
}

/// Writes an agent in `format`. JSON formats carry embedded assets as
/// base64 `data:` URIs so that a single file loses nothing.
pub fn export(agent: &Agent, format: ExportFormat) -> Result<Vec<u8>, CardError> {
    let fits = |bytes: Vec<u8>| {
        if bytes.len() > limits::MAX_CARD_JSON_BYTES {
            Err(CardError::TooLargeForJson(bytes.len(), limits::MAX_CARD_JSON_BYTES))
        } else {
            Ok(bytes)
        }
    };
    Ok(match format {
        ExportFormat::Ccv3Json => fits(to_bytes(&card::to_v3_json(&inline_assets(agent))))?,
        ExportFormat::Ccv2Json => fits(to_bytes(&card::to_v2_json(&inline_assets(agent))))?,
        ExportFormat::ElizaJson => to_bytes(&eliza::export(agent.spec())),
        ExportFormat::Charx => charx::write(agent)?,
        ExportFormat::Ccv3Png => {
            let avatar = agent.avatar().filter(|(data, _)| data.starts_with(PNG_SIGNATURE)).map(|(d, _)| d);
            let mut chunks = Vec::new();
            let spec = rewrite_assets(agent, |i, asset, data| {
                if asset.is_main_icon() && avatar == Some(data) {
                    Some("ccdefault:".into())
                } else {
                    chunks.push((i.to_string(), data.to_vec()));
                    Some(format!("__asset:{i}"))
                }
            });
            let chara = serde_json::to_vec(&card::to_v2_json(&spec)).map_err(|e| CardError::Encode(e.to_string()))?;
            let ccv3 = serde_json::to_vec(&card::to_v3_json(&spec)).map_err(|e| CardError::Encode(e.to_string()))?;
            png_card::write(avatar, &spec.name, &chara, &ccv3, &chunks)?
        }
    })
}
