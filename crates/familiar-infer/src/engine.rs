//! The engine: one loaded model on its own thread, which owns the weights and
//! the KV cache. Requests arrive on a channel and carry their own reply
//! channel; a load failure comes back on a ready channel. Cancellation is a
//! flag checked between tokens.
//!
//! KV-cache reuse: the thread remembers the tokens its cache holds. When a
//! new prompt shares a prefix with them (the persona and the history so far),
//! only the tokens after it are computed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use candle_core::Device;
use serde::Serialize;

use crate::InferError;
use crate::model::{Model, ModelInfo};
use crate::sampling::{Sampler, SamplingParams};
use crate::template::ChatTemplate;
use crate::tokenizer::{Tokenizer, Utf8Stream};

/// Prompt tokens computed per batch.
const PREFILL_CHUNK: usize = 512;

/// How to run a model.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// CPU threads for inference; `None` uses every core.
    pub threads: Option<usize>,
    /// Stay on the CPU even when a GPU backend (the `cuda` or `metal`
    /// feature) was built in and a device is present.
    pub cpu_only: bool,
}

/// The device a model runs on: the first CUDA or Metal device when the build
/// has that backend and the machine has the device, else the CPU.
pub fn pick_device(options: &EngineOptions) -> Device {
    if options.cpu_only {
        return Device::Cpu;
    }
    match Device::cuda_if_available(0) {
        Ok(Device::Cpu) | Err(_) => Device::metal_if_available(0).unwrap_or(Device::Cpu),
        Ok(gpu) => gpu,
    }
}

/// A flag that stops a generation between two tokens.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One generation: prompt tokens, sampling, and a way to stop it.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub prompt: Vec<u32>,
    pub params: SamplingParams,
    pub cancel: CancelToken,
}

/// Why a generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum StopReason {
    /// The model ended its turn.
    EndOfTurn,
    /// A stop string appeared (it is not part of the text).
    StopString(String),
    MaxTokens,
    /// The context window is full.
    ContextFull,
    Cancelled,
}

/// What a finished generation produced, with its timings.
#[derive(Debug, Clone, Serialize)]
pub struct Completion {
    pub text: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV entries were reused from the previous request.
    pub reused_tokens: usize,
    pub stop: StopReason,
    pub prefill_ms: f64,
    pub first_token_ms: f64,
    pub decode_ms: f64,
}

/// Events of one generation, in order: text pieces, then `Done` or `Failed`.
#[derive(Debug)]
pub enum Event {
    Text(String),
    Done(Completion),
    Failed(InferError),
}

struct Job {
    request: GenerateRequest,
    reply: mpsc::Sender<Event>,
}

/// A handle to a loaded model. Dropping it stops the model's thread.
pub struct Engine {
    jobs: mpsc::Sender<Job>,
    pub info: ModelInfo,
    pub tokenizer: Arc<Tokenizer>,
    pub template: Arc<ChatTemplate>,
}

impl Engine {
    /// Loads a model (a GGUF file or a safetensors folder) on a new thread;
    /// returns once it is ready or has failed.
    pub fn load(path: &Path, options: EngineOptions) -> Result<Engine, InferError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("familiar-model".into())
            .spawn(move || {
                let pool = match rayon::ThreadPoolBuilder::new().num_threads(options.threads.unwrap_or(0)).build() {
                    Ok(pool) => pool,
                    Err(e) => {
                        let _ = ready_tx.send(Err(InferError::Model(format!("could not start threads: {e}"))));
                        return;
                    }
                };
                let device = pick_device(&options);
                let loaded = pool.install(|| Model::load(&path, &device));
                let (mut model, tokenizer, template) = match loaded {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let tokenizer = Arc::new(tokenizer);
                let info = model.info.clone();
                if ready_tx.send(Ok((info, tokenizer.clone(), Arc::new(template)))).is_err() {
                    return;
                }
                let mut cached: Vec<u32> = Vec::new();
                // The model stays on this thread; each job runs its math on the pool.
                while let Ok(job) = jobs_rx.recv() {
                    pool.install(|| run(&mut model, &tokenizer, &mut cached, job));
                }
            })
            .map_err(|e| InferError::Model(format!("could not start the model thread: {e}")))?;
        let (info, tokenizer, template) =
            ready_rx.recv().map_err(|_| InferError::Model("the model thread stopped while loading".into()))??;
        Ok(Engine { jobs: jobs_tx, info, tokenizer, template })
    }

    /// Starts a generation; its events arrive on the returned channel.
    pub fn generate(&self, request: GenerateRequest) -> Result<mpsc::Receiver<Event>, InferError> {
        let (reply, events) = mpsc::channel();
        self.jobs.send(Job { request, reply }).map_err(|_| InferError::Model("the model thread has stopped".into()))?;
        Ok(events)
    }

    /// Runs a generation to its end, handing each piece of text to `sink`.
    pub fn generate_with(
        &self,
        request: GenerateRequest,
        mut sink: impl FnMut(&str),
    ) -> Result<Completion, InferError> {
        for event in self.generate(request)? {
            match event {
                Event::Text(text) => sink(&text),
                Event::Done(completion) => return Ok(completion),
                Event::Failed(e) => return Err(e),
            }
        }
        Err(InferError::Model("the model thread stopped during generation".into()))
    }
}

