//! `familiar serve`: an OpenAI-compatible HTTP API on 127.0.0.1, over the
//! core API. Each agent is a model: `GET /v1/models` lists them and
//! `POST /v1/chat/completions` (streaming as server-sent events, or not)
//! answers as the agent, with its persona and lorebook.
//!
//! The API is stateless like OpenAI's: the client sends the conversation;
//! nothing is stored. Errors use OpenAI's shape, `{"error": {"message", "type", "code"}}`.
//!
//! Extension: when the agent answers from knowledge bases, the response has a
//! top-level `familiar_citations` array (on the last chunk when streaming):
//! one object per source the prompt gave the model, `{n, base, document,
//! title, path, location, page, section, chunk_id, ord, scores, cited}`,
//! where `n` is the `[n]` the reply may cite and `cited` says whether it did.
//! OpenAI clients ignore unknown fields.
//!
//! Packages: `GET /ipfs/{cid}` answers with the raw bytes of a package this
//! studio published (minted), in the shape of the IPFS trustless gateway
//! (`application/vnd.ipld.raw`), so other Familiar instances can fetch it by
//! CID. Clients verify the bytes against the CID and the chain themselves.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use familiar_infer::{CancelToken, StopReason};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{self, Studio, TurnOptions};
use crate::chat::{Role, Turn};

/// The routes of the API over one studio.
pub fn router(studio: Studio) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/health", get(|| async { "ok" }))
        .route("/ipfs/{cid}", get(ipfs_package))
        .with_state(studio)
}

/// Serves until the process ends. `listener` decides the address.
pub async fn serve(studio: Studio, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(studio)).await
}

/// Binds to loopback; port 0 picks a free one.
pub async fn bind(port: u16) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

async fn ipfs_package(State(studio): State<Studio>, axum::extract::Path(cid): axum::extract::Path<String>) -> Response {
    if familiar_chain::uri::digest_of_cid(&cid).is_err() {
        return (StatusCode::BAD_REQUEST, "not a raw sha2-256 CIDv1\n").into_response();
    }
    match api::chain::published_package(&studio, &cid).await {
        Ok(Some(bytes)) => (
            [
                (axum::http::header::CONTENT_TYPE, "application/vnd.ipld.raw".to_owned()),
                (axum::http::header::CACHE_CONTROL, "public, max-age=29030400, immutable".to_owned()),
                (axum::http::header::ETAG, format!("\"{cid}.raw\"")),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "this studio does not publish that package\n").into_response(),
        Err(e) => api_error(e),
    }
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "message": message.into(), "type": kind, "code": status.as_u16() } });
    (status, Json(body)).into_response()
}

fn api_error(e: api::Error) -> Response {
    let (status, kind) = match e.code() {
        api::ErrorCode::NotFound | api::ErrorCode::NoModel => (StatusCode::NOT_FOUND, "not_found_error"),
        api::ErrorCode::InvalidInput | api::ErrorCode::Ambiguous => (StatusCode::BAD_REQUEST, "invalid_request_error"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    };
    error(status, kind, e.to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

async fn models(State(studio): State<Studio>) -> Response {
    match api::list_agents(&studio).await {
        Ok(agents) => {
            let data: Vec<Value> = agents
                .iter()
                .map(|a| json!({ "id": a.name, "object": "model", "created": a.created_at, "owned_by": "familiar", "familiar_id": a.id }))
                .collect();
            Json(json!({ "object": "list", "data": data })).into_response()
        }
        Err(e) => api_error(e),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Value>),
}

impl Content {
    fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => {
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
            }
        }
    }
}

#[derive(Deserialize)]
struct ApiMessage {
    role: String,
    content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<ApiMessage>,
    #[serde(default)]
    stream: bool,
    temperature: Option<f32>,
    max_tokens: Option<usize>,
    max_completion_tokens: Option<usize>,
    seed: Option<u64>,
    stop: Option<Stop>,
    user: Option<String>,
}

fn finish_reason(stop: &StopReason) -> &'static str {
    match stop {
        StopReason::MaxTokens | StopReason::ContextFull => "length",
        _ => "stop",
    }
}

