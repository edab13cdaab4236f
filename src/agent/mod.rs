//! Agents: the typed spec, its embedded files, and every card format in and out.
//!
//! Architecture invariant: an [`Agent`] is always valid. Its spec passed
//! validation and every `embeded://` asset URI names a file in `files`, whose
//! paths are safe relative paths. Importers build agents only through
//! [`Agent::new`], so nothing half-checked reaches the store.

mod card;
mod charx;
mod eliza;
mod fields;
mod import;
mod modelfile;
mod png_card;
mod spec;

use std::collections::BTreeMap;

pub use card::{to_v2_json, to_v3_json};
pub use fields::{FieldError, FieldErrors};
pub use import::{
    ExportFormat, Format, ImportOptions, Imported, UnknownExportFormat, export, import_bytes, import_dir, inline_assets,
};
pub use spec::{
    AgentSpec, Asset, EMBEDDED, EntryId, FamiliarSettings, KnowledgeRef, LoreEntry, Lorebook, ModelSettings,
    RemoteEngine, Sampling, VoiceConsent, VoiceFingerprint, VoiceProfile, VoiceRef, ext,
};

use crate::archive::{ArchiveError, is_safe_path};

/// The asset type of a voice profile's recordings, and their names.
pub const VOICE_ASSET: &str = "voice";
pub const VOICE_REFERENCE: &str = "reference";
pub const VOICE_CONSENT: &str = "consent";

/// Upper bounds on what an import may contain.
pub mod limits {
    /// The largest file accepted for import.
    pub const MAX_INPUT_BYTES: usize = 256 << 20;
    /// The largest card JSON (after base64 decoding).
    pub const MAX_CARD_JSON_BYTES: usize = 16 << 20;
    /// The most assets one agent may embed.
    pub const MAX_ASSETS: usize = 1024;
}

