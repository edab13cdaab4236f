//! Familiar's integration tests: one binary, one module per area.

mod cli;
mod formats;
mod hostile;
mod packages;
mod store;
mod support;
