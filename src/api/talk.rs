//! Live voice chat: microphone → voice activity → speech to text → the chat
//! engine → the agent's voice → speaker. Hands-free (a turn ends after a
//! pause) or push-to-talk; partial transcripts while the user speaks; the
//! reply is spoken sentence by sentence while the model is still writing;
//! barge-in: when the user starts speaking over the agent, playback stops and
//! generation is cancelled. Each turn's stages are stored beside its reply.
//!
//! Threads: the microphone is read by a listener thread (voice activity,
//! utterances); speech to text and the voice each live on a thread that owns
//! its model; the chat engine has its own. This function only coordinates.
//! It works with any [`SoundDevices`]: the system's, or simulated ones.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use familiar_infer::CancelToken;
use familiar_voice::devices::{Microphone, SoundDevices, Speaker, level_db};
use familiar_voice::tts::{Prosody, SentenceCutter, Voice};
use familiar_voice::vad::{Vad, VadConfig, VadEvent};
use familiar_voice::{Audio, SttOptions, Transcriber, stt};
use serde::Serialize;
use tokio::sync::mpsc as tokio_mpsc;

use super::voice::{VoiceChoice, load_agent_voice, prosody_for, speech_model_path};
use super::{Error, Result, Studio, TurnOptions};

/// How a turn is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TalkMode {
    /// A turn starts when the user speaks and ends after a pause.
    #[default]
    HandsFree,
    /// A turn lasts while the talk button is held ([`TalkControl::Press`] … [`TalkControl::Release`]).
    PushToTalk,
}

/// How a live conversation runs.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Hands-free or push-to-talk.
    pub mode: TalkMode,
    /// A microphone id (default: the system's).
    pub microphone: Option<String>,
    /// A speaker id (default: the system's).
    pub speaker: Option<String>,
    /// Sampling overrides for the replies.
    pub turn: TurnOptions,
    /// The voice's rate and pitch (default: the agent's).
    pub prosody: Option<Prosody>,
    /// Let the user interrupt the agent by speaking (or pressing the button).
    pub barge_in: bool,
    /// Stop after this many turns (default: until stopped).
    pub max_turns: Option<usize>,
    /// Continue this conversation instead of starting one.
    pub conversation: Option<String>,
    /// How often the partial transcript is refreshed while the user speaks.
    pub partial_every: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            mode: TalkMode::HandsFree,
            microphone: None,
            speaker: None,
            turn: TurnOptions::default(),
            prosody: None,
            barge_in: true,
            max_turns: None,
            conversation: None,
            partial_every: Duration::from_millis(1000),
        }
    }
}

/// What the user does while talking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TalkControl {
    /// The talk button goes down (push-to-talk; while the agent speaks, a barge-in).
    Press,
    /// The talk button comes up: the turn is over.
    Release,
    /// End the conversation.
    Stop,
}

/// How long each stage of a live turn took, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LiveStages {
    /// Seconds of the user's speech.
    pub speech_s: f64,
    /// From the end of the user's speech (as heard, before the pause that ends
    /// a hands-free turn) to the transcript.
    pub stt_ms: u64,
    /// From the transcript to the reply's first token.
    pub first_token_ms: u64,
    /// From the end of the user's speech to the first audio of the reply.
    pub first_audio_ms: u64,
    /// From the transcript to the whole reply written.
    pub reply_ms: u64,
    /// From the end of the user's speech to the end of playback (or the barge-in).
    pub total_ms: u64,
}

/// What happens during a live conversation, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TalkEvent {
    /// Devices and models are ready.
    Ready {
        /// The conversation the turns are stored in.
        conversation_id: String,
        /// Which voice speaks, and why.
        voice: VoiceChoice,
    },
    /// The microphone's level (dBFS), about ten times a second.
    Level {
        /// dBFS.
        db: f32,
    },
    /// The user started speaking.
    SpeechStarted,
    /// What the user has said so far.
    Partial {
        /// The partial transcript.
        text: String,
    },
    /// What the user said, once the turn ended.
    Heard {
        /// The transcript.
        text: String,
    },
    /// A piece of the reply as it is written.
    Reply {
        /// The new text.
        delta: String,
    },
    /// The agent started speaking.
    Speaking,
    /// The user spoke over the agent: playback stopped, generation cancelled.
    BargeIn,
    /// A turn is over (spoken to the end, or interrupted).
    TurnDone {
        /// The stored reply.
        message_id: String,
        /// Its text.
        reply: String,
        /// Per-stage latency.
        stages: LiveStages,
        /// Whether the user interrupted it.
        interrupted: bool,
    },
    /// Nothing was recognised in what the user said; still listening.
    NotHeard,
}