/// The longest suffix of `text` that begins some stop string (held back from
/// the stream until it is known not to be one).
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut hold = 0;
    for stop in stops {
        for (i, _) in text.char_indices() {
            let suffix = &text[i..];
            if suffix.len() < stop.len() && stop.starts_with(suffix) {
                hold = hold.max(suffix.len());
                break;
            }
        }
    }
    hold
}

fn run(model: &mut Model, tokenizer: &Tokenizer, cached: &mut Vec<u32>, job: Job) {
    let Job { request, reply } = job;
    let result = generate(model, tokenizer, cached, &request, &mut |text| {
        // A receiver that went away is a cancellation.
        if reply.send(Event::Text(text)).is_err() {
            request.cancel.cancel();
        }
    });
    let _ = reply.send(match result {
        Ok(done) => Event::Done(done),
        Err(e) => {
            cached.clear();
            Event::Failed(e)
        }
    });
}

fn generate(
    model: &mut Model,
    tokenizer: &Tokenizer,
    cached: &mut Vec<u32>,
    request: &GenerateRequest,
    emit: &mut dyn FnMut(String),
) -> Result<Completion, InferError> {
    let start = Instant::now();
    let prompt = &request.prompt;
    let params = &request.params;
    let context = model.info.context_length;
    if prompt.is_empty() {
        return Err(InferError::Prompt("the prompt is empty".into()));
    }
    if prompt.len() >= context {
        return Err(InferError::Prompt(format!(
            "the prompt is {} tokens but the model's context holds {context}",
            prompt.len()
        )));
    }
    // Reuse the longest shared prefix when the model's cache can be cut back;
    // otherwise only a prompt that extends the whole cache reuses it. At least
    // one token is always computed, for its logits.
    let common = cached.iter().zip(prompt).take_while(|(a, b)| a == b).count();
    let reused = if model.can_truncate() {
        common.min(prompt.len() - 1)
    } else if common == cached.len() && prompt.len() > cached.len() {
        common
    } else {
        0
    };
    cached.truncate(reused);
    // The prompt's last token always goes through the one-token (decode) path,
    // after the rest in one batch: batched and one-token matmuls round
    // differently, and this way the first reply token's logits never depend on
    // how much of the prompt was cached. Same prompt and seed, same reply.
    // Long prompts go in chunks, which keeps each attention matrix small.
    let last = prompt.len() - 1;
    let mut at = reused;
    while at < last {
        let end = (at + PREFILL_CHUNK).min(last);
        model.forward(&prompt[at..end], at)?;
        at = end;
    }
    let mut logits = model.forward(&prompt[last..], last)?;
    cached.extend_from_slice(&prompt[reused..]);
    let prefill_ms = start.elapsed().as_secs_f64() * 1e3;

    let mut sampler = Sampler::new(params.clone());
    let mut history = prompt.clone();
    let mut generated = Vec::new();
    let mut utf8 = Utf8Stream::default();
    let mut pending = String::new();
    let mut text = String::new();
    let mut first_token_ms = 0.0;
    let decode_start = Instant::now();
    let stop = loop {
        if request.cancel.is_cancelled() {
            break StopReason::Cancelled;
        }
        let token = sampler.sample(&mut logits, &history);
        if generated.is_empty() {
            first_token_ms = start.elapsed().as_secs_f64() * 1e3;
        }
        if tokenizer.stop_tokens.contains(&token) {
            break StopReason::EndOfTurn;
        }
        generated.push(token);
        history.push(token);
        pending.push_str(&utf8.push(&tokenizer.token_bytes(token, false)));
        if let Some((at, stop)) = params.stop.iter().filter_map(|s| pending.find(s.as_str()).map(|at| (at, s))).min() {
            let piece = pending[..at].to_owned();
            if !piece.is_empty() {
                text.push_str(&piece);
                emit(piece);
            }
            pending.clear();
            break StopReason::StopString(stop.clone());
        }
        let ready = pending.len() - held_back(&pending, &params.stop);
        if ready > 0 {
            let piece: String = pending.drain(..ready).collect();
            text.push_str(&piece);
            emit(piece);
        }
        if generated.len() >= params.max_tokens {
            break StopReason::MaxTokens;
        }
        if cached.len() + 1 >= context {
            break StopReason::ContextFull;
        }
        logits = model.forward(&[token], cached.len())?;
        cached.push(token);
    };
    pending.push_str(&utf8.finish());
    if !matches!(stop, StopReason::StopString(_)) && !pending.is_empty() {
        text.push_str(&pending);
        emit(pending);
    }
    Ok(Completion {
        text,
        tokens: generated,
        prompt_tokens: prompt.len(),
        reused_tokens: reused,
        stop,
        prefill_ms,
        first_token_ms,
        decode_ms: decode_start.elapsed().as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::held_back;

    #[test]
    fn a_possible_stop_string_is_held_back() {
        let stops = vec!["\nUser:".to_string()];
        assert_eq!(held_back("Hello\nUs", &stops), 3);
        assert_eq!(held_back("Hello", &stops), 0);
        assert_eq!(held_back("Hello\n", &stops), 1);
    }
}
