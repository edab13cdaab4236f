//! Familiar's core: agents and their formats, packages, the store, and the
//! one API that the CLI, the HTTP server and the desktop shell all call.

pub mod agent;
pub mod archive;