/// A validated agent: its spec and the files its assets embed.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    spec: AgentSpec,
    files: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {0} bytes, more than the limit of {1}")]
    TooLarge(usize, usize),
    #[error("unrecognised file: {0}")]
    UnknownFormat(String),
    #[error("invalid card: {0}")]
    Invalid(#[from] FieldErrors),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("the text is not valid UTF-8 (at byte {0})")]
    Utf8(usize),
    #[error("invalid base64 in {0}: {1}")]
    Base64(String, base64::DecodeError),
    #[error("invalid PNG: {0}")]
    Png(String),
    #[error("the PNG has no character card in it (no `ccv3` or `chara` text chunk)")]
    NoCardInPng,
    #[error("invalid CHARX archive: {0}")]
    Archive(#[from] ArchiveError),
    #[error("the CHARX archive has no card.json at its root")]
    NoCardJson,
    #[error("asset `{0}` is not in the archive")]
    MissingAsset(String),
    #[error("unsafe asset path `{0}`")]
    UnsafeAssetPath(String),
    #[error("too many assets (the limit is {0})")]
    TooManyAssets(usize),
    #[error("{0}")]
    NotAnAgent(String),
    #[error("invalid Modelfile, line {line}: {message}")]
    Modelfile { line: usize, message: String },
    #[error("could not read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("the card would be {0} bytes as JSON, more than the {1} a JSON card may have; export it as CHARX instead")]
    TooLargeForJson(usize, usize),
    #[error("could not encode the card: {0}")]
    Encode(String),
}

impl Agent {
    /// Builds an agent, checking that embedded assets and files match one to one.
    /// Files no asset refers to are dropped.
    pub fn new(spec: AgentSpec, mut files: BTreeMap<String, Vec<u8>>) -> Result<Agent, CardError> {
        let assets = spec.assets.as_deref().unwrap_or_default();
        if assets.len() > limits::MAX_ASSETS {
            return Err(CardError::TooManyAssets(limits::MAX_ASSETS));
        }
        let mut used = BTreeMap::new();
        for path in spec.embedded_paths() {
            if !is_safe_path(path) {
                return Err(CardError::UnsafeAssetPath(path.to_owned()));
            }
            match files.remove(path) {
                Some(data) => {
                    used.insert(path.to_owned(), data);
                }
                None if used.contains_key(path) => {}
                None => return Err(CardError::MissingAsset(path.to_owned())),
            }
        }
        Ok(Agent { spec, files: used })
    }

    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Embedded files by path (`assets/icon/images/main.png`, …).
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The main icon's bytes and extension, if the agent embeds one.
    pub fn avatar(&self) -> Option<(&[u8], &str)> {
        let assets = self.spec.assets.as_deref()?;
        let icon = assets.iter().find(|a| a.is_main_icon() && a.embedded_path().is_some())?;
        let data = self.files.get(icon.embedded_path()?)?;
        Some((data, icon.ext.as_str()))
    }

    /// The card as Character Card V3 JSON, with assets as `embeded://` URIs.
    pub fn card_json(&self) -> serde_json::Value {
        to_v3_json(&self.spec)
    }

    /// The embedded file of the asset of type `kind` named `name`.
    pub fn asset_file(&self, kind: &str, name: &str) -> Option<&[u8]> {
        let asset = self.spec.assets.as_deref()?.iter().find(|a| a.kind == kind && a.name == name)?;
        self.files.get(asset.embedded_path()?).map(Vec::as_slice)
    }

    /// The agent with a voice profile: its reference and consent recordings
    /// (WAV) become the assets `voice/reference` and `voice/consent`, replacing
    /// earlier ones, and the profile goes into `familiar/voice`.
    pub fn with_voice_profile(
        &self,
        profile: VoiceProfile,
        reference: Vec<u8>,
        consent: Vec<u8>,
    ) -> Result<Agent, CardError> {
        let mut agent = self.without_voice_profile()?;
        let assets = agent.spec.assets.get_or_insert_with(Vec::new);
        for (name, data) in [(VOICE_REFERENCE, reference), (VOICE_CONSENT, consent)] {
            let path = format!("assets/{VOICE_ASSET}/audio/{name}.wav");
            assets.push(Asset {
                kind: VOICE_ASSET.into(),
                uri: format!("{EMBEDDED}{path}"),
                name: name.into(),
                ext: "wav".into(),
                extra: Default::default(),
            });
            agent.files.insert(path, data);
        }
        agent.spec.familiar.voice.get_or_insert_with(Default::default).profile = Some(profile);
        Agent::new(agent.spec, agent.files)
    }

    /// The agent without its voice profile and recordings (preset and prosody stay).
    pub fn without_voice_profile(&self) -> Result<Agent, CardError> {
        let mut spec = self.spec.clone();
        if let Some(assets) = spec.assets.as_mut() {
            assets.retain(|a| a.kind != VOICE_ASSET);
        }
        if let Some(voice) = spec.familiar.voice.as_mut() {
            voice.profile = None;
        }
        Agent::new(spec, self.files.clone())
    }

    /// Replaces the spec, keeping the files (for editors). Fails if an
    /// embedded asset the new spec names is not among the agent's files.
    pub fn with_spec(&self, spec: AgentSpec) -> Result<Agent, CardError> {
        Agent::new(spec, self.files.clone())
    }
}

/// Parses card JSON bytes with the hostile-input limits (size, UTF-8, nesting).
pub fn parse_card_json(bytes: &[u8]) -> Result<serde_json::Value, CardError> {
    card::parse_json(bytes)
}

/// Reads a Character Card V3 document (as stored and packaged) into a spec.
pub fn spec_from_v3(value: &serde_json::Value) -> Result<AgentSpec, CardError> {
    match card::spec_from_card(value)? {
        (spec, card::CardVersion::V3) => Ok(spec),
        _ => Err(CardError::NotAnAgent("expected a Character Card V3 (`chara_card_v3`)".into())),
    }
}
