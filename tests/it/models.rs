//! The model manager: imports, and the real download code against a local
//! server that serves a real model the way the Hugging Face Hub does
//! (redirect with `X-Linked-Etag`, `Range` requests).

use std::sync::Arc;

use familiar::api;
use familiar::models::{Progress, PullRequest};
use familiar_infer::CancelToken;
use sha2::Digest;

use crate::support::*;

const REPO: &str = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF";
const FILE: &str = "smollm2-135m-instruct-q4_1.gguf";

fn hub(bytes: Vec<u8>, etag: Option<String>, cut: Option<usize>) -> Hub {
    let etag = etag.unwrap_or_else(|| hex::encode(sha2::Sha256::digest(&bytes)));
    Hub::start(vec![HubFile { repo: REPO.into(), name: FILE.into(), bytes, etag }], cut)
}

fn request(hub: &Hub) -> PullRequest {
    PullRequest { endpoint: hub.url.clone(), ..PullRequest::new(REPO, FILE) }
}

fn no_progress() -> Arc<dyn Fn(Progress) + Send + Sync> {
    Arc::new(|_| {})
}

fn partial_files(studio: &api::Studio) -> Vec<String> {
    std::fs::read_dir(studio.home().join("models/.partial"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_download_cut_short_resumes_and_is_verified() {
    let bytes = std::fs::read(bundled_model()).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let hub = hub(bytes.clone(), None, Some(bytes.len() / 3));
    let (_dir, studio) = studio().await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress: Arc<dyn Fn(Progress) + Send + Sync> = {
        let seen = seen.clone();
        Arc::new(move |p| seen.lock().unwrap().push(p))
    };
    let model = api::pull_model(&studio, request(&hub), progress, CancelToken::default()).await.unwrap();
    assert_eq!(model.id, "smollm2-135m-instruct-q4_1");
    assert_eq!(model.sha256, sha);
    assert_eq!(model.arch, "llama");
    assert_eq!(std::fs::read(studio.home().join("models").join(FILE)).unwrap(), bytes);
    assert!(partial_files(&studio).is_empty());
    let log = hub.log.lock().unwrap().clone();
    assert!(
        log.iter().any(|l| l.starts_with("/cdn/") && l.contains(&format!("range=Some({})", bytes.len() / 3))),
        "{log:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last().unwrap().done, bytes.len() as u64);
    assert!(seen.windows(2).all(|w| w[1].done >= w[0].done), "progress never goes back: the retry resumed");
    assert_eq!(api::list_models(&studio).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_part_and_the_next_pull_resumes() {
    let bytes = std::fs::read(bundled_model()).unwrap();
    let hub = hub(bytes.clone(), None, None);
    let (_dir, studio) = studio().await;
    let cancel = CancelToken::default();
    let progress: Arc<dyn Fn(Progress) + Send + Sync> = {
        let cancel = cancel.clone();
        Arc::new(move |p: Progress| {
            if p.done > 10 << 20 {
                cancel.cancel();
            }
        })
    };
    let err = api::pull_model(&studio, request(&hub), progress, cancel).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::DownloadInterrupted);
    assert!(err.to_string().contains("run the same command again to resume"), "{err}");
    assert_eq!(partial_files(&studio), [FILE]);
    assert!(api::list_models(&studio).await.unwrap().is_empty(), "a partial download is not a model");
    api::pull_model(&studio, request(&hub), no_progress(), CancelToken::default()).await.unwrap();
    let log = hub.log.lock().unwrap().clone();
    assert!(log.last().unwrap().contains("range=Some("), "the second pull asked for the rest: {log:?}");
    assert_eq!(std::fs::read(studio.home().join("models").join(FILE)).unwrap(), bytes);
}

#[tokio::test]
async fn a_wrong_checksum_a_truncated_model_or_a_missing_file_installs_nothing() {
    let bytes = std::fs::read(bundled_model()).unwrap();
    let (_dir, studio) = studio().await;

    let lying = hub(bytes.clone(), Some("0".repeat(64)), None);
    let err = api::pull_model(&studio, request(&lying), no_progress(), CancelToken::default()).await.unwrap_err();
    assert!(err.to_string().contains("sha256") && err.to_string().contains("discarded"), "{err}");

    let half = bytes[..bytes.len() / 2].to_vec();
    let truncated = hub(half, None, None);
    let err = api::pull_model(&studio, request(&truncated), no_progress(), CancelToken::default()).await.unwrap_err();
    assert!(err.to_string().contains("is truncated"), "{err}");

    let err = api::pull_model(
        &studio,
        PullRequest { file: "nope.gguf".into(), ..request(&truncated) },
        no_progress(),
        CancelToken::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");

    assert!(api::list_models(&studio).await.unwrap().is_empty());
    assert!(partial_files(&studio).is_empty());
    assert!(!studio.home().join("models").join(FILE).exists());
}

#[tokio::test]
async fn local_ggufs_import_and_anything_else_is_refused() {
    let (dir, studio) = studio().await;
    let model = api::import_model(&studio, &bundled_model()).await.unwrap();
    assert_eq!(model.id, "smollm2-135m-instruct-q4_1");
    // Without a GPU backend in the build it runs on the CPU, with nothing to explain.
    #[cfg(not(feature = "cuda"))]
    {
        let placements = api::model_placements(&studio, std::slice::from_ref(&model));
        assert!(
            matches!(placements[..], [Some(Ok(familiar::models::Placement::Cpu { note: None }))]),
            "{placements:?}"
        );
    }
    let fake = write(dir.path(), "fake.gguf", b"GGUF but not really");
    let err = api::import_model(&studio, &fake).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::ModelFailed);
    let text = write(dir.path(), "notes.txt", b"hello");
    assert!(api::import_model(&studio, &text).await.is_err());
    assert_eq!(api::list_models(&studio).await.unwrap().len(), 1);
    api::remove_model(&studio, &model.id).await.unwrap();
    assert!(api::list_models(&studio).await.unwrap().is_empty());
    assert!(!studio.home().join("models").join(familiar::models::BUNDLED_MODEL).exists());
}

#[test]
fn an_embedding_model_is_pulled_file_by_file_from_the_hub() {
    let cache =
        familiar::models::bundled_embedding_dir().expect("the embedding model is missing: run scripts/fetch-models.sh");
    let repo = "sentence-transformers/all-MiniLM-L6-v2";
    // Every file but modules.json, which is optional: the Hub answers 404 for it.
    let files =
        ["config.json", "tokenizer.json", "model.safetensors", "sentence_bert_config.json", "1_Pooling/config.json"]
            .iter()
            .map(|name| {
                let bytes = std::fs::read(cache.join(name)).unwrap();
                let etag = hex::encode(sha2::Sha256::digest(&bytes));
                HubFile { repo: repo.into(), name: (*name).into(), bytes, etag }
            })
            .collect();
    // The first download breaks off after 100 bytes and must resume.
    let hub = Hub::start(files, Some(100));
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_familiar"))
        .args(["models", "pull", repo, "--embedding", "--json"])
        .env("FAMILIAR_HOME", home.path())
        .env("HF_ENDPOINT", &hub.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((model["id"].as_str(), model["arch"].as_str()), (Some("all-minilm-l6-v2"), Some("bert")));
    assert_eq!(model["source"], format!("hf:{repo}"));
    assert!(hub.log.lock().unwrap().iter().any(|l| l.contains("range=Some(100)")), "resumed with a Range request");
    assert!(!home.path().join("models/.partial/all-minilm-l6-v2").exists(), "the staging folder is cleaned up");
    // It is now selectable for a knowledge base.
    let kb = json(home.path(), &["kb", "create", "notes", "--embedding-model", "all-minilm-l6-v2", "--json"]);
    assert_eq!(kb["dim"], 384);
    let e = fails(home.path(), &["kb", "create", "other", "--embedding-model", "nope"]);
    assert!(e.contains("no model `nope`"), "{e}");
}

/// `familiar` with the Hub, and PyPI's file server, at `hub`.
fn familiar_from(hub: &Hub, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_familiar"))
        .args(args)
        .env("FAMILIAR_HOME", home)
        .env("HF_ENDPOINT", &hub.url)
        .env(familiar::models::PYPI_FILES_ENV, &hub.url)
        .output()
        .unwrap()
}

fn hub_file(repo: &str, name: &str, bytes: Vec<u8>) -> HubFile {
    let etag = hex::encode(sha2::Sha256::digest(&bytes));
    HubFile { repo: repo.into(), name: name.into(), bytes, etag }
}

#[test]
fn a_speech_model_is_pulled_checked_and_then_used_for_speech_to_text() {
    // whisper.cpp's repository, serving a real ggml Whisper (our conversion of tiny.en) and a broken one.
    let model = std::fs::read(crate::voice::converted_model()).unwrap();
    let hub = Hub::start(
        vec![
            hub_file("ggerganov/whisper.cpp", "ggml-tiny.en.bin", model.clone()),
            hub_file("ggerganov/whisper.cpp", "ggml-base.en.bin", b"not a model at all, just some bytes".repeat(100)),
        ],
        Some(model.len() / 2),
    );
    let home = tempfile::tempdir().unwrap();
    let out = familiar_from(&hub, home.path(), &["models", "pull", "whisper-tiny.en", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((installed["id"].as_str(), installed["arch"].as_str()), (Some("whisper-tiny.en"), Some("whisper")));
    assert!(hub.log.lock().unwrap().iter().any(|l| l.contains(&format!("range=Some({})", model.len() / 2))));
    // No `familiar setup` here: the pulled model is the one that transcribes.
    let said = crate::voice::speak(home.path(), "said.wav", "Please send the report to the whole team.");
    let text = ok(home.path(), &["voice", "transcribe", said.to_str().unwrap()]);
    assert!(crate::voice::wer("Please send the report to the whole team.", &text) <= 0.2, "{text}");

    // A file that is not a Whisper model is refused and leaves nothing behind.
    let out = familiar_from(&hub, home.path(), &["models", "pull", "whisper-base.en"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not a whisper.cpp ggml model"), "{err}");
    let models = json(home.path(), &["models", "list", "--json"]);
    assert_eq!(models.as_array().unwrap().len(), 1, "{models}");
    assert!(!home.path().join("models/.partial/whisper-base.en").exists());
    let unknown = fails(home.path(), &["models", "pull", "whisper-huge"]);
    assert!(unknown.contains("name the file to pull"), "{unknown}");
}

#[test]
fn the_voice_cloning_model_is_pulled_from_two_repositories_into_one_folder() {
    let source = tempfile::tempdir().unwrap();
    familiar_voice::clone::write_random_model(source.path(), &Default::default(), 3).unwrap();
    let files: Vec<HubFile> = familiar_voice::clone::FILES
        .iter()
        .map(|f| hub_file(f.repo, f.path, std::fs::read(source.path().join(f.name)).unwrap()))
        .collect();
    let hub = Hub::start(files, Some(1000));
    let home = tempfile::tempdir().unwrap();
    let out = familiar_from(&hub, home.path(), &["models", "pull", "metavoice-1b", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((installed["id"].as_str(), installed["arch"].as_str()), (Some("metavoice-1b"), Some("metavoice")));
    let folder = home.path().join("models/voices/metavoice-1b");
    for f in familiar_voice::clone::FILES {
        assert_eq!(std::fs::read(folder.join(f.name)).unwrap(), std::fs::read(source.path().join(f.name)).unwrap());
    }
    // What was pulled loads as the cloned voice.
    familiar_voice::clone::ClonedVoice::load(&folder, Default::default()).unwrap();
    // Removing it removes the folder.
    ok(home.path(), &["models", "rm", "metavoice-1b"]);
    assert!(!folder.exists());
}

/// The cached default voice (model, config) and ONNX Runtime's wheel, as `scripts/fetch-models.sh` keeps them.
fn cached_voice_and_wheel() -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (voice, runtime) = familiar::models::bundled_voice_files().expect("run scripts/fetch-models.sh");
    let wheel_name = familiar::models::ONNXRUNTIME.path.rsplit('/').next().unwrap();
    let wheel = runtime.with_file_name(wheel_name);
    assert!(wheel.is_file(), "{} is missing: run scripts/fetch-models.sh", wheel.display());
    (voice.clone(), voice.with_extension("onnx.json"), wheel)
}

/// Piper's repository serving the default voice (with `model` as its model
/// file), and PyPI's file server serving `wheel` as ONNX Runtime's.
fn voice_hub(model: Vec<u8>, wheel: Vec<u8>, cut: Option<usize>) -> Hub {
    let (_, config, _) = cached_voice_and_wheel();
    let [onnx, json] = familiar_voice::tts::DEFAULT_VOICE_FILES;
    let etag = String::new(); // PyPI sends none: the wheel's sha256 is pinned in the build.
    Hub::start(
        vec![
            HubFile { repo: String::new(), name: familiar::models::ONNXRUNTIME.path.into(), bytes: wheel, etag },
            hub_file(onnx.repo, onnx.path, model),
            hub_file(json.repo, json.path, std::fs::read(config).unwrap()),
        ],
        cut,
    )
}

#[test]
fn the_default_voice_is_pulled_with_onnx_runtime_from_pypi_and_then_speaks() {
    let (model, _, wheel) = cached_voice_and_wheel();
    // The first download (the wheel) breaks off after 1000 bytes and must resume.
    let hub = voice_hub(std::fs::read(&model).unwrap(), std::fs::read(&wheel).unwrap(), Some(1000));
    let home = crate::voice::home_with_speech_model();
    let out = familiar_from(&hub, home.path(), &["models", "pull", "piper-joe-medium", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((installed["id"].as_str(), installed["arch"].as_str()), (Some("piper-joe-medium"), Some("piper")));
    assert!(installed["source"].as_str().unwrap().starts_with("hf:rhasspy/piper-voices/"), "{installed}");
    let log = hub.log.lock().unwrap().clone();
    assert!(log.iter().any(|l| l.contains(".whl range=Some(1000)")), "the wheel resumed: {log:?}");
    let runtime = home.path().join("models/onnxruntime");
    for name in ["libonnxruntime.so", "LICENSE", "ThirdPartyNotices.txt"] {
        assert!(runtime.join(name).is_file(), "{name} is installed");
    }
    let staged: Vec<_> = std::fs::read_dir(home.path().join("models/.partial")).unwrap().flatten().collect();
    assert!(staged.is_empty(), "neither the wheel nor the staged voice is kept: {staged:?}");

    // No `familiar setup` here: the pulled voice speaks, and what it says can be understood.
    let said = "The library opens early in the morning, and closes late in the evening.";
    let wav = home.path().join("said.wav");
    ok(home.path(), &["voice", "say", said, "--out", wav.to_str().unwrap()]);
    let heard = ok(home.path(), &["voice", "transcribe", wav.to_str().unwrap()]);
    assert!(crate::voice::wer(said, &heard) <= 0.2, "{heard}");

    // Removing it removes its folder, and the error then says how to get it back.
    ok(home.path(), &["models", "rm", "piper-joe-medium"]);
    assert!(!home.path().join("models/voices/piper-joe-medium").exists());
    let e = fails(home.path(), &["voice", "say", said, "--out", wav.to_str().unwrap()]);
    assert!(e.contains("familiar models pull piper-joe-medium"), "{e}");
}

#[test]
fn a_wrong_runtime_wheel_or_a_broken_voice_installs_nothing() {
    let (model, _, wheel) = cached_voice_and_wheel();
    let home = tempfile::tempdir().unwrap();
    // A wheel that is not the pinned one: refused by its sha256; nothing of it stays.
    let hub = voice_hub(std::fs::read(&model).unwrap(), b"PK\x03\x04 not the real wheel".repeat(50), None);
    let out = familiar_from(&hub, home.path(), &["models", "pull", "piper-joe-medium"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("sha256") && err.contains("discarded"), "{err}");
    assert!(!home.path().join("models/onnxruntime").exists());
    assert!(!home.path().join("models/voices").exists());
    assert_eq!(json(home.path(), &["models", "list", "--json"]), serde_json::json!([]));

    // The real runtime, but a voice file that is no ONNX model: ONNX Runtime's check refuses it.
    let hub = voice_hub(b"not an onnx model".repeat(100), std::fs::read(&wheel).unwrap(), None);
    let out = familiar_from(&hub, home.path(), &["models", "pull", "piper-joe-medium"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("en_US-joe-medium.onnx could not be read"), "{err}");
    assert!(home.path().join("models/onnxruntime/libonnxruntime.so").is_file(), "the verified runtime stays");
    assert!(!home.path().join("models/voices/piper-joe-medium").exists());
    assert!(!home.path().join("models/.partial/piper-joe-medium").exists(), "staging is cleaned up");
    assert_eq!(json(home.path(), &["models", "list", "--json"]), serde_json::json!([]));
}

#[test]
fn the_speaker_model_is_pulled_from_pypi_and_converted_as_setup_converts_it() {
    let weights = familiar::models::bundled_speaker_weights().expect("run scripts/fetch-models.sh");
    let wheel = familiar::models::RESEMBLYZER;
    let cached = std::fs::read(weights.with_file_name(wheel.path.rsplit('/').next().unwrap()))
        .expect("the Resemblyzer wheel is missing: run scripts/fetch-models.sh");
    // PyPI serves the wheel; its first download breaks off and must resume.
    let hub = Hub::start(
        vec![HubFile { repo: String::new(), name: wheel.path.into(), bytes: cached, etag: String::new() }],
        Some(5000),
    );
    let home = tempfile::tempdir().unwrap();
    let out = familiar_from(&hub, home.path(), &["models", "pull", "resemblyzer-ge2e", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((installed["id"].as_str(), installed["arch"].as_str()), (Some("resemblyzer-ge2e"), Some("ge2e")));
    assert_eq!(installed["source"], "pypi-download:resemblyzer==0.1.4");
    assert!(hub.log.lock().unwrap().iter().any(|l| l.ends_with(".whl range=Some(5000)")), "resumed");
    // The very weights `familiar setup` converts from the model cache, and nothing left in staging.
    let pulled = std::fs::read(home.path().join("models/speech/resemblyzer-ge2e.safetensors")).unwrap();
    let converted = familiar_voice::speaker::convert_resemblyzer(&std::fs::read(&weights).unwrap()).unwrap();
    assert!(pulled == converted, "the pulled model differs from the converted cache");
    assert_eq!(std::fs::read_dir(home.path().join("models/.partial")).unwrap().count(), 0);

    // A wheel that is not the pinned one installs nothing.
    let hub = Hub::start(
        vec![HubFile {
            repo: String::new(),
            name: wheel.path.into(),
            bytes: b"PK\x03\x04 some other wheel".repeat(40),
            etag: String::new(),
        }],
        None,
    );
    let other = tempfile::tempdir().unwrap();
    let out = familiar_from(&hub, other.path(), &["models", "pull", "resemblyzer-ge2e"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("sha256"), "{err}");
    assert!(!other.path().join("models/speech").exists());
    assert_eq!(json(other.path(), &["models", "list", "--json"]), serde_json::json!([]));
}
