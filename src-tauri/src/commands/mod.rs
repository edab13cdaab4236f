//! The Tauri commands, by area. Each one resolves its state and calls one
//! `familiar::api` function; none holds SQL, tensors or business rules.

pub mod agents;
pub mod chain;
pub mod chat;
pub mod knowledge;
pub mod models;
pub mod settings;
pub mod voice;
