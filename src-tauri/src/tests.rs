//! The shell's contract: the committed bindings match the commands, and the
//! commands work through Tauri's IPC (on its mock runtime, no display):
//! arguments by their camelCase names, results as JSON, errors as `{code, message}`.

use serde_json::{Value, json};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;

use crate::{AppState, bindings, mock_specta_builder};

fn repo_root() -> std::path::PathBuf {
    // The folder cargo runs the test for, not the one the binary was built in
    // (a shared target folder serves several checkouts).
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from);
    dir.parent().expect("src-tauri is in the repository").to_path_buf()
}

#[test]
fn the_committed_typescript_bindings_are_up_to_date() {
    let fresh = bindings().expect("the bindings export");
    let path = repo_root().join("ui/src/bindings.ts");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).expect("write ui/src/bindings.ts");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p familiar-desktop bindings` and commit it"
    );
    for command in ["listAgents", "sendMessage", "pullModel", "startTalk", "buyToken", "answerPlan"] {
        assert!(fresh.contains(&format!("\t{command}: (")), "{command} is in the bindings");
    }
}

/// A studio in a temporary folder behind the real command handler.
struct Shell {
    _home: tempfile::TempDir,
    webview: tauri::WebviewWindow<MockRuntime>,
    _app: tauri::App<MockRuntime>,
}

impl Shell {
    fn new() -> Shell {
        let home = tempfile::tempdir().expect("a temporary folder");
        let studio = tauri::async_runtime::block_on(familiar::api::Studio::open(home.path())).expect("a studio");
        let builder = mock_specta_builder();
        let app = mock_builder()
            .invoke_handler(builder.invoke_handler())
            .manage(AppState::new(studio))
            .build(mock_context(noop_assets()))
            .expect("the app builds");
        builder.mount_events(&app);
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("a window");
        Shell { _home: home, webview, _app: app }
    }

    /// Invokes a command as the UI does; `Ok` with its JSON, or `Err` with the error's JSON.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("a url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|body| body.deserialize::<Value>().expect("JSON"))
    }
}

#[test]
fn the_library_imports_edits_versions_and_trashes_an_agent_through_ipc() {
    let shell = Shell::new();
    assert_eq!(shell.call("list_agents", json!({ "trash": false })).unwrap(), json!([]));
    let card = repo_root().join("tests/fixtures/cards/st-v3.png");
    let imported = shell.call("import_agent", json!({ "path": card })).unwrap();
    let id = imported["id"].as_str().unwrap().to_owned();
    assert!(imported["format"].as_str().unwrap().contains("PNG"), "{imported}");

    let cards = shell.call("list_agents", json!({ "trash": false })).unwrap();
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert!(cards[0]["avatar"].as_str().unwrap().starts_with("data:image/"), "{}", cards[0]);

    let detail = shell.call("get_agent", json!({ "id": id })).unwrap();
    let mut form = detail["form"].clone();
    form["description"] = json!("Edited in the studio.");
    let version = shell.call("save_agent", json!({ "id": id, "form": form })).unwrap();
    assert_eq!(version, json!(2));
    let history = shell.call("agent_history", json!({ "id": id })).unwrap();
    assert_eq!(history[0]["reason"], "edit");
    let again = shell.call("get_agent", json!({ "id": id })).unwrap();
    assert_eq!(again["form"]["description"], "Edited in the studio.");
    assert_eq!(again["form"]["lorebook"], detail["form"]["lorebook"], "what was not edited stays");

    shell.call("delete_agent", json!({ "id": id })).unwrap();
    assert_eq!(shell.call("list_agents", json!({ "trash": true })).unwrap().as_array().unwrap().len(), 1);
    shell.call("undelete_agent", json!({ "id": id })).unwrap();
    assert_eq!(shell.call("restore_agent", json!({ "id": id, "version": 1 })).unwrap(), json!(3));
}

#[test]
fn errors_cross_as_a_code_and_a_message() {
    let shell = Shell::new();
    let missing = shell.call("get_agent", json!({ "id": "nobody" })).unwrap_err();
    assert_eq!(missing["code"], "not_found", "{missing}");
    assert!(missing["message"].as_str().unwrap().contains("familiar agent list"), "{missing}");
    let broken = std::env::temp_dir().join(format!("familiar-broken-{}.json", std::process::id()));
    std::fs::write(&broken, b"{ not json").unwrap();
    let invalid = shell.call("import_agent", json!({ "path": broken })).unwrap_err();
    assert_eq!(invalid["code"], "invalid_input", "{invalid}");
    let _ = std::fs::remove_file(&broken);
    assert_eq!(shell.call("list_agents", json!({})).unwrap_err()["code"], Value::Null, "a missing argument is Tauri's");
    let no_job = shell.call("cancel_job", json!({ "requestId": "none" })).unwrap();
    assert_eq!(no_job, json!(false));
    let no_talk = shell.call("talk_control", json!({ "requestId": "none", "action": "press" })).unwrap_err();
    assert_eq!(no_talk["code"], "invalid_input");
}

#[test]
fn the_catalog_and_the_voice_presets_come_through() {
    let shell = Shell::new();
    let catalog = shell.call("model_catalog", json!({})).unwrap();
    assert!(!catalog["chat"].as_array().unwrap().is_empty());
    assert!(catalog["speech"].as_array().unwrap().iter().any(|m| m["id"] == "whisper-base.en"));
    assert_eq!(catalog["voice_clone"]["id"], "metavoice-1b");
    assert!(catalog["system"]["cores"].as_u64().unwrap() >= 1);
    let presets = shell.call("voice_presets", json!({})).unwrap();
    assert_eq!(presets.as_array().unwrap().len(), 3);
    assert!(shell.call("data_folder", json!({})).unwrap().as_str().unwrap().contains("tmp"));
}