async fn chat_completions(State(studio): State<Studio>, body: axum::body::Bytes) -> Response {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", format!("invalid request: {e}")),
    };
    let (_, agent) = match api::agent(&studio, &request.model).await {
        Ok(found) => found,
        Err(e) => return api_error(e),
    };
    let mut spec = agent.spec().clone();
    let mut history = Vec::new();
    let mut system = Vec::new();
    for m in &request.messages {
        let text = m.content.as_ref().map(Content::text).unwrap_or_default();
        match m.role.as_str() {
            "user" => history.push(Turn { role: Role::User, content: text }),
            "assistant" => history.push(Turn { role: Role::Assistant, content: text }),
            "system" | "developer" => system.push(text),
            other => {
                return error(StatusCode::BAD_REQUEST, "invalid_request_error", format!("unsupported role `{other}`"));
            }
        }
    }
    if history.last().is_none_or(|t| t.role != Role::User) {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "the last message must be from the user");
    }
    // The client's instructions come after the persona's own.
    if !system.is_empty() {
        let extra = system.join("\n\n");
        spec.post_history_instructions = [spec.post_history_instructions.trim(), extra.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    let options = TurnOptions {
        seed: request.seed,
        temperature: request.temperature,
        max_tokens: request.max_completion_tokens.or(request.max_tokens),
        stop: match request.stop {
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
            None => Vec::new(),
        },
    };
    let user_name = request.user.clone().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "User".into());
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let model = request.model.clone();
    let created = now();
    if !request.stream {
        let generated = api::generate_reply(
            &studio,
            &spec,
            &history,
            &user_name,
            &options,
            Box::new(|_| {}),
            CancelToken::default(),
        )
        .await;
        return match generated {
            Ok(g) => {
                let completion_tokens = g.generated_tokens;
                Json(json!({
                    "id": id, "object": "chat.completion", "created": created, "model": model,
                    "choices": [{ "index": 0, "message": { "role": "assistant", "content": g.completion.text.trim() },
                                  "finish_reason": finish_reason(&g.completion.stop) }],
                    "usage": { "prompt_tokens": g.completion.prompt_tokens, "completion_tokens": completion_tokens,
                               "total_tokens": g.completion.prompt_tokens + completion_tokens },
                    "familiar_citations": g.citations,
                }))
                .into_response()
            }
            Err(e) => api_error(e),
        };
    }
    // Streaming: the generation runs as its own task; a client that goes away cancels it.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let cancel = CancelToken::default();
    let chunk = move |delta: Value, finish: Option<&str>| {
        json!({ "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    };
    let _ = tx.send(chunk(json!({ "role": "assistant", "content": "" }), None));
    let sink_tx = tx.clone();
    let sink_cancel = cancel.clone();
    let sink_chunk = chunk.clone();
    let mut first = true;
    let sink = Box::new(move |text: &str| {
        // Replies are trimmed when stored; trim the stream's start the same way.
        let text = if first { text.trim_start() } else { text };
        if text.is_empty() {
            return;
        }
        first = false;
        if sink_tx.send(sink_chunk(json!({ "content": text }), None)).is_err() {
            sink_cancel.cancel();
        }
    });
    tokio::spawn(async move {
        let result = api::generate_reply(&studio, &spec, &history, &user_name, &options, sink, cancel).await;
        let _ = match result {
            Ok(g) => {
                let mut last = chunk(json!({}), Some(finish_reason(&g.completion.stop)));
                last["familiar_citations"] = json!(g.citations);
                tx.send(last)
            }
            Err(e) => tx.send(json!({ "error": { "message": e.to_string(), "type": "server_error" } })),
        };
    });
    let stream = futures_util::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        match rx.recv().await {
            Some(value) => {
                Some((Ok::<_, std::convert::Infallible>(Event::default().data(value.to_string())), (rx, false)))
            }
            None => Some((Ok(Event::default().data("[DONE]")), (rx, true))),
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
