//! Audio files in and out: any WAV, MP3, FLAC or Ogg Vorbis file decoded
//! (symphonia) to mono f32 and resampled (rubato) to the rate a model wants;
//! WAV written with hound. Files longer than the caller allows are refused
//! from their header when it says so, else while decoding, before memory grows.

use std::path::Path;

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Rates outside this range are refused as malformed.
const RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("could not read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not an audio file Familiar can read (WAV, MP3, FLAC, Ogg Vorbis): {1}")]
    Format(String, String),
    #[error("{0} is damaged: {1}")]
    Damaged(String, String),
    #[error("{path} is {seconds:.0} s long; at most {max:.0} s are accepted here")]
    TooLong { path: String, seconds: f64, max: f64 },
    #[error("{0} has a sample rate of {1} Hz, which is not a real audio rate")]
    BadRate(String, u32),
    #[error("{0} holds no audio samples")]
    Empty(String),
    #[error("{0} is silent: there is no speech to transcribe")]
    Silent(String),
    #[error("could not resample: {0}")]
    Resample(String),
}

/// Mono samples in [-1, 1] at `rate` Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub rate: u32,
}

impl Audio {
    /// Whether the loudest sample stays below -60 dBFS.
    pub fn is_silent(&self) -> bool {
        self.samples.iter().all(|s| s.abs() < 1e-3)
    }

    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }

    /// The same audio at another rate.
    pub fn resampled(self, rate: u32) -> Result<Audio, AudioError> {
        if rate == self.rate || self.samples.is_empty() {
            return Ok(Audio { rate, ..self });
        }
        let chunk = 1024;
        let mut resampler = FftFixedIn::<f32>::new(self.rate as usize, rate as usize, chunk, 2, 1)
            .map_err(|e| AudioError::Resample(e.to_string()))?;
        let delay = resampler.output_delay();
        let expected = (self.samples.len() as u64 * rate as u64 / self.rate as u64) as usize;
        let mut out = Vec::with_capacity(expected + delay + chunk);
        let mut input = self.samples.chunks(chunk).peekable();
        while let Some(block) = input.next() {
            let frames = if block.len() == chunk {
                resampler.process(&[block], None)
            } else {
                resampler.process_partial(Some(&[block]), None)
            }
            .map_err(|e| AudioError::Resample(e.to_string()))?;
            out.extend_from_slice(&frames[0]);
            if input.peek().is_none() {
                // Flush what the filter still holds.
                let tail =
                    resampler.process_partial::<&[f32]>(None, None).map_err(|e| AudioError::Resample(e.to_string()))?;
                out.extend_from_slice(&tail[0]);
            }
        }
        let end = (delay + expected).min(out.len());
        Ok(Audio { samples: out[delay.min(end)..end].to_vec(), rate })
    }
}

/// Decodes a file to mono, refusing anything longer than `max_seconds`.
pub fn decode_file(path: &Path, max_seconds: f64) -> Result<Audio, AudioError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| AudioError::Io(name.clone(), e))?;
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    decode(MediaSourceStream::new(Box::new(file), Default::default()), hint, &name, max_seconds)
}

/// Decodes bytes held in memory (e.g. a recording) to mono.
pub fn decode_bytes(bytes: Vec<u8>, max_seconds: f64) -> Result<Audio, AudioError> {
    let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    decode(source, Hint::new(), "the audio", max_seconds)
}

fn decode(source: MediaSourceStream, hint: Hint, name: &str, max_seconds: f64) -> Result<Audio, AudioError> {
    let format_err = |e: SymphoniaError| AudioError::Format(name.to_owned(), e.to_string());
    let probed = symphonia::default::get_probe()
        .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(format_err)?;
    let mut format = probed.format;
    let track =
        format.default_track().ok_or_else(|| AudioError::Format(name.to_owned(), "no audio track".into()))?.clone();
    let params = &track.codec_params;
    let rate = params.sample_rate.ok_or_else(|| AudioError::Format(name.to_owned(), "no sample rate".into()))?;
    if !RATES.contains(&rate) {
        return Err(AudioError::BadRate(name.to_owned(), rate));
    }
    let too_long = |frames: u64| AudioError::TooLong {
        path: name.to_owned(),
        seconds: frames as f64 / rate as f64,
        max: max_seconds,
    };
    let max_frames = (max_seconds * rate as f64) as u64;
    if let Some(frames) = params.n_frames.filter(|&f| f > max_frames) {
        return Err(too_long(frames));
    }
    let mut decoder = symphonia::default::get_codecs().make(params, &DecoderOptions::default()).map_err(format_err)?;
    let mut samples = Vec::new();
    let mut buffer: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(AudioError::Damaged(name.to_owned(), e.to_string())),
        };
        if packet.track_id() != track.id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged packet is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(AudioError::Damaged(name.to_owned(), e.to_string())),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let buf = match &mut buffer {
            Some(b) if b.capacity() >= decoded.capacity() * channels => b,
            _ => buffer.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        samples.extend(buf.samples().chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32));
        if samples.len() as u64 > max_frames {
            return Err(too_long(samples.len() as u64));
        }
    }
    if samples.is_empty() {
        return Err(AudioError::Empty(name.to_owned()));
    }
    Ok(Audio { samples, rate })
}

/// Mono 16-bit PCM WAV bytes.
pub fn wav_bytes(audio: &Audio) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::with_capacity(44 + audio.samples.len() * 2));
    // Writing to memory fails only on sizes past 4 GiB, which no caller here comes near.
    if let Ok(mut writer) = hound::WavWriter::new(&mut out, spec) {
        for &s in &audio.samples {
            let _ = writer.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
        }
        let _ = writer.finalize();
    }
    out.into_inner()
}

/// Writes mono 16-bit PCM WAV (to a temporary name, then renamed).
pub fn write_wav(path: &Path, audio: &Audio) -> Result<(), AudioError> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| AudioError::Io(name.clone(), e);
    let partial = path.with_extension("wav.partial");
    std::fs::write(&partial, wav_bytes(audio)).map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}
