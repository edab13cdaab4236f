//! Remote engines: an agent can be answered by any OpenAI-compatible server
//! (vLLM, Ollama, llama.cpp's server, another Familiar) instead of a local
//! model. The persona and lorebook are assembled here, exactly as for a local
//! model; the server only sees chat messages. Replies stream over SSE.
//!
//! The API key is never stored: the agent names an environment variable.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use familiar_infer::{CancelToken, Completion, Message, SamplingParams, StopReason};
use serde_json::{Value, json};

use crate::agent::RemoteEngine;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("could not reach {url}: {reason}; check that the server runs and the URL is right")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("{url} sent a reply that is not OpenAI-compatible: {reason}")]
    Protocol { url: String, reason: String },
    #[error("the API key variable `{0}` is not set")]
    MissingKey(String),
}

/// A finished remote reply.
pub struct RemoteReply {
    pub completion: Completion,
    pub generated_tokens: usize,
}

/// Streams a chat completion from `engine`, handing each piece of text to `sink`.
pub fn chat(
    engine: &RemoteEngine,
    messages: &[Message],
    params: &SamplingParams,
    mut sink: Box<dyn FnMut(&str) + Send>,
    cancel: &CancelToken,
) -> Result<RemoteReply, RemoteError> {
    let url = format!("{}/chat/completions", engine.base_url.trim_end_matches('/'));
    let mut body = json!({
        "model": engine.model,
        "messages": messages,
        "stream": true,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "seed": params.seed,
        "stream_options": { "include_usage": true },
    });
    if !params.stop.is_empty() {
        // OpenAI accepts at most four stop strings.
        body["stop"] = json!(params.stop.iter().take(4).collect::<Vec<_>>());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_body(Some(Duration::from_secs(300)))
        .build()
        .into();
    let mut call = agent.post(&url).header("Accept", "text/event-stream").header("Content-Type", "application/json");
    if let Some(var) = &engine.api_key_env {
        let key = std::env::var(var).map_err(|_| RemoteError::MissingKey(var.clone()))?;
        call = call.header("Authorization", format!("Bearer {key}"));
    }
    let start = Instant::now();
    let response = call
        .send(body.to_string())
        .map_err(|e| RemoteError::Unreachable { url: url.clone(), reason: e.to_string() })?;
    let status = response.status().as_u16();
    if status != 200 {
        let text = response.into_body().read_to_string().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        return Err(RemoteError::Status { url, status, body: message.chars().take(500).collect() });
    }
    let reader = BufReader::new(response.into_body().into_reader());
    let mut text = String::new();
    let mut chunks = 0;
    let mut first_token_ms = 0.0;
    let mut stop = StopReason::EndOfTurn;
    let mut usage: Option<(usize, usize)> = None;
    for line in reader.lines() {
        if cancel.is_cancelled() {
            stop = StopReason::Cancelled;
            break;
        }
        let line = line.map_err(|e| RemoteError::Unreachable { url: url.clone(), reason: e.to_string() })?;
        let Some(data) = line.strip_prefix("data:").map(str::trim) else { continue };
        if data == "[DONE]" {
            break;
        }
        let event: Value = serde_json::from_str(data)
            .map_err(|e| RemoteError::Protocol { url: url.clone(), reason: format!("bad event: {e}") })?;
        if let Some(message) = event.pointer("/error/message").and_then(Value::as_str) {
            return Err(RemoteError::Status { url, status, body: message.to_owned() });
        }
        if let Some(u) = event.get("usage").filter(|u| !u.is_null()) {
            let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
            usage = Some((get("prompt_tokens"), get("completion_tokens")));
        }
        let Some(choice) = event.pointer("/choices/0") else { continue };
        if let Some(piece) = choice.pointer("/delta/content").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            if chunks == 0 {
                first_token_ms = start.elapsed().as_secs_f64() * 1e3;
            }
            chunks += 1;
            text.push_str(piece);
            sink(piece);
        }
        if choice.get("finish_reason").and_then(Value::as_str) == Some("length") {
            stop = StopReason::MaxTokens;
        }
    }
    let elapsed = start.elapsed().as_secs_f64() * 1e3;
    let (prompt_tokens, generated) = usage.unwrap_or((0, chunks));
    Ok(RemoteReply {
        completion: Completion {
            text,
            tokens: Vec::new(),
            prompt_tokens,
            reused_tokens: 0,
            stop,
            prefill_ms: first_token_ms,
            first_token_ms,
            decode_ms: elapsed - first_token_ms,
        },
        generated_tokens: generated,
    })
}
