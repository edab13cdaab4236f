//! What the shell keeps between commands: the open studio, and the long jobs
//! (replies, downloads, ingests, live talks, transactions waiting for the
//! user's approval) by the request id the UI gave them, so they can be
//! stopped or answered.

use std::collections::HashMap;
use std::sync::Mutex;

use familiar::api::Studio;
use familiar::api::talk::TalkControl;
use familiar_infer::CancelToken;

use crate::error::IpcError;

/// The shell's state, managed by Tauri.
pub struct AppState {
    /// The data folder (`FAMILIAR_HOME` or the platform's).
    pub studio: Studio,
    jobs: Mutex<HashMap<String, CancelToken>>,
    talks: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<TalkControl>>>,
    approvals: Mutex<HashMap<String, std::sync::mpsc::Sender<bool>>>,
}

impl AppState {
    pub fn new(studio: Studio) -> AppState {
        AppState { studio, jobs: Default::default(), talks: Default::default(), approvals: Default::default() }
    }

    /// Registers a cancellable job under the UI's request id; it is forgotten when the guard drops.
    pub fn job(&self, request_id: &str) -> JobGuard<'_> {
        let token = CancelToken::default();
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(request_id.to_owned(), token.clone());
        }
        JobGuard { state: self, id: request_id.to_owned(), token }
    }

    /// Cancels a job; false when it already ended.
    pub fn cancel(&self, request_id: &str) -> bool {
        let token = self.jobs.lock().ok().and_then(|jobs| jobs.get(request_id).cloned());
        token.map(|t| t.cancel()).is_some()
    }

    pub fn add_talk(&self, id: &str, controls: tokio::sync::mpsc::UnboundedSender<TalkControl>) {
        if let Ok(mut talks) = self.talks.lock() {
            talks.insert(id.to_owned(), controls);
        }
    }

    pub fn remove_talk(&self, id: &str) {
        if let Ok(mut talks) = self.talks.lock() {
            talks.remove(id);
        }
    }

    /// Sends a control (press, release, stop) to a live talk.
    pub fn control_talk(&self, id: &str, control: TalkControl) -> Result<(), IpcError> {
        let talks = self.talks.lock().map_err(|_| IpcError::invalid("the talk registry is unusable"))?;
        let sender = talks.get(id).ok_or_else(|| IpcError::invalid(format!("no live talk `{id}`")))?;
        sender.send(control).map_err(|_| IpcError::invalid(format!("the live talk `{id}` has ended")))
    }

    /// Waits for the user's answer to a planned transaction (see `answer_plan`).
    pub fn await_approval(&self, request_id: &str) -> std::sync::mpsc::Receiver<bool> {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Ok(mut approvals) = self.approvals.lock() {
            approvals.insert(request_id.to_owned(), tx);
        }
        rx
    }

    /// The user's answer to a planned transaction.
    pub fn answer(&self, request_id: &str, approved: bool) -> Result<(), IpcError> {
        let sender = self.approvals.lock().ok().and_then(|mut a| a.remove(request_id));
        let sender =
            sender.ok_or_else(|| IpcError::invalid(format!("no transaction `{request_id}` waits for an answer")))?;
        sender.send(approved).map_err(|_| IpcError::invalid("the transaction no longer waits for an answer"))
    }
}

/// A running job; dropping it forgets the job.
pub struct JobGuard<'a> {
    state: &'a AppState,
    id: String,
    pub token: CancelToken,
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.state.jobs.lock() {
            jobs.remove(&self.id);
        }
    }
}
