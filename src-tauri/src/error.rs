//! The one error that crosses IPC: `{code, message}`. The UI branches on the
//! code (never on the message), which is the core's own error code.

use familiar::api::{self, ErrorCode};
use serde::Serialize;

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    /// What kind of failure: the UI branches on it.
    pub code: ErrorCode,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// More for the UI to show, by code: the measured checks of a refused
    /// voice recording (`invalid_input`), the result of a refused consent
    /// (`consent_refused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub details: Option<serde_json::Value>,
}

impl From<api::Error> for IpcError {
    fn from(e: api::Error) -> Self {
        IpcError { code: e.code(), message: e.to_string(), details: e.details() }
    }
}

impl IpcError {
    /// A request the UI should not have made (a stale id, a closed job).
    pub fn invalid(message: impl Into<String>) -> IpcError {
        IpcError { code: ErrorCode::InvalidInput, message: message.into(), details: None }
    }
}

/// What every command returns.
pub type IpcResult<T> = Result<T, IpcError>;
