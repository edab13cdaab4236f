//! Speech-to-text timing for `make bench`: loads a ggml Whisper model once,
//! then decodes, resamples and transcribes each audio file `runs` times.
//! Prints one JSON line per file: {"file", "audio_s", "seconds": [...], "text"}.
//!
//! Usage: stt_bench <model.bin> <threads> <runs> <text|timestamps|partial> <audio files…>

use familiar_voice::{SttOptions, Transcriber, audio, stt};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err("usage: stt_bench <model.bin> <threads> <runs> <text|timestamps|partial> <audio files…>".into());
    }
    let transcriber = Transcriber::load(std::path::Path::new(&args[1]))?;
    let timestamps = args[4] == "timestamps";
    let partial = args[4] == "partial";
    let options = SttOptions { language: Some("en".into()), threads: Some(args[2].parse()?), timestamps, partial };
    let runs: usize = args[3].parse()?;
    for file in &args[5..] {
        let mut seconds = Vec::new();
        let mut text = String::new();
        let mut audio_s = 0.0;
        for _ in 0..runs {
            let start = std::time::Instant::now();
            let decoded = audio::decode_file(std::path::Path::new(file), 3600.0)?.resampled(stt::SAMPLE_RATE)?;
            let transcript = transcriber.transcribe(&decoded.samples, &options, || false)?;
            seconds.push(start.elapsed().as_secs_f64());
            audio_s = transcript.audio_s;
            text = transcript.text;
        }
        let line = serde_json::json!({ "file": file, "audio_s": audio_s, "seconds": seconds, "text": text });
        println!("{line}");
    }
    Ok(())
}
