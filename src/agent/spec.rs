//! The agent model: a typed Character Card V3 (`data` of a `chara_card_v3`)
//! plus Familiar's own settings, and the one-step validation from raw JSON.
//!
//! Invariant: every key of the input that the spec does not model survives in
//! an `extra` or `extensions` map and is written back unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields::{Errors, FieldErrors, Obj, join};

/// Extension keys that hold Familiar's own typed settings.
pub mod ext {
    pub const MODEL: &str = "familiar/model";
    pub const SAMPLING: &str = "familiar/sampling";
    pub const VOICE: &str = "familiar/voice";
    pub const KNOWLEDGE: &str = "familiar/knowledge";
}

/// Everything a Character Card V3 `data` object holds, typed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentSpec {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub creator: String,
    pub character_version: String,
    pub mes_example: String,
    pub system_prompt: String,
    pub post_history_instructions: String,
    pub first_mes: String,
    pub alternate_greetings: Vec<String>,
    pub personality: String,
    pub scenario: String,
    pub creator_notes: String,
    pub character_book: Option<Lorebook>,
    /// `None` means the card has no `assets` field (V3: use the default icon).
    pub assets: Option<Vec<Asset>>,
    pub nickname: Option<String>,
    pub creator_notes_multilingual: Option<BTreeMap<String, String>>,
    pub source: Option<Vec<String>>,
    pub group_only_greetings: Vec<String>,
    pub creation_date: Option<i64>,
    pub modification_date: Option<i64>,
    /// Familiar's typed settings, stored as `extensions["familiar/…"]`.
    pub familiar: FamiliarSettings,
    /// Every other extension key, unchanged.
    pub extensions: Map<String, Value>,
    /// Keys of `data` that no spec defines, unchanged.
    pub extra: Map<String, Value>,
}

/// A V2/V3 lorebook (`character_book`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lorebook {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scan_depth: Option<u32>,
    pub token_budget: Option<u32>,
    pub recursive_scanning: Option<bool>,
    pub extensions: Map<String, Value>,
    pub entries: Vec<LoreEntry>,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoreEntry {
    pub keys: Vec<String>,
    pub content: String,
    pub extensions: Map<String, Value>,
    pub enabled: bool,
    pub insertion_order: i64,
    pub case_sensitive: Option<bool>,
    /// V3: keys are regular expressions (`/pattern/flags`).
    pub use_regex: bool,
    pub constant: Option<bool>,
    pub name: Option<String>,
    pub priority: Option<i64>,
    pub id: Option<EntryId>,
    pub comment: Option<String>,
    pub selective: Option<bool>,
    pub secondary_keys: Option<Vec<String>>,
    pub position: Option<String>,
    pub extra: Map<String, Value>,
}

/// V3 allows a lorebook entry id to be a number or a string.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryId {
    Number(i64),
    Text(String),
}

/// One asset of a V3 card.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// `icon`, `background`, `user_icon`, `emotion` or a custom `x_…` type.
    pub kind: String,
    pub uri: String,
    pub name: String,
    pub ext: String,
    pub extra: Map<String, Value>,
}

impl Asset {
    /// The path of the file this asset refers to inside the agent, if it is embedded.
    pub fn embedded_path(&self) -> Option<&str> {
        self.uri.strip_prefix(EMBEDDED)
    }

    pub fn is_main_icon(&self) -> bool {
        self.kind == "icon" && self.name == "main"
    }
}

/// The URI scheme of files inside a CHARX (the spec's spelling).
pub const EMBEDDED: &str = "embeded://";

/// Familiar's own settings, each under its `familiar/…` extension key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FamiliarSettings {
    pub model: Option<ModelSettings>,
    pub sampling: Option<Sampling>,
    pub voice: Option<VoiceRef>,
    pub knowledge: Vec<KnowledgeRef>,
}

/// Which model answers for the agent. Unknown keys are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelSettings {
    /// A model id from the model manager, e.g. `smollm2-135m-instruct-q4_1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A chat template that overrides the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u32>,
    /// An OpenAI-compatible endpoint used instead of a local model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteEngine>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RemoteEngine {
    pub base_url: String,
    pub model: String,
    /// The name of the environment variable that holds the API key; never the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Sampling settings as a plain value; absent fields use the engine's defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sampling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The agent's voice: a bundled preset, how it speaks, and a voice profile
