//! Sound devices behind one trait, [`SoundDevices`]: listing, an open
//! [`Microphone`] (blocks as they are captured) and an open [`Speaker`] (plays
//! what is queued, can be cleared at once for barge-in); recording and playing
//! a whole clip are built on those two. [`Cpal`] implements it for the
//! system's devices (ALSA, CoreAudio, WASAPI); [`crate::simulated`] for tests.
//!
//! Each cpal stream is owned by a thread of its own. Its callback never
//! blocks: the microphone hands blocks to a bounded channel (a full channel
//! drops the block and counts it), the speaker takes samples from a
//! [`PlaybackQueue`] with `try_lock` (silence for that round if the caller
//! holds the lock). No device is a normal state: the error says so, and
//! everything that is not voice keeps working.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::audio::Audio;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no {0} was found: plug one in or choose another with --device; text chat keeps working without one")]
    NoDevice(&'static str),
    #[error("no {kind} named {name:?}: `familiar voice devices` lists them")]
    NotFound { kind: &'static str, name: String },
    #[error("the sound device failed: {0}")]
    Failed(String),
    #[error("recording stopped")]
    Cancelled,
}

/// A device as listed for the user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeviceInfo {
    /// What `--device` takes (e.g. ALSA's `null`, `default`, `hw:CARD=…`).
    pub id: String,
    pub name: String,
    pub input: bool,
    pub output: bool,
    pub default_input: bool,
    pub default_output: bool,
    /// The device's preferred sample rate.
    pub sample_rate: Option<u32>,
}

/// What a recording saw.
#[derive(Debug, Clone)]
pub struct Recording {
    pub audio: Audio,
    /// Blocks the callback had to drop because the reader fell behind.
    pub dropped_blocks: usize,
}

/// An open microphone: blocks of mono samples, in the order they were captured.
pub trait Microphone: Send {
    /// The rate of the blocks.
    fn rate(&self) -> u32;
    /// The next block, or `None` when none came within `timeout`.
    fn next_block(&mut self, timeout: Duration) -> Result<Option<Vec<f32>>, DeviceError>;
    /// Blocks the device had to drop because the reader fell behind.
    fn dropped_blocks(&self) -> usize;
}

/// An open speaker: plays what is queued, as soon as it is queued.
pub trait Speaker: Send + Sync {
    /// The rate [`Speaker::queue`] expects.
    fn rate(&self) -> u32;
    /// Queues mono samples after what is already queued.
    fn queue(&self, samples: &[f32]);
    /// Drops everything not yet played (barge-in).
    fn clear(&self);
    /// Samples played so far.
    fn played(&self) -> u64;
    /// Samples queued and not yet played.
    fn pending(&self) -> usize;
}

/// Listing, opening, and whole-clip recording and playback.
pub trait SoundDevices: Send + Sync {
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError>;
    /// Opens a microphone (the system's default when `device` is `None`).
    fn microphone(&self, device: Option<&str>) -> Result<Box<dyn Microphone>, DeviceError>;
    /// Opens a speaker (the system's default when `device` is `None`).
    fn speaker(&self, device: Option<&str>) -> Result<Box<dyn Speaker>, DeviceError>;