/// What a live conversation did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LiveSummary {
    /// The conversation.
    pub conversation_id: String,
    /// Turns answered (interrupted ones included).
    pub turns: usize,
    /// Turns the user interrupted.
    pub interrupted: usize,
    /// Microphone blocks dropped because the listener fell behind.
    pub dropped_blocks: usize,
}

/// What the listener thread saw.
enum Heard {
    Level(f32),
    Started,
    /// The utterance so far (for a partial transcript).
    SoFar(Audio),
    /// A finished utterance and when its speech ended.
    Ended(Audio, Instant),
    Failed(familiar_voice::devices::DeviceError),
}

/// The listener: reads the microphone, finds utterances (voice activity, or
/// the talk button), reports them. Runs until `stop` is set.
struct Listener {
    mode: TalkMode,
    pressed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    partial_every: Duration,
}

impl Listener {
    /// Returns how many blocks the microphone dropped.
    fn run(self, mut microphone: Box<dyn Microphone>, out: tokio_mpsc::UnboundedSender<Heard>) -> usize {
        let rate = microphone.rate();
        let mut vad = Vad::new(rate, VadConfig::default());
        // The last half second, so an utterance starts a little before the detector was sure.
        let preroll = rate as usize / 2;
        let mut recent: Vec<f32> = Vec::new();
        let mut position = 0usize;
        let mut utterance: Option<(Vec<f32>, usize)> = None;
        let mut last_partial = Instant::now();
        let mut last_level = Instant::now();
        let mut was_pressed = false;
        while !self.stop.load(Ordering::Relaxed) {
            let block = match microphone.next_block(Duration::from_millis(100)) {
                Ok(Some(block)) => block,
                Ok(None) => continue,
                Err(e) => {
                    let _ = out.send(Heard::Failed(e));
                    return microphone.dropped_blocks();
                }
            };
            let arrived = Instant::now();
            if last_level.elapsed() >= Duration::from_millis(100) {
                last_level = arrived;
                let _ = out.send(Heard::Level(level_db(&block)));
            }
            position += block.len();
            recent.extend_from_slice(&block);
            if recent.len() > preroll * 2 {
                recent.drain(..recent.len() - preroll);
            }
            let mut ended_at = None;
            match self.mode {
                TalkMode::HandsFree => {
                    // Whether this block is already part of the utterance.
                    let mut included = false;
                    for event in vad.push(&block) {
                        match event {
                            VadEvent::SpeechStart(at) if utterance.is_none() => {
                                // Start a fifth of a second early, from what is still in `recent`.
                                let back = (position - at + rate as usize / 5).min(recent.len());
                                utterance = Some((recent[recent.len() - back..].to_vec(), position - back));
                                included = true;
                                last_partial = arrived;
                                let _ = out.send(Heard::Started);
                            }
                            VadEvent::SpeechEnd(at) => {
                                if let Some((samples, start)) = utterance.as_mut() {
                                    if !included {
                                        samples.extend_from_slice(&block);
                                        included = true;
                                    }
                                    // Keep what was said up to the end, and a fifth of a second more.
                                    let keep = (at + rate as usize / 5).saturating_sub(*start);
                                    samples.truncate(keep.min(samples.len()));
                                }
                                let late = position.saturating_sub(at) as f64 / rate as f64;
                                ended_at = Some(arrived - Duration::from_secs_f64(late));
                            }
                            VadEvent::SpeechStart(_) => {}
                        }
                    }
                    if !included && let Some((samples, _)) = utterance.as_mut() {
                        samples.extend_from_slice(&block);
                    }
                }
                TalkMode::PushToTalk => {
                    let pressed = self.pressed.load(Ordering::Relaxed);
                    if pressed && !was_pressed {
                        utterance = Some((Vec::new(), position));
                        last_partial = arrived;
                        let _ = out.send(Heard::Started);
                    }
                    if pressed && let Some((samples, _)) = utterance.as_mut() {
                        samples.extend_from_slice(&block);
                    }
                    if !pressed && was_pressed {
                        ended_at = Some(arrived);
                    }
                    was_pressed = pressed;
                }
            }
            if let Some(ended) = ended_at {
                if let Some((samples, _)) = utterance.take() {
                    let _ = out.send(Heard::Ended(Audio { samples, rate }, ended));
                }
            } else if let Some((samples, _)) = &utterance
                && arrived.duration_since(last_partial) >= self.partial_every
            {
                last_partial = arrived;
                let _ = out.send(Heard::SoFar(Audio { samples: samples.clone(), rate }));
            }
        }
        microphone.dropped_blocks()
    }
}

