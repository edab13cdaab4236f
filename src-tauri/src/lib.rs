//! Familiar's desktop studio: a thin Tauri 2 shell over `familiar::api`.
//!
//! Architecture invariant: a command resolves its state and calls one core
//! API function; errors cross IPC as `{code, message}` ([`IpcError`]); streams
//! of one request (tokens, progress, levels, talk events, transaction plans)
//! go through a `tauri::ipc::Channel`, app-wide changes through typed events.
//! The TypeScript bindings in `ui/src/bindings.ts` are generated from these
//! signatures ([`bindings`]) and a test fails when the committed file is stale.

mod commands;
mod error;
mod events;
mod state;
#[cfg(test)]
mod tests;

pub use error::{IpcError, IpcResult};
pub use state::AppState;

use commands::{agents, chain, chat, knowledge, models, settings, voice};

/// Every command and event for the runtime `$r` (the real one, or the tests' mock).
macro_rules! builder_for {
    ($r:ty) => {
        // Integers are numbers in the UI: ids, sizes, Unix seconds, blocks and fees all stay below 2^53
        // (a sampling seed above that would lose its last digits, which only changes which reply is drawn).
        // One TypeScript type per Rust type (the same shape read and written), not one per serde phase.
        tauri_specta::Builder::<$r>::new()
            .dangerously_cast_bigints_to_number()
            .disable_serde_phases()
            .commands(tauri_specta::collect_commands![
                agents::list_agents,
                agents::get_agent,
                agents::save_agent::<$r>,
                agents::import_agent::<$r>,
                agents::export_agent,
                agents::delete_agent::<$r>,
                agents::undelete_agent::<$r>,
                agents::purge_agent::<$r>,
                agents::agent_history,
                agents::restore_agent::<$r>,
                chat::list_conversations,
                chat::start_conversation,
                chat::get_conversation,
                chat::send_message,
                chat::regenerate,
                chat::edit_message,
                chat::branch_from,
                chat::switch_version,
                chat::delete_message,
                chat::message_versions,
                chat::cancel_job,
                knowledge::list_knowledge_bases,
                knowledge::create_knowledge_base,
                knowledge::get_knowledge_base,
                knowledge::add_documents,
                knowledge::remove_document,
                knowledge::remove_knowledge_base,
                knowledge::search_knowledge,
                knowledge::attach_knowledge::<$r>,
                knowledge::detach_knowledge::<$r>,
                models::list_models,
                models::model_catalog,
                models::pull_model::<$r>,
                models::import_model::<$r>,
                models::remove_model::<$r>,
                voice::sound_devices,
                voice::voice_presets,
                voice::set_agent_voice::<$r>,
                voice::record_audio,
                voice::import_voice_reference,
                voice::create_voice_profile::<$r>,
                voice::voice_profile,
                voice::remove_voice_profile::<$r>,
                voice::preview_voice,
                voice::transcribe,
                voice::start_talk,
                voice::talk_control,
                chain::chain_status,
                chain::start_chain,
                chain::stop_chain,
                chain::list_wallets,
                chain::create_wallet,
                chain::import_wallet,
                chain::wallet_balance,
                chain::market,
                chain::answer_plan,
                chain::mint_agent,
                chain::sell_token,
                chain::cancel_listing,
                chain::buy_token,
                chain::import_token::<$r>,
                chain::agent_provenance,
                settings::data_folder,
                settings::setup_studio::<$r>,
            ])
            .events(tauri_specta::collect_events![events::AgentsChanged, events::ModelsChanged])
    };
}

/// Every command and event, for the invoke handler and the bindings.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    builder_for!(tauri::Wry)
}

/// The same, on Tauri's mock runtime (command tests without a display).
#[cfg(test)]
fn mock_specta_builder() -> tauri_specta::Builder<tauri::test::MockRuntime> {
    builder_for!(tauri::test::MockRuntime)
}

/// The TypeScript bindings of every command and type, as committed in `ui/src/bindings.ts`.
pub fn bindings() -> Result<String, specta_typescript::Error> {
    let dir = std::env::temp_dir().join(format!("familiar-bindings-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bindings.ts");
    specta_builder().export(typescript(), &path)?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(text)
}

/// How the bindings are written: a header that says where they come from.
fn typescript() -> specta_typescript::Typescript {
    specta_typescript::Typescript::default()
        .header("// Generated from src-tauri by `cargo test -p familiar-desktop` (UPDATE_BINDINGS=1 rewrites it). Do not edit.\n")
}

/// What the first screen shows, handed to the page before its scripts run
/// (`window.__FAMILIAR_BOOT__`): WebKitGTK delivers IPC replies only once the
/// page has loaded, so the Library would otherwise paint twice, the second
/// time a frame or two later. The screen still asks the core right after.
async fn boot_script(studio: &familiar::api::Studio) -> String {
    let agents = familiar::api::editor::agent_cards(studio, false).await.ok();
    let boot = serde_json::json!({ "agents": agents });
    format!("window.__FAMILIAR_BOOT__ = {boot};")
}

/// The main window of `tauri.conf.json` (`"create": false` there), with the boot script.
fn open_main_window(app: &tauri::App, boot: &str) -> tauri::Result<()> {
    let config = app.config().app.windows.iter().find(|w| w.label == "main").cloned().unwrap_or_default();
    tauri::WebviewWindowBuilder::from_config(app, &config)?.initialization_script(boot).build()?;
    Ok(())
}

/// Opens the studio and runs the app until its window closes.
pub fn run() {
    let builder = specta_builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            match tauri::async_runtime::block_on(familiar::api::Studio::open_default()) {
                Ok(studio) => {
                    let boot = tauri::async_runtime::block_on(boot_script(&studio));
                    tauri::Manager::manage(app, AppState::new(studio));
                    open_main_window(app, &boot)?;
                    Ok(())
                }
                Err(e) => {
                    // Said in a window: a desktop app started from a menu has no terminal.
                    use tauri_plugin_dialog::DialogExt;
                    app.dialog()
                        .message(format!("Familiar could not open its data folder: {e}"))
                        .title("Familiar")
                        .kind(tauri_plugin_dialog::MessageDialogKind::Error)
                        .blocking_show();
                    Err(e.into())
                }
            }
        })
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event
                && let Some(state) = tauri::Manager::try_state::<AppState>(handle)
            {
                // The local chain is a detached node: the studio stops it as it leaves.
                let _ = tauri::async_runtime::block_on(familiar::api::chain::stop_chain(&state.studio));
                tauri::async_runtime::block_on(state.studio.close());
            }
        }),
        Err(e) => {
            eprintln!("error: the studio could not start: {e}");
            std::process::exit(1);
        }
    }
}
