//! Sound devices: listing, recording and playback behind one trait,
//! [`SoundDevices`], implemented by [`Cpal`] (ALSA, CoreAudio, WASAPI). The
//! device callbacks never block: recording hands blocks to a bounded channel
//! (a full channel drops the block and counts it), playback reads a shared
//! buffer by an atomic position. No device is a normal state: the error says
//! so, and everything that is not voice keeps working.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Listing, recording and playback.
pub trait SoundDevices {
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError>;
    /// Records up to `seconds` of mono audio; `level` gets each block's loudness
    /// in dBFS and returns false to stop early.
    fn record(
        &self,
        device: Option<&str>,
        seconds: f64,
        level: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Recording, DeviceError>;
    /// Plays audio and returns when it has been played; `stop` ends it early (barge-in).
    fn play(&self, device: Option<&str>, audio: &Audio, stop: &AtomicBool) -> Result<(), DeviceError>;
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

    fn record(
        &self,
        device: Option<&str>,
        seconds: f64,
        level: &mut dyn FnMut(f32) -> bool,
    ) -> Result<Recording, DeviceError> {
        let device = self.find(true, device)?;
        let config = device.default_input_config().map_err(failed)?;
        let (rate, channels) = (config.sample_rate(), config.channels().max(1) as usize);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<f32>>(64);
        let dropped = Arc::new(AtomicUsize::new(0));
        let dropped_in_callback = dropped.clone();
        let to_mono = move |frames: Vec<f32>| -> Vec<f32> {
            frames.chunks(channels).map(|f| f.iter().sum::<f32>() / channels as f32).collect()
        };
        let send = move |block: Vec<f32>| {
            if tx.try_send(to_mono(block)).is_err() {
                dropped_in_callback.fetch_add(1, Ordering::Relaxed);
            }
        };
        let broken = Arc::new(AtomicBool::new(false));
        let broken_in_callback = broken.clone();
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
            _ => {
                device.build_input_stream::<f32, _, _>(stream_config, move |data, _| send(data.to_vec()), errors, None)
            }
        }
        .map_err(failed)?;
        stream.play().map_err(failed)?;
        let wanted = (seconds * rate as f64) as usize;
        let mut samples = Vec::with_capacity(wanted);
        let deadline = Instant::now() + Duration::from_secs_f64(seconds + 5.0);
        while samples.len() < wanted {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(block) => {
                    let energy = block.iter().map(|s| s * s).sum::<f32>() / block.len().max(1) as f32;
                    samples.extend_from_slice(&block);
                    if !level(10.0 * energy.max(1e-12).log10()) {
                        break;
                    }
                }
                Err(_) if Instant::now() > deadline => {
                    return Err(DeviceError::Failed("the microphone sent no audio".into()));
                }
                Err(_) => {}
            }
        }
        drop(stream);
        if broken.load(Ordering::Relaxed) && samples.is_empty() {
            return Err(DeviceError::Failed("the microphone reported an error and sent no audio".into()));
        }
        samples.truncate(wanted);
        Ok(Recording { audio: Audio { samples, rate }, dropped_blocks: dropped.load(Ordering::Relaxed) })
    }

    fn play(&self, device: Option<&str>, audio: &Audio, stop: &AtomicBool) -> Result<(), DeviceError> {
        let device = self.find(false, device)?;
        let config = device.default_output_config().map_err(failed)?;
        let (rate, channels) = (config.sample_rate(), config.channels().max(1) as usize);
        let samples = Arc::new(audio.clone().resampled(rate).map_err(failed)?.samples);
        let position = Arc::new(AtomicUsize::new(0));
        let (data, at) = (samples.clone(), position.clone());
        let stream = device
            .build_output_stream::<f32, _, _>(
                config.config(),
                move |out: &mut [f32], _| {
                    let start = at.load(Ordering::Relaxed);
                    for (i, frame) in out.chunks_mut(channels).enumerate() {
                        let v = data.get(start + i).copied().unwrap_or(0.0);
                        frame.iter_mut().for_each(|s| *s = v);
                    }
                    at.store(start + out.len() / channels, Ordering::Relaxed);
                },
                // An underrun or a lost device shows as the position not moving (the deadline below).
                |_| {},
                None,
            )
            .map_err(failed)?;
        stream.play().map_err(failed)?;
        let length = Duration::from_secs_f64(samples.len() as f64 / rate as f64);
        let deadline = Instant::now() + length + Duration::from_secs(5);
        while position.load(Ordering::Relaxed) < samples.len() {
            if stop.load(Ordering::Relaxed) {
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