/// shipped with the agent (the cloned voice). Unknown keys are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VoiceRef {
    /// A bundled voice preset (`voices/`), used when there is no profile or no cloning model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Speaking rate: 1.0 is the voice's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f32>,
    /// Pitch shift in semitones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<VoiceProfile>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A voice profile: the creator's reference recording (the embedded asset of
/// type `voice` named `reference`), its speaker fingerprint, the checks it
/// passed, and the creator's recorded consent (the asset named `consent`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceProfile {
    /// Seconds of reference audio.
    pub seconds: f64,
    pub fingerprint: VoiceFingerprint,
    /// The checks of the reference recording, as measured.
    #[serde(default)]
    pub checks: Value,
    pub consent: VoiceConsent,
    /// When the profile was created (Unix seconds).
    pub created_at: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A speaker fingerprint and the model that computed it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceFingerprint {
    pub model: String,
    pub vector: Vec<f32>,
}

/// The creator's consent: the sentence shown, what was heard, and how it matched.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceConsent {
    pub sentence: String,
    pub transcript: String,
    /// Word error rate of the transcript against the sentence.
    pub word_error_rate: f64,
    /// Fingerprint similarity of the read-out to the reference, and the bound it had to reach.
    pub similarity: f32,
    pub threshold: f32,
    pub accepted: bool,
    pub at: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A knowledge base the agent answers from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KnowledgeRef {
    pub name: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentSpec {
    /// Validates a raw V2/V3 `data` object (or a V1 card root) into a spec.
    /// `path` is where that object sits in the document, e.g. `data`.
    pub fn from_data(path: &str, value: &Value) -> Result<AgentSpec, FieldErrors> {
        let errors = Errors::default();
        let spec = match Obj::of(path, value, &errors) {
            Some(mut data) => read_data(&mut data),
            None => AgentSpec::default(),
        };
        errors.finish(spec)
    }

    /// The `data` object of a Character Card V3 (or V2: same fields).
    pub fn to_data(&self) -> Value {
        let mut d = Map::new();
        let s = |v: &str| Value::String(v.to_owned());
        let list = |v: &[String]| Value::Array(v.iter().map(|x| s(x)).collect());
        d.insert("name".into(), s(&self.name));
        d.insert("description".into(), s(&self.description));
        d.insert("tags".into(), list(&self.tags));
        d.insert("creator".into(), s(&self.creator));
        d.insert("character_version".into(), s(&self.character_version));
        d.insert("mes_example".into(), s(&self.mes_example));
        d.insert("extensions".into(), Value::Object(self.all_extensions()));
        d.insert("system_prompt".into(), s(&self.system_prompt));
        d.insert("post_history_instructions".into(), s(&self.post_history_instructions));
        d.insert("first_mes".into(), s(&self.first_mes));
        d.insert("alternate_greetings".into(), list(&self.alternate_greetings));
        d.insert("personality".into(), s(&self.personality));
        d.insert("scenario".into(), s(&self.scenario));
        d.insert("creator_notes".into(), s(&self.creator_notes));
        if let Some(book) = &self.character_book {
            d.insert("character_book".into(), book.to_value());
        }
        if let Some(assets) = &self.assets {
            d.insert("assets".into(), Value::Array(assets.iter().map(Asset::to_value).collect()));
        }
        if let Some(nickname) = &self.nickname {
            d.insert("nickname".into(), s(nickname));
        }
        if let Some(notes) = &self.creator_notes_multilingual {
            let map = notes.iter().map(|(k, v)| (k.clone(), s(v))).collect();
            d.insert("creator_notes_multilingual".into(), Value::Object(map));
        }
        if let Some(source) = &self.source {
            d.insert("source".into(), list(source));
        }
        d.insert("group_only_greetings".into(), list(&self.group_only_greetings));
        if let Some(date) = self.creation_date {
            d.insert("creation_date".into(), date.into());
        }
        if let Some(date) = self.modification_date {
            d.insert("modification_date".into(), date.into());
        }
        for (k, v) in &self.extra {
            d.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(d)
    }

    /// `extensions` as written to a card: the unknown keys first, in their
    /// original order, then Familiar's typed settings.
    pub fn all_extensions(&self) -> Map<String, Value> {
        let mut map = self.extensions.clone();
        let f = &self.familiar;
        let to_value = |v: &dyn erased::ToValue| v.to_value();
        if let Some(model) = &f.model {
            map.insert(ext::MODEL.into(), to_value(model));
        }
        if let Some(sampling) = &f.sampling {
            map.insert(ext::SAMPLING.into(), to_value(sampling));
        }
        if let Some(voice) = &f.voice {
            map.insert(ext::VOICE.into(), to_value(voice));
        }
        if !f.knowledge.is_empty() {
            map.insert(ext::KNOWLEDGE.into(), to_value(&f.knowledge));
        }
        map
    }

    /// The embedded files this spec refers to, by path.
    pub fn embedded_paths(&self) -> impl Iterator<Item = &str> {
        self.assets.iter().flatten().filter_map(Asset::embedded_path)
    }
}

mod erased {
    use serde::Serialize;
    use serde_json::Value;

    pub trait ToValue {
        fn to_value(&self) -> Value;
    }

    impl<T: Serialize> ToValue for T {
        fn to_value(&self) -> Value {
            // Serializing these plain structs into a Value cannot fail: they hold
            // only strings, numbers and maps with string keys.
            serde_json::to_value(self).unwrap_or(Value::Null)
        }
    }
}

fn read_data(d: &mut Obj<'_>) -> AgentSpec {
    let name = d.required_string("name");
    let mut extensions = d.object("extensions");
    let familiar = read_familiar(&join(&d.path, "extensions"), &mut extensions, d.errors());
    let character_book = d.child("character_book").map(|mut b| read_book(&mut b));
    let assets = read_assets(d);
    let creator_notes_multilingual = d.child("creator_notes_multilingual").map(|o| {
        let mut notes = BTreeMap::new();
        for (lang, text) in o.rest() {
            match text {
                Value::String(t) => {
                    notes.insert(lang, t);
                }
                other => o.error(&lang, format!("expected a string, found {}", super::fields::kind(&other))),
            }
        }
        notes
    });
    let spec = AgentSpec {
        name,
        description: d.string("description"),
        tags: d.strings("tags"),
        creator: d.string("creator"),
        character_version: d.string("character_version"),
        mes_example: d.string("mes_example"),
        system_prompt: d.string("system_prompt"),
        post_history_instructions: d.string("post_history_instructions"),
        first_mes: d.string("first_mes"),
        alternate_greetings: d.strings("alternate_greetings"),
        personality: d.string("personality"),
        scenario: d.string("scenario"),
        creator_notes: d.string("creator_notes"),
        character_book,
        assets,
        nickname: d.opt_string("nickname"),
        creator_notes_multilingual,
        source: d.opt_strings("source"),
        group_only_greetings: d.strings("group_only_greetings"),
        creation_date: d.opt_i64("creation_date"),
        modification_date: d.opt_i64("modification_date"),
        familiar,
        extensions,
        extra: Map::new(),
    };
    AgentSpec { extra: d.rest(), ..spec }
}

fn read_familiar(path: &str, extensions: &mut Map<String, Value>, errors: &Errors) -> FamiliarSettings {
    fn take<T: serde::de::DeserializeOwned>(
        path: &str,
        key: &str,
        extensions: &mut Map<String, Value>,
        errors: &Errors,
    ) -> Option<T> {
        let value = extensions.shift_remove(key)?;
        if value.is_null() {
            return None;
        }
        match serde_json::from_value(value) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(join(path, key), e.to_string());
                None
            }
        }
    }
    FamiliarSettings {
        model: take(path, ext::MODEL, extensions, errors),
        sampling: take(path, ext::SAMPLING, extensions, errors),
        voice: take(path, ext::VOICE, extensions, errors),
        knowledge: take(path, ext::KNOWLEDGE, extensions, errors).unwrap_or_default(),
    }
}

