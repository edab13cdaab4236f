//! Familiar's core: agents and their formats, packages, the store, and the
//! one API that the CLI, the HTTP server and the desktop shell all call.

pub mod agent;
pub mod api;
pub mod archive;
pub mod chat;
pub mod cli;
pub mod knowledge;
pub mod models;
pub mod package;
pub mod paths;
pub mod remote;
pub mod samples;
pub mod serve;
pub mod store;
pub mod time;
pub mod voice;
