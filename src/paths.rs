//! Where Familiar keeps its data: the platform's data folder
//! (`~/.local/share/familiar` on Linux, `~/Library/Application Support/familiar`
//! on macOS, `%APPDATA%\familiar` on Windows), or `FAMILIAR_HOME` when set.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the data folder.
pub const HOME_ENV: &str = "FAMILIAR_HOME";

/// The data folder, from `FAMILIAR_HOME` or the platform's conventions.
pub fn home() -> Option<PathBuf> {
    match std::env::var_os(HOME_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => directories::ProjectDirs::from("", "", "familiar").map(|d| d.data_dir().to_path_buf()),
    }
}

/// The SQLite database inside a data folder.
pub fn database(home: &Path) -> PathBuf {
    home.join("familiar.db")
}
