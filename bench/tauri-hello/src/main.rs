//! Tauri's hello world: one window showing `dist/index.html`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