/// The speech-to-text thread: owns the model, answers requests in order.
/// A request says whether its audio is a partial utterance (decoded once,
/// never again with the full window: the final transcript replaces it).
type SttRequest = (Audio, bool, tokio::sync::oneshot::Sender<Result<String>>);

fn start_stt(model: std::path::PathBuf, threads: Option<usize>) -> Result<mpsc::Sender<SttRequest>> {
    let (tx, rx) = mpsc::channel::<SttRequest>();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("familiar-stt".into())
        .spawn(move || {
            let transcriber = match Transcriber::load(&model) {
                Ok(t) => {
                    let _ = ready_tx.send(Ok(()));
                    t
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            for (audio, partial, reply) in rx {
                let options = SttOptions { threads, partial, ..Default::default() };
                let text = audio
                    .resampled(stt::SAMPLE_RATE)
                    .map_err(Error::from)
                    .and_then(|a| Ok(transcriber.transcribe(&a.samples, &options, || false)?.text));
                let _ = reply.send(text);
            }
        })
        .map_err(|e| Error::Invalid(format!("could not start speech to text: {e}")))?;
    ready_rx.recv().map_err(|_| Error::Invalid("speech to text stopped while loading".into()))??;
    Ok(tx)
}

/// What the voice thread is asked to say: a sentence of reply number `reply`.
struct SayRequest {
    reply: u64,
    sentence: String,
}

/// The voice thread and what the coordinator knows of it.
struct VoiceLine {
    requests: mpsc::Sender<SayRequest>,
    /// The reply being spoken; a sentence of any other is skipped (barge-in).
    current: Arc<AtomicU64>,
    /// Sentences asked for, and sentences done (spoken or skipped).
    asked: Arc<AtomicU64>,
    done: Arc<AtomicU64>,
}

impl VoiceLine {
    fn say(&self, reply: u64, sentence: String) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.requests.send(SayRequest { reply, sentence }).is_err() {
            self.done.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn idle(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.asked.load(Ordering::SeqCst)
    }
}

/// Starts the voice thread: it speaks each sentence into the speaker, unless
/// its reply was interrupted (the current reply number moved on), and reports
/// the first audio of each reply.
fn start_voice(
    mut voice: Box<dyn Voice>,
    prosody: Prosody,
    speaker: Arc<dyn Speaker>,
    first_audio: tokio_mpsc::UnboundedSender<(u64, Instant)>,
) -> Result<Arc<VoiceLine>> {
    let (requests, rx) = mpsc::channel::<SayRequest>();
    let line = Arc::new(VoiceLine {
        requests,
        current: Arc::new(AtomicU64::new(0)),
        asked: Arc::new(AtomicU64::new(0)),
        done: Arc::new(AtomicU64::new(0)),
    });
    let (current, done) = (line.current.clone(), line.done.clone());
    std::thread::Builder::new()
        .name("familiar-tts".into())
        .spawn(move || {
            let mut announced = u64::MAX;
            for SayRequest { reply, sentence } in rx {
                if current.load(Ordering::SeqCst) == reply {
                    let rate = voice.sample_rate();
                    // A sentence that fails to speak is skipped; the next may still be spoken.
                    let _spoken = voice.speak(&sentence, prosody, &mut |chunk| {
                        if current.load(Ordering::SeqCst) != reply {
                            return false;
                        }
                        if let Ok(audio) = (Audio { samples: chunk.to_vec(), rate }).resampled(speaker.rate()) {
                            speaker.queue(&audio.samples);
                        }
                        if announced != reply {
                            announced = reply;
                            let _ = first_audio.send((reply, Instant::now()));
                        }
                        true
                    });
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
        .map_err(|e| Error::Invalid(format!("could not start the voice: {e}")))?;
    Ok(line)
}

/// A reply being written and spoken.
struct Turn {
    reply: u64,
    cancel: CancelToken,
    cutter: Arc<Mutex<SentenceCutter>>,
    ended_at: Instant,
    speech_s: f64,
    heard_at: Instant,
    first_token: Arc<Mutex<Option<Instant>>>,
    first_audio: Option<Instant>,
    /// When the reply was written, its message id and text.
    written: Option<(Instant, String, String)>,
    interrupted: bool,
}

fn millis(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_millis() as u64
}

type Writing<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<super::ReplyReport>> + Send + 'a>>;

/// Talks with an agent live on `devices` until [`TalkControl::Stop`] (or
/// `max_turns` turns, or the controls channel closing). `events` receives
/// everything that happens, in order.
pub async fn talk_live(
    studio: &Studio,
    agent_query: &str,
    devices: Arc<dyn SoundDevices>,
    options: LiveOptions,
    mut controls: tokio_mpsc::UnboundedReceiver<TalkControl>,
    mut events: impl FnMut(TalkEvent) + Send,
) -> Result<LiveSummary> {
    let (_, agent) = super::agent(studio, agent_query).await?;
    let model = speech_model_path(studio).await?;
    // Devices first: without a microphone there is nothing to do, and the message says so.
    let (microphone, speaker) = {
        let devices = devices.clone();
        let (mic, spk) = (options.microphone.clone(), options.speaker.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let microphone = devices.microphone(mic.as_deref())?;
            let speaker: Arc<dyn Speaker> = Arc::from(devices.speaker(spk.as_deref())?);
            Ok((microphone, speaker))
        })
        .await
        .map_err(|e| Error::Invalid(e.to_string()))??
    };
    let threads = studio.engine_options.threads;
    let stt = tokio::task::spawn_blocking(move || start_stt(model, threads))
        .await
        .map_err(|e| Error::Invalid(e.to_string()))??;
    let (voice, choice) = load_agent_voice(studio, &agent, Some(1))?;
    let prosody = options.prosody.unwrap_or_else(|| prosody_for(agent.spec()));
    let (first_audio_tx, mut first_audio_rx) = tokio_mpsc::unbounded_channel();
    let voice = start_voice(voice, prosody, speaker.clone(), first_audio_tx)?;

    let conversation_id = match &options.conversation {
        Some(id) => super::conversation(studio, id).await?.0.id,
        None => super::start_conversation(studio, agent_query, None, 0).await?.id,
    };
    events(TalkEvent::Ready { conversation_id: conversation_id.clone(), voice: choice.clone() });

    let stop = Arc::new(AtomicBool::new(false));
    let pressed = Arc::new(AtomicBool::new(false));
    let (heard_tx, mut heard_rx) = tokio_mpsc::unbounded_channel();
    let listener = Listener {
        mode: options.mode,
        pressed: pressed.clone(),
        stop: stop.clone(),
        partial_every: options.partial_every,
    };
    let listening = std::thread::Builder::new()
        .name("familiar-listen".into())
        .spawn(move || listener.run(microphone, heard_tx))
        .map_err(|e| Error::Invalid(format!("could not start listening: {e}")))?;

    // Partial transcripts come back here, one in flight at a time.
    let (partial_tx, mut partial_rx) = tokio_mpsc::unbounded_channel::<String>();
    let partial_busy = Arc::new(AtomicBool::new(false));
    let (delta_tx, mut delta_rx) = tokio_mpsc::unbounded_channel::<(u64, String)>();

    let mut summary =
        LiveSummary { conversation_id: conversation_id.clone(), turns: 0, interrupted: 0, dropped_blocks: 0 };
    let mut turn: Option<Turn> = None;
    let mut writing: Option<Writing<'_>> = None;
    let mut user_speaking = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let result: Result<()> = loop {
        tokio::select! {
            heard = heard_rx.recv() => {
                let Some(heard) = heard else { break Err(Error::Invalid("the microphone stopped".into())) };
                // Without barge-in, what the user says while the agent has the floor is not heard.
                let agent_has_floor = turn.as_ref().is_some_and(|t| !t.interrupted);
                match heard {
                    Heard::Level(db) => events(TalkEvent::Level { db }),
                    Heard::Failed(e) => break Err(e.into()),
                    Heard::Started | Heard::SoFar(_) | Heard::Ended(..) if agent_has_floor && !options.barge_in => {}
                    Heard::Started => {
                        user_speaking = true;
                        if let Some(t) = turn.as_mut().filter(|t| !t.interrupted) {
                            t.interrupted = true;
                            t.cancel.cancel();
                            voice.current.fetch_add(1, Ordering::SeqCst);
                            speaker.clear();
                            events(TalkEvent::BargeIn);
                        }
                        events(TalkEvent::SpeechStarted);
                    }
                    Heard::SoFar(audio) => {
                        if !partial_busy.swap(true, Ordering::SeqCst) {
                            let (stt, busy, tx) = (stt.clone(), partial_busy.clone(), partial_tx.clone());
                            tokio::spawn(async move {
                                let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
                                if stt.send((audio, true, reply_tx)).is_ok()
                                    && let Ok(Ok(text)) = reply_rx.await
                                {
                                    let _ = tx.send(text);
                                }
                                busy.store(false, Ordering::SeqCst);
                            });
                        }
                    }
                    Heard::Ended(audio, ended_at) => {
                        user_speaking = false;
                        // An interrupted reply finishes writing what it has (it is stored), then closes.
                        if let Some(w) = writing.take() {
                            finish_written(w.await, &mut turn);
                        }
                        if let Some(t) = turn.take() {
                            close_turn(studio, &conversation_id, t, &choice, &mut summary, &mut events).await?;
                        }
                        if options.max_turns.is_some_and(|max| summary.turns >= max) {
                            break Ok(());
                        }
                        let speech_s = audio.seconds();
                        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
                        let stopped = || Error::Invalid("speech to text stopped".into());
                        stt.send((audio, false, reply_tx)).map_err(|_| stopped())?;
                        let text = reply_rx.await.map_err(|_| stopped())??;
                        let heard_at = Instant::now();
                        let trimmed = text.trim();
                        // Whisper writes noise as [BLANK_AUDIO], (coughs) and the like.
                        if trimmed.is_empty() || trimmed.starts_with(['[', '(']) && trimmed.ends_with([']', ')']) {
                            events(TalkEvent::NotHeard);
                            continue;
                        }
                        events(TalkEvent::Heard { text: text.clone() });
                        let reply = voice.current.fetch_add(1, Ordering::SeqCst) + 1;
                        let cancel = CancelToken::default();
                        let first_token = Arc::new(Mutex::new(None));
                        let cutter = Arc::new(Mutex::new(SentenceCutter::default()));
                        let (sink_first, sink_cutter, sink_voice, sink_delta) =
                            (first_token.clone(), cutter.clone(), voice.clone(), delta_tx.clone());
                        let sink = Box::new(move |piece: &str| {
                            if let Ok(mut t) = sink_first.lock() {
                                t.get_or_insert_with(Instant::now);
                            }
                            let _ = sink_delta.send((reply, piece.to_owned()));
                            let finished = sink_cutter.lock().map(|mut c| c.push(piece)).unwrap_or_default();
                            for sentence in finished {
                                sink_voice.say(reply, sentence);
                            }
                        });
                        turn = Some(Turn {
                            reply,
                            cancel: cancel.clone(),
                            cutter,
                            ended_at,
                            speech_s,
                            heard_at,
                            first_token,
                            first_audio: None,
                            written: None,
                            interrupted: false,
                        });
                        let (turn_options, conversation) = (options.turn.clone(), conversation_id.clone());
                        writing = Some(Box::pin(async move {
                            super::send_message(studio, &conversation, &text, &turn_options, sink, cancel).await
                        }));
                    }
                }
            }
            Some(text) = partial_rx.recv() => {
                if user_speaking && !text.trim().is_empty() {
                    events(TalkEvent::Partial { text });
                }
            }
            Some((reply, delta)) = delta_rx.recv() => {
                if turn.as_ref().is_some_and(|t| t.reply == reply && !t.interrupted) {
                    events(TalkEvent::Reply { delta });
                }
            }
            Some((reply, at)) = first_audio_rx.recv() => {
                if let Some(t) = turn.as_mut().filter(|t| t.reply == reply && !t.interrupted) {
                    t.first_audio.get_or_insert(at);
                    events(TalkEvent::Speaking);
                }
            }
            written = async { writing.as_mut().expect("guarded by the branch condition").await }, if writing.is_some() => {
                writing = None;
                finish_written(written, &mut turn);
                // The last words, if the reply did not end a sentence.
                if let Some(t) = turn.as_ref().filter(|t| !t.interrupted)
                    && let Some(rest) = t.cutter.lock().ok().and_then(|mut c| c.finish())
                {
                    voice.say(t.reply, rest);
                }
            }
            control = controls.recv() => match control {
                None | Some(TalkControl::Stop) => break Ok(()),
                Some(TalkControl::Press) => pressed.store(true, Ordering::SeqCst),
                Some(TalkControl::Release) => pressed.store(false, Ordering::SeqCst),
            },
            _ = tick.tick() => {
                // A reply is over when it is written, every sentence spoken and the speaker drained.
                let over = writing.is_none()
                    && turn.as_ref().is_some_and(|t| t.written.is_some())
                    && voice.idle()
                    && speaker.pending() == 0;
                if over && let Some(t) = turn.take() {
                    close_turn(studio, &conversation_id, t, &choice, &mut summary, &mut events).await?;
                    if options.max_turns.is_some_and(|max| summary.turns >= max) {
                        break Ok(());
                    }
                }
            }
        }
    };
    // Stop everything; an unfinished reply is cancelled and stored as far as it got.
    stop.store(true, Ordering::SeqCst);
    voice.current.fetch_add(1, Ordering::SeqCst);
    speaker.clear();
    if let Some(t) = turn.as_mut() {
        t.cancel.cancel();
        t.interrupted = true;
    }
    if let Some(w) = writing.take() {
        finish_written(w.await, &mut turn);
    }
    if let Some(t) = turn.take() {
        close_turn(studio, &conversation_id, t, &choice, &mut summary, &mut events).await?;
    }
    drop(voice);
    let dropped = tokio::task::spawn_blocking(move || listening.join()).await;
    summary.dropped_blocks = dropped.ok().and_then(|d| d.ok()).unwrap_or_default();
    result.map(|()| summary)
}

/// Notes a written reply on its turn (a failed one leaves `written` empty and
/// the turn is closed as interrupted).
fn finish_written(written: Result<super::ReplyReport>, turn: &mut Option<Turn>) {
    let Some(t) = turn.as_mut() else { return };
    match written {
        Ok(report) => t.written = Some((Instant::now(), report.message.id.clone(), report.message.content.clone())),
        Err(_) => {
            t.interrupted = true;
            t.written = Some((Instant::now(), String::new(), String::new()));
        }
    }
}

/// Stores a finished turn's stages beside its reply and reports it.
async fn close_turn(
    studio: &Studio,
    conversation_id: &str,
    t: Turn,
    choice: &VoiceChoice,
    summary: &mut LiveSummary,
    events: &mut (impl FnMut(TalkEvent) + Send),
) -> Result<()> {
    let Some((written_at, message_id, reply)) = t.written else { return Ok(()) };
    let now = Instant::now();
    let first_token = t.first_token.lock().ok().and_then(|f| *f);
    let stages = LiveStages {
        speech_s: t.speech_s,
        stt_ms: millis(t.ended_at, t.heard_at),
        first_token_ms: first_token.map_or(0, |f| millis(t.heard_at, f)),
        first_audio_ms: t.first_audio.map_or(0, |f| millis(t.ended_at, f)),
        reply_ms: millis(t.heard_at, written_at),
        total_ms: millis(t.ended_at, now),
    };
    summary.turns += 1;
    summary.interrupted += usize::from(t.interrupted);
    if !message_id.is_empty() {
        let turn = crate::voice::VoiceTurn {
            message_id: message_id.clone(),
            conversation_id: conversation_id.to_owned(),
            voice: choice.engine.into(),
            voice_note: choice.note.clone(),
            stages: serde_json::to_value(&stages).unwrap_or_default(),
            interrupted: t.interrupted,
            created_at: studio.now(),
        };
        crate::voice::Voices { pool: studio.store.pool() }
            .record_turn(&turn)
            .await
            .map_err(crate::chat::ChatError::from)?;
    }
    events(TalkEvent::TurnDone { message_id, reply, stages, interrupted: t.interrupted });
    Ok(())
}

/// The spoken turns of a conversation, with their stages.
pub async fn voice_turns(studio: &Studio, conversation_id: &str) -> Result<Vec<crate::voice::VoiceTurn>> {
    Ok(crate::voice::Voices { pool: studio.store.pool() }
        .turns(conversation_id)
        .await
        .map_err(crate::chat::ChatError::from)?)
}
