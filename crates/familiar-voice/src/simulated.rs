//! Simulated sound devices, for tests and headless runs on machines without a
//! sound card: a microphone that hears what it is told to, in real time (20 ms
//! blocks, then silence), and a speaker that plays at real-time pace into a
//! log. They implement the same [`SoundDevices`] trait as the real devices, so
//! the live voice loop runs unchanged on them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::audio::Audio;
use crate::devices::{DeviceError, DeviceInfo, Microphone, PlaybackQueue, QueuedSpeaker, SoundDevices, Speaker};

/// The device name both simulated devices answer to.
pub const NAME: &str = "simulated";

/// What the simulated speaker played.
#[derive(Debug, Default, Clone)]
pub struct Played {
    /// Every sample that left the queue (silence between replies is not in it).
    pub samples: Vec<f32>,
    /// When the first and the last of them were played.
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
}

/// A microphone and a speaker that run in real time without hardware.
pub struct Simulated {
    rate: u32,
    heard: Arc<Mutex<VecDeque<f32>>>,
    played: Arc<Mutex<Played>>,
}

impl Simulated {
    /// Devices at `rate` Hz (both microphone and speaker).
    pub fn new(rate: u32) -> Simulated {
        Simulated { rate, heard: Default::default(), played: Default::default() }
    }

    /// The microphone hears `audio` next (after what it was already given).
    pub fn say(&self, audio: &Audio) -> Result<(), DeviceError> {
        let audio = audio.clone().resampled(self.rate).map_err(|e| DeviceError::Failed(e.to_string()))?;
        if let Ok(mut heard) = self.heard.lock() {
            heard.extend(audio.samples);
        }
        Ok(())
    }

    /// Seconds of audio the microphone has yet to hear.
    pub fn unheard_seconds(&self) -> f64 {
        self.heard.lock().map_or(0, |h| h.len()) as f64 / self.rate as f64
    }

    /// What the speaker has played so far.
    pub fn played(&self) -> Played {
        self.played.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Blocks of 20 ms.
fn block_len(rate: u32) -> usize {
    (rate as usize / 50).max(1)
}

/// Runs `tick` every 20 ms (against the clock, so delays do not add up) until `stop` is set.
fn every_block(name: &str, stop: Arc<AtomicBool>, mut tick: impl FnMut() + Send + 'static) -> Result<(), DeviceError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let start = Instant::now();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                tick();
                n += 1;
                let due = start + Duration::from_millis(20) * n;
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        })
        .map(|_| ())
        .map_err(|e| DeviceError::Failed(e.to_string()))
}

struct SimulatedMicrophone {
    rate: u32,
    blocks: mpsc::Receiver<Vec<f32>>,
    _stop: StopOnDrop,
}

impl Microphone for SimulatedMicrophone {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn next_block(&mut self, timeout: Duration) -> Result<Option<Vec<f32>>, DeviceError> {
        Ok(self.blocks.recv_timeout(timeout).ok())
    }

    fn dropped_blocks(&self) -> usize {
        0
    }
}

/// Stops a simulated device's thread when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn check_name(kind: &'static str, device: Option<&str>) -> Result<(), DeviceError> {
    match device {
        None | Some(NAME) => Ok(()),
        Some(other) => Err(DeviceError::NotFound { kind, name: other.to_owned() }),
    }
}

impl SoundDevices for Simulated {
    fn devices(&self) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(vec![DeviceInfo {
            id: NAME.into(),
            name: "Simulated microphone and speaker".into(),
            input: true,
            output: true,
            default_input: true,
            default_output: true,
            sample_rate: Some(self.rate),
        }])
    }

    fn microphone(&self, device: Option<&str>) -> Result<Box<dyn Microphone>, DeviceError> {
        check_name("microphone", device)?;
        let (tx, blocks) = mpsc::sync_channel(64);
        let stop = Arc::new(AtomicBool::new(false));
        let (heard, n) = (self.heard.clone(), block_len(self.rate));
        every_block("familiar-sim-microphone", stop.clone(), move || {
            let mut block = vec![0.0; n];
            if let Ok(mut heard) = heard.lock() {
                let k = n.min(heard.len());
                for (b, s) in block.iter_mut().zip(heard.drain(..k)) {
                    *b = s;
                }
            }
            let _ = tx.try_send(block);
        })?;
        Ok(Box::new(SimulatedMicrophone { rate: self.rate, blocks, _stop: StopOnDrop(stop) }))
    }

    fn speaker(&self, device: Option<&str>) -> Result<Box<dyn Speaker>, DeviceError> {
        check_name("speaker", device)?;
        let queue = Arc::new(PlaybackQueue::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (from, played, n) = (queue.clone(), self.played.clone(), block_len(self.rate));
        let mut block = vec![0.0; n];
        every_block("familiar-sim-speaker", stop.clone(), move || {
            let real = from.take_into(&mut block);
            if real > 0
                && let Ok(mut played) = played.lock()
            {
                let now = Instant::now();
                played.first_at.get_or_insert(now);
                played.last_at = Some(now);
                played.samples.extend_from_slice(&block[..real]);
            }
        })?;
        Ok(Box::new(QueuedSpeaker::new(self.rate, queue, StopOnDrop(stop))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_microphone_hears_in_real_time_and_the_speaker_plays_in_real_time() {
        let devices = Simulated::new(16_000);
        let tone = Audio { samples: vec![0.5; 8_000], rate: 16_000 };
        devices.say(&tone).unwrap();
        let mut microphone = devices.microphone(None).unwrap();
        let start = Instant::now();
        let mut heard = Vec::new();
        while heard.len() < 12_000 {
            if let Some(block) = microphone.next_block(Duration::from_secs(1)).unwrap() {
                heard.extend(block);
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!(elapsed > 0.6, "0.75 s of audio came in {elapsed} s");
        assert_eq!(heard[..8_000], tone.samples[..]);
        assert!(heard[8_000..12_000].iter().all(|&s| s == 0.0), "then silence");

        let speaker = devices.speaker(None).unwrap();
        speaker.queue(&[0.25; 4_000]);
        std::thread::sleep(Duration::from_millis(120));
        assert!(speaker.pending() > 0, "a quarter second is not played in 0.12 s");
        speaker.clear();
        assert_eq!(speaker.pending(), 0);
        let played = devices.played();
        assert!(!played.samples.is_empty() && played.samples.len() < 4_000, "{}", played.samples.len());
        assert!(devices.microphone(Some("hw:0")).is_err());
    }
}
