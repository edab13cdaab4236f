//! Familiar's integration tests: one binary, one module per area.

mod chain;
mod chat;
mod cli;
mod formats;
mod hostile;
mod knowledge;
mod models;
mod packages;
mod remote;
mod serve;
mod store;
mod support;
mod talk;
mod voice;
mod voice_profile;