fn read_assets(d: &mut Obj<'_>) -> Option<Vec<Asset>> {
    let path = join(&d.path, "assets");
    let errors = d.errors();
    let value = d.raw("assets")?;
    let Value::Array(items) = value else {
        errors.push(path, format!("expected an array, found {}", super::fields::kind(value)));
        return None;
    };
    let mut assets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(mut a) = Obj::of(format!("{path}[{i}]"), item, errors) {
            let asset = Asset {
                kind: a.required_string("type"),
                uri: a.required_string("uri"),
                name: a.string("name"),
                ext: a.string("ext"),
                extra: Map::new(),
            };
            assets.push(Asset { extra: a.rest(), ..asset });
        }
    }
    Some(assets)
}

fn read_book(b: &mut Obj<'_>) -> Lorebook {
    let path = join(&b.path, "entries");
    let errors = b.errors();
    let mut entries = Vec::new();
    match b.raw("entries") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(mut e) = Obj::of(format!("{path}[{i}]"), item, errors) {
                    entries.push(read_entry(&mut e));
                }
            }
        }
        Some(other) => errors.push(path, format!("expected an array, found {}", super::fields::kind(other))),
    }
    let book = Lorebook {
        name: b.opt_string("name"),
        description: b.opt_string("description"),
        scan_depth: b.opt_u32("scan_depth"),
        token_budget: b.opt_u32("token_budget"),
        recursive_scanning: b.opt_bool("recursive_scanning"),
        extensions: b.object("extensions"),
        entries,
        extra: Map::new(),
    };
    Lorebook { extra: b.rest(), ..book }
}

