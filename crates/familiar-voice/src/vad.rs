//! Voice-activity detection for hands-free turns: 20 ms frames, their level in
//! dB against a noise floor that follows steady background noise, speech when
//! a frame stands 12 dB above the floor, with a minimum length and a hangover so
//! a turn is not cut at every short pause. Streaming: feed samples as they come.

/// A change the detector saw, at a sample position of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    SpeechStart(usize),
    SpeechEnd(usize),
}

/// The detector's settings.
#[derive(Debug, Clone, Copy)]
pub struct VadConfig {
    /// dB above the noise floor that count as speech.
    pub margin_db: f32,
    /// Frames quieter than this (dBFS) are never speech.
    pub min_level_db: f32,
    /// Speech must last this long to start a turn.
    pub min_speech_ms: u32,
    /// Silence must last this long to end a turn.
    pub hangover_ms: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig { margin_db: 12.0, min_level_db: -50.0, min_speech_ms: 120, hangover_ms: 600 }
    }
}

/// A streaming detector.
pub struct Vad {
    config: VadConfig,
    frame: usize,
    pending: Vec<f32>,
    position: usize,
    floor_db: Option<f32>,
    speaking: bool,
    run_loud: usize,
    run_quiet: usize,
    loud_since: usize,
}

impl Vad {
    pub fn new(rate: u32, config: VadConfig) -> Vad {
        Vad {
            config,
            frame: (rate as usize / 50).max(1),
            pending: Vec::new(),
            position: 0,
            floor_db: None,
            speaking: false,
            run_loud: 0,
            run_quiet: 0,
            loud_since: 0,
        }
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Feeds samples; returns what changed.
    pub fn push(&mut self, samples: &[f32]) -> Vec<VadEvent> {
        self.pending.extend_from_slice(samples);
        let mut events = Vec::new();
        let frame_ms = 20;
        let (min_loud, hangover) = (
            (self.config.min_speech_ms / frame_ms).max(1) as usize,
            (self.config.hangover_ms / frame_ms).max(1) as usize,
        );
        let mut start = 0;
        while self.pending.len() - start >= self.frame {
            let frame = &self.pending[start..start + self.frame];
            let energy = frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32;
            let db = 10.0 * energy.max(1e-12).log10();
            let floor = *self.floor_db.get_or_insert(db);
            let loud = db > self.config.min_level_db && db > floor + self.config.margin_db;
            // The floor drops at once to a quieter frame and rises slowly (3 dB a second) otherwise,
            // so steady noise becomes the floor and speech does not.
            self.floor_db = Some(if db < floor { db } else { floor + 0.06 });
            if loud {
                if self.run_loud == 0 {
                    self.loud_since = self.position;
                }
                self.run_loud += 1;
                self.run_quiet = 0;
                if !self.speaking && self.run_loud >= min_loud {
                    self.speaking = true;
                    events.push(VadEvent::SpeechStart(self.loud_since));
                }
            } else {
                self.run_quiet += 1;
                self.run_loud = 0;
                if self.speaking && self.run_quiet >= hangover {
                    self.speaking = false;
                    events.push(VadEvent::SpeechEnd(self.position + self.frame - self.run_quiet * self.frame));
                }
            }
            self.position += self.frame;
            start += self.frame;
        }
        self.pending.drain(..start);
        events
    }

    /// Ends the stream: an open turn ends where the samples end.
    pub fn finish(&mut self) -> Vec<VadEvent> {
        if self.speaking {
            self.speaking = false;
            return vec![VadEvent::SpeechEnd(self.position + self.pending.len())];
        }
        Vec::new()
    }
}

/// The spans of speech in a whole recording, as (start, end) sample positions.
pub fn speech_spans(samples: &[f32], rate: u32, config: VadConfig) -> Vec<(usize, usize)> {
    let mut vad = Vad::new(rate, config);
    let mut events = vad.push(samples);
    events.extend(vad.finish());
    let mut spans = Vec::new();
    let mut open = None;
    for e in events {
        match e {
            VadEvent::SpeechStart(at) => open = Some(at),
            VadEvent::SpeechEnd(at) => spans.extend(open.take().map(|s| (s, at))),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 16_000;

    fn noise(seconds: f32, amplitude: f32, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..(seconds * RATE as f32) as usize)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * amplitude
            })
            .collect()
    }

    /// A voiced sound: a 150 Hz buzz with harmonics, its loudness changing like syllables.
    fn voiced(seconds: f32) -> Vec<f32> {
        (0..(seconds * RATE as f32) as usize)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let syllables = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * 4.0 * t).sin();
                let buzz: f32 =
                    (1..6).map(|h| (2.0 * std::f32::consts::PI * 150.0 * h as f32 * t).sin() / h as f32).sum();
                0.2 * syllables * buzz
            })
            .collect()
    }

    #[test]
    fn silence_is_not_speech() {
        assert!(speech_spans(&vec![0.0; RATE as usize * 3], RATE, VadConfig::default()).is_empty());
    }

    #[test]
    fn steady_noise_becomes_the_floor_and_is_not_speech() {
        for amplitude in [0.01, 0.1, 0.5] {
            let spans = speech_spans(&noise(4.0, amplitude, 7), RATE, VadConfig::default());
            assert!(spans.is_empty(), "noise at {amplitude}: {spans:?}");
        }
    }

    #[test]
    fn speech_in_silence_and_in_noise_is_found_where_it_is() {
        for background in [0.0, 0.01] {
            let mut audio = noise(1.0, background, 3);
            audio.extend(voiced(1.5).iter().zip(noise(1.5, background, 4)).map(|(a, b)| a + b));
            audio.extend(noise(1.5, background, 5));
            let spans = speech_spans(&audio, RATE, VadConfig::default());
            assert_eq!(spans.len(), 1, "{background}: {spans:?}");
            let (start, end) = (spans[0].0 as f32 / RATE as f32, spans[0].1 as f32 / RATE as f32);
            assert!((0.95..1.1).contains(&start), "starts at {start}");
            assert!((2.45..2.6).contains(&end), "ends at {end}");
        }
    }

    #[test]
    fn a_short_pause_does_not_end_the_turn_but_a_long_one_does() {
        let mut audio = vec![0.0; RATE as usize / 2];
        audio.extend(voiced(1.0));
        audio.extend(vec![0.0; RATE as usize * 3 / 10]);
        audio.extend(voiced(1.0));
        audio.extend(vec![0.0; RATE as usize * 2]);
        audio.extend(voiced(0.5));
        let spans = speech_spans(&audio, RATE, VadConfig::default());
        assert_eq!(spans.len(), 2, "{spans:?}");
    }

    #[test]
    fn a_click_is_too_short_to_start_a_turn() {
        let mut audio = vec![0.0; RATE as usize];
        audio.extend(voiced(0.06));
        audio.extend(vec![0.0; RATE as usize]);
        assert!(speech_spans(&audio, RATE, VadConfig::default()).is_empty());
    }
}
