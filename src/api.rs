//! The one core API. The CLI, the HTTP server and the desktop shell call
//! these functions and nothing below them.
//!
//! Architecture invariant: no function here prints, reads global state, or
//! knows which front end called it; the clock comes from the [`Studio`].
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::agent::{self, Agent, AgentSpec, CardError, ExportFormat, ImportOptions, Imported};
use crate::package::{self, PackageError, PackageId};
use crate::store::{AgentSummary, Store, StoreError, VersionInfo};
use crate::{paths, samples};

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
}

/// Stable error codes a front end may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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

/// An open data folder: the store and the clock every call uses.
#[derive(Clone)]
pub struct Studio {
    store: Store,
    home: PathBuf,
    clock: Clock,
}

impl Studio {
    /// Opens the data folder `home`, creating it and its database if needed.
    pub async fn open(home: &Path) -> Result<Studio> {
        let store = Store::open(&paths::database(home)).await?;
        Ok(Studio { store, home: home.to_path_buf(), clock: system_clock() })
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
pub struct AgentRef {
    /// The agent's id.
    pub id: String,
    /// The agent's name.
    pub name: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