fn read_entry(e: &mut Obj<'_>) -> LoreEntry {
    let id = match e.raw("id") {
        None => None,
        Some(Value::String(s)) => Some(EntryId::Text(s.clone())),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Some(EntryId::Number(n)),
            None => {
                e.error("id", "expected an integer or a string");
                None
            }
        },
        Some(other) => {
            e.error("id", format!("expected a number or a string, found {}", super::fields::kind(other)));
            None
        }
    };
    let entry = LoreEntry {
        keys: e.strings("keys"),
        content: e.string("content"),
        extensions: e.object("extensions"),
        enabled: e.opt_bool("enabled").unwrap_or(true),
        insertion_order: e.opt_i64("insertion_order").unwrap_or(0),
        case_sensitive: e.opt_bool("case_sensitive"),
        use_regex: e.opt_bool("use_regex").unwrap_or(false),
        constant: e.opt_bool("constant"),
        name: e.opt_string("name"),
        priority: e.opt_i64("priority"),
        id,
        comment: e.opt_string("comment"),
        selective: e.opt_bool("selective"),
        secondary_keys: e.opt_strings("secondary_keys"),
        position: e.opt_string("position"),
        extra: Map::new(),
    };
    LoreEntry { extra: e.rest(), ..entry }
}

impl Lorebook {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(v) = &self.name {
            m.insert("name".into(), v.clone().into());
        }
        if let Some(v) = &self.description {
            m.insert("description".into(), v.clone().into());
        }
        if let Some(v) = self.scan_depth {
            m.insert("scan_depth".into(), v.into());
        }
        if let Some(v) = self.token_budget {
            m.insert("token_budget".into(), v.into());
        }
        if let Some(v) = self.recursive_scanning {
            m.insert("recursive_scanning".into(), v.into());
        }
        m.insert("extensions".into(), Value::Object(self.extensions.clone()));
        m.insert("entries".into(), Value::Array(self.entries.iter().map(LoreEntry::to_value).collect()));
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

impl LoreEntry {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("keys".into(), self.keys.clone().into());
        m.insert("content".into(), self.content.clone().into());
        m.insert("extensions".into(), Value::Object(self.extensions.clone()));
        m.insert("enabled".into(), self.enabled.into());
        m.insert("insertion_order".into(), self.insertion_order.into());
        if let Some(v) = self.case_sensitive {
            m.insert("case_sensitive".into(), v.into());
        }
        m.insert("use_regex".into(), self.use_regex.into());
        if let Some(v) = self.constant {
            m.insert("constant".into(), v.into());
        }
        if let Some(v) = &self.name {
            m.insert("name".into(), v.clone().into());
        }
        if let Some(v) = self.priority {
            m.insert("priority".into(), v.into());
        }
        match &self.id {
            Some(EntryId::Number(n)) => {
                m.insert("id".into(), (*n).into());
            }
            Some(EntryId::Text(s)) => {
                m.insert("id".into(), s.clone().into());
            }
            None => {}
        }
        if let Some(v) = &self.comment {
            m.insert("comment".into(), v.clone().into());
        }
        if let Some(v) = self.selective {
            m.insert("selective".into(), v.into());
        }
        if let Some(v) = &self.secondary_keys {
            m.insert("secondary_keys".into(), v.clone().into());
        }
        if let Some(v) = &self.position {
            m.insert("position".into(), v.clone().into());
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

impl Asset {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.kind.clone().into());
        m.insert("uri".into(), self.uri.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("ext".into(), self.ext.clone().into());
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}