    /// Records up to `seconds` of mono audio; `level` gets each block's loudness
    /// in dBFS and returns false to stop early.
    fn record(
        &self,
        device: Option<&str>,
        seconds: f64,
        level: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Recording, DeviceError> {
        let mut microphone = self.microphone(device)?;
        let rate = microphone.rate();
        let wanted = (seconds * rate as f64) as usize;
        let mut samples = Vec::with_capacity(wanted);
        let deadline = Instant::now() + Duration::from_secs_f64(seconds + 5.0);
        while samples.len() < wanted {
            match microphone.next_block(Duration::from_millis(500))? {
                Some(block) => {
                    samples.extend_from_slice(&block);
                    if !level(level_db(&block)) {
                        break;
                    }
                }
                None if Instant::now() > deadline => {
                    return Err(DeviceError::Failed("the microphone sent no audio".into()));
                }
                None => {}
            }
        }
        samples.truncate(wanted);
        Ok(Recording { audio: Audio { samples, rate }, dropped_blocks: microphone.dropped_blocks() })
    }

    /// Plays audio and returns when it has been played; `stop` ends it early (barge-in).
    fn play(&self, device: Option<&str>, audio: &Audio, stop: &AtomicBool) -> Result<(), DeviceError> {
        let speaker = self.speaker(device)?;
        let samples = audio.clone().resampled(speaker.rate()).map_err(failed)?.samples;
        speaker.queue(&samples);
        let length = Duration::from_secs_f64(samples.len() as f64 / speaker.rate() as f64);
        let deadline = Instant::now() + length + Duration::from_secs(5);
        while speaker.pending() > 0 {
            if stop.load(Ordering::Relaxed) {
                speaker.clear();
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(DeviceError::Failed("the speaker stopped taking audio".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// A block's loudness in dBFS (its mean power).
pub fn level_db(block: &[f32]) -> f32 {
    let energy = block.iter().map(|s| s * s).sum::<f32>() / block.len().max(1) as f32;
    10.0 * energy.max(1e-12).log10()
}

/// What is queued for a speaker and how much of it was played; shared by the
/// caller (which queues and clears) and the device (which takes).
#[derive(Default)]
pub struct PlaybackQueue {
    samples: Mutex<VecDeque<f32>>,
    played: AtomicU64,
}

impl PlaybackQueue {
    pub fn queue(&self, samples: &[f32]) {
        if let Ok(mut q) = self.samples.lock() {
            q.extend(samples.iter().copied());
        }
    }

    pub fn clear(&self) {
        if let Ok(mut q) = self.samples.lock() {
            q.clear();
        }
    }

    pub fn pending(&self) -> usize {
        self.samples.lock().map_or(0, |q| q.len())
    }

    pub fn played(&self) -> u64 {
        self.played.load(Ordering::Relaxed)
    }

    /// Fills `out` with the next samples (silence past the end) and returns how
    /// many were real. Never waits: while the caller holds the lock, this round is silence.
    pub fn take_into(&self, out: &mut [f32]) -> usize {
        let Ok(mut q) = self.samples.try_lock() else {
            out.fill(0.0);
            return 0;
        };
        let n = out.len().min(q.len());
        for (o, s) in out.iter_mut().zip(q.drain(..n)) {
            *o = s;
        }
        out[n..].fill(0.0);
        self.played.fetch_add(n as u64, Ordering::Relaxed);
        n
    }
}

/// The system's devices through cpal.
pub struct Cpal {
    host: cpal::Host,
}

impl Default for Cpal {
    fn default() -> Self {
        Cpal { host: cpal::default_host() }
    }
}

/// A device id without its host prefix (`alsa:null` → `null`).
fn short_id(id: &str) -> &str {
    id.split_once(':').map_or(id, |(host, rest)| if host.chars().all(|c| c.is_ascii_alphabetic()) { rest } else { id })
}

fn failed(e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Failed(e.to_string())
}

impl Cpal {
    fn find(&self, input: bool, name: Option<&str>) -> Result<cpal::Device, DeviceError> {
        let kind = if input { "microphone" } else { "speaker" };
        match name {
            None => {
                let device = if input { self.host.default_input_device() } else { self.host.default_output_device() };
                device.ok_or(DeviceError::NoDevice(kind))
            }
            Some(name) => {
                let mut all =
                    if input { self.host.input_devices() } else { self.host.output_devices() }.map_err(failed)?;
                all.find(|d| d.to_string() == name || d.id().is_ok_and(|id| short_id(&id.to_string()) == name))
                    .ok_or_else(|| DeviceError::NotFound { kind, name: name.to_owned() })
            }
        }
    }
}

/// The rate speech recognition works at.
const SPEECH_RATE: u32 = 16_000;

/// A microphone's configuration: 16 kHz mono (what speech recognition wants,
/// so nothing is resampled) when the device offers it, else its default.
fn speech_config(device: &cpal::Device) -> Result<cpal::SupportedStreamConfig, DeviceError> {
    let rank = |format: cpal::SampleFormat| match format {
        cpal::SampleFormat::I16 => Some(0),
        cpal::SampleFormat::F32 => Some(1),
        cpal::SampleFormat::I32 => Some(2),
        _ => None,
    };
    if let Ok(ranges) = device.supported_input_configs() {
        let best = ranges
            .filter(|r| r.channels() == 1 && (r.min_sample_rate()..=r.max_sample_rate()).contains(&SPEECH_RATE))
            .filter_map(|r| rank(r.sample_format()).map(|k| (k, r)))
            .min_by_key(|(k, _)| *k);
        if let Some((_, range)) = best {
            return Ok(range.with_sample_rate(SPEECH_RATE));
        }
    }
    device.default_input_config().map_err(failed)
}

/// Runs `open` on a thread of its own that keeps the stream it returns alive
/// until `stop` is dropped; returns what `open` reported once the stream plays.
fn own_stream<T: Send + 'static>(
    name: &str,
    open: impl FnOnce() -> Result<(cpal::Stream, T), DeviceError> + Send + 'static,
) -> Result<(T, mpsc::Sender<()>), DeviceError> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || match open() {
            Ok((stream, value)) => {
                if let Err(e) = stream.play() {
                    let _ = ready_tx.send(Err(failed(e)));
                    return;
                }
                let _ = ready_tx.send(Ok(value));
                // Until the owner is dropped.
                let _ = stop_rx.recv();
                drop(stream);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(failed)?;
    let value = ready_rx.recv().map_err(|_| DeviceError::Failed("the sound device thread stopped".into()))??;
    Ok((value, stop_tx))
}

struct CpalMicrophone {
    rate: u32,
    blocks: mpsc::Receiver<Vec<f32>>,
    dropped: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
    _stop: mpsc::Sender<()>,
}

impl Microphone for CpalMicrophone {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn next_block(&mut self, timeout: Duration) -> Result<Option<Vec<f32>>, DeviceError> {
        match self.blocks.recv_timeout(timeout) {
            Ok(block) => Ok(Some(block)),
            Err(mpsc::RecvTimeoutError::Timeout) if !self.broken.load(Ordering::Relaxed) => Ok(None),
            Err(_) => Err(DeviceError::Failed("the microphone stopped sending audio (unplugged?)".into())),
        }
    }

    fn dropped_blocks(&self) -> usize {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A speaker that plays what its [`PlaybackQueue`] holds; the device keeps
/// playing until `guard` is dropped (both the real and the simulated ones).
pub struct QueuedSpeaker<G: Send + Sync> {
    rate: u32,
    queue: Arc<PlaybackQueue>,
    _guard: G,
}

impl<G: Send + Sync> QueuedSpeaker<G> {
    pub fn new(rate: u32, queue: Arc<PlaybackQueue>, guard: G) -> QueuedSpeaker<G> {
        QueuedSpeaker { rate, queue, _guard: guard }
    }
}

impl<G: Send + Sync> Speaker for QueuedSpeaker<G> {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn queue(&self, samples: &[f32]) {
        self.queue.queue(samples)
    }
    fn clear(&self) {
        self.queue.clear()
    }
    fn played(&self) -> u64 {
        self.queue.played()
    }
    fn pending(&self) -> usize {
        self.queue.pending()
    }
}

impl SoundDevices for Cpal {
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        let default_in = self.host.default_input_device().map(|d| d.to_string());
        let default_out = self.host.default_output_device().map(|d| d.to_string());
        let mut out: Vec<DeviceInfo> = Vec::new();
        for device in self.host.devices().map_err(failed)? {
            let name = device.to_string();
            let (input, output) = (device.supports_input(), device.supports_output());
            let rate =
                device.default_input_config().or_else(|_| device.default_output_config()).ok().map(|c| c.sample_rate());
            out.push(DeviceInfo {
                id: device.id().map(|id| short_id(&id.to_string()).to_owned()).unwrap_or_else(|_| name.clone()),
                default_input: default_in.as_deref() == Some(&name),
                default_output: default_out.as_deref() == Some(&name),
                name,
                input,
                output,
                sample_rate: rate,
            });
        }
        Ok(out)
    }

    fn microphone(&self, device: Option<&str>) -> Result<Box<dyn Microphone>, DeviceError> {
        let device = self.find(true, device)?;
        let (blocks_tx, blocks) = mpsc::sync_channel::<Vec<f32>>(64);
        let dropped = Arc::new(AtomicUsize::new(0));
        let broken = Arc::new(AtomicBool::new(false));
        let (dropped_in_callback, broken_in_callback) = (dropped.clone(), broken.clone());
        let (rate, stop) = own_stream("familiar-microphone", move || {
            let config = speech_config(&device)?;
            let (rate, channels) = (config.sample_rate(), config.channels().max(1) as usize);
            let send = move |block: Vec<f32>| {
                let mono: Vec<f32> = block.chunks(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect();
                if blocks_tx.try_send(mono).is_err() {
                    dropped_in_callback.fetch_add(1, Ordering::Relaxed);
                }
            };
            let errors = move |_: cpal::Error| broken_in_callback.store(true, Ordering::Relaxed);
            let stream_config: cpal::StreamConfig = config.config();
            let stream = match config.sample_format() {
                cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
                    stream_config,
                    move |data, _| send(data.iter().map(|&s| s as f32 / 32768.0).collect()),
                    errors,
                    None,
                ),
                cpal::SampleFormat::I32 => device.build_input_stream::<i32, _, _>(
                    stream_config,
                    move |data, _| send(data.iter().map(|&s| s as f32 / 2_147_483_648.0).collect()),
                    errors,
                    None,
                ),
                _ => device.build_input_stream::<f32, _, _>(
                    stream_config,
                    move |data, _| send(data.to_vec()),
                    errors,
                    None,
                ),
            }
            .map_err(failed)?;
            Ok((stream, rate))
        })?;
        Ok(Box::new(CpalMicrophone { rate, blocks, dropped, broken, _stop: stop }))
    }

    fn speaker(&self, device: Option<&str>) -> Result<Box<dyn Speaker>, DeviceError> {
        let device = self.find(false, device)?;
        let queue = Arc::new(PlaybackQueue::default());
        let from = queue.clone();
        let (rate, stop) = own_stream("familiar-speaker", move || {
            let config = device.default_output_config().map_err(failed)?;
            let (rate, channels) = (config.sample_rate(), config.channels().max(1) as usize);
            let mut mono = Vec::new();
            let stream = device
                .build_output_stream::<f32, _, _>(
                    config.config(),
                    move |out: &mut [f32], _| {
                        // Grows once to the device's period size, then is reused.
                        mono.resize(out.len() / channels, 0.0);
                        from.take_into(&mut mono);
                        for (frame, &v) in out.chunks_mut(channels).zip(&mono) {
                            frame.fill(v);
                        }
                    },
                    // An underrun or a lost device shows as playback not moving (callers' deadlines).
                    |_| {},
                    None,
                )
                .map_err(failed)?;
            Ok((stream, rate))
        })?;
        Ok(Box::new(QueuedSpeaker::new(rate, queue, stop)))
    }
}
