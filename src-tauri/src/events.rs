//! App-wide changes, as typed events: every window (and every screen of one)
//! refreshes what it shows when the library or the models change, whoever
//! changed them.

use serde::{Deserialize, Serialize};

/// An agent was imported, edited, deleted, restored or given a voice.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct AgentsChanged {
    /// The agent that changed.
    pub id: String,
}

/// A model was downloaded, imported or removed.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ModelsChanged {
    /// The model that changed.
    pub id: String,
}

/// Tells every window; a window that is gone does not matter.
pub fn emit<R: tauri::Runtime, E: tauri_specta::Event + Serialize + Clone>(app: &tauri::AppHandle<R>, event: E) {
    let _ = event.emit(app);
}
