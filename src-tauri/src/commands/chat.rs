//! Conversations: start, show, send with a streamed reply (stop with
//! `cancel_job`), regenerate, edit, branch, delete, versions.

use familiar::api::{self, ReplyReport, TurnOptions};
use familiar::chat::{ChatMessage, Conversation};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

use crate::error::IpcResult;
use crate::state::AppState;

/// Conversations, newest first, of one agent or of all.
#[tauri::command(async)]
#[specta::specta]
pub async fn list_conversations(state: State<'_, AppState>, agent: Option<String>) -> IpcResult<Vec<Conversation>> {
    Ok(api::list_conversations(&state.studio, agent.as_deref()).await?)
}

/// Starts a conversation; `greeting` 0 is the first message, 1… the alternates.
#[tauri::command(async)]
#[specta::specta]
pub async fn start_conversation(
    state: State<'_, AppState>,
    agent: String,
    user_name: Option<String>,
    greeting: u32,
) -> IpcResult<Conversation> {
    Ok(api::start_conversation(&state.studio, &agent, user_name.as_deref(), greeting as usize).await?)
}

/// A conversation and its current thread.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub messages: Vec<ChatMessage>,
}

/// A conversation and its messages.
#[tauri::command(async)]
#[specta::specta]
pub async fn get_conversation(state: State<'_, AppState>, id: String) -> IpcResult<ConversationView> {
    let (conversation, messages) = api::conversation(&state.studio, &id).await?;
    Ok(ConversationView { conversation, messages })
}

/// The reply's text as it is written.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ReplyDelta {
    pub text: String,
}

fn sink(channel: Channel<ReplyDelta>) -> Box<dyn FnMut(&str) + Send> {
    Box::new(move |piece: &str| {
        // The window may be gone; the reply is still stored.
        let _ = channel.send(ReplyDelta { text: piece.to_owned() });
    })
}

/// Sends a message; the reply streams to `channel` and is stored. `request_id`
/// stops it (`cancel_job`); what was written so far is kept.
#[tauri::command(async)]
#[specta::specta]
pub async fn send_message(
    state: State<'_, AppState>,
    conversation_id: String,
    text: String,
    request_id: String,
    channel: Channel<ReplyDelta>,
) -> IpcResult<ReplyReport> {
    let job = state.job(&request_id);
    let options = TurnOptions::default();
    Ok(api::send_message(&state.studio, &conversation_id, &text, &options, sink(channel), job.token.clone()).await?)
}

/// Another version of the last reply (the old one stays as a sibling).
#[tauri::command(async)]
#[specta::specta]
pub async fn regenerate(
    state: State<'_, AppState>,
    conversation_id: String,
    request_id: String,
    channel: Channel<ReplyDelta>,
) -> IpcResult<ReplyReport> {
    let job = state.job(&request_id);
    let options = TurnOptions::default();
    Ok(api::regenerate(&state.studio, &conversation_id, &options, sink(channel), job.token.clone()).await?)
}

/// Replaces a message by an edited copy (the original stays in history).
#[tauri::command(async)]
#[specta::specta]
pub async fn edit_message(
    state: State<'_, AppState>,
    conversation_id: String,
    message_id: String,
    text: String,
) -> IpcResult<ChatMessage> {
    Ok(api::edit_message(&state.studio, &conversation_id, &message_id, &text).await?)
}

/// Continues the conversation from an earlier message (a new branch).
#[tauri::command(async)]
#[specta::specta]
pub async fn branch_from(state: State<'_, AppState>, conversation_id: String, message_id: String) -> IpcResult<()> {
    Ok(api::branch_from(&state.studio, &conversation_id, &message_id).await?)
}

/// Shows another version of a message, with the conversation as it last
/// went on from that version (the "swipes" of a reply).
#[tauri::command(async)]
#[specta::specta]
pub async fn switch_version(state: State<'_, AppState>, conversation_id: String, message_id: String) -> IpcResult<()> {
    Ok(api::switch_version(&state.studio, &conversation_id, &message_id).await?)
}

/// Hides a message and what follows it in its branch.
#[tauri::command(async)]
#[specta::specta]
pub async fn delete_message(state: State<'_, AppState>, conversation_id: String, message_id: String) -> IpcResult<()> {
    Ok(api::delete_message(&state.studio, &conversation_id, &message_id).await?)
}

/// Every version of a message (regenerated replies, edits), oldest first.
#[tauri::command(async)]
#[specta::specta]
pub async fn message_versions(
    state: State<'_, AppState>,
    conversation_id: String,
    message_id: String,
) -> IpcResult<Vec<ChatMessage>> {
    Ok(api::message_versions(&state.studio, &conversation_id, &message_id).await?)
}

/// Stops a running job (a reply, a download, an ingest); false when it already ended.
#[tauri::command(async)]
#[specta::specta]
pub fn cancel_job(state: State<'_, AppState>, request_id: String) -> bool {
    state.cancel(&request_id)
}
