//! Familiar's core: agents and their formats, packages, the store, and the
//! one API that the CLI, the HTTP server and the desktop shell all call.

pub mod agent;
pub mod archive;
pub mod package;
pub mod store;
pub mod api;
pub mod paths;
pub mod samples;
pub mod cli;
