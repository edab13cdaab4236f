//! Text-to-speech timing for `make bench`: loads the Piper voice once, then
//! speaks each text `runs` times. Prints one JSON line per text:
//! {"text", "audio_s": [...], "first_audio_s": [...], "total_s": [...]}, a value per run
//! (Piper draws each phoneme's length at random, so each run's audio has its own length).
//!
//! Usage: tts_bench <voice.onnx> <libonnxruntime.so> <threads> <runs> <texts…>

use familiar_voice::{Piper, Prosody, Voice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        return Err("usage: tts_bench <voice.onnx> <libonnxruntime.so> <threads> <runs> <texts…>".into());
    }
    let mut voice = Piper::load(args[1].as_ref(), args[2].as_ref(), args[3].parse()?)?;
    let runs: usize = args[4].parse()?;
    for text in &args[5..] {
        let (mut first, mut total, mut audio) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let start = std::time::Instant::now();
            let mut first_at = None;
            let mut samples = 0;
            voice.speak(text, Prosody::default(), &mut |chunk| {
                first_at.get_or_insert_with(|| start.elapsed().as_secs_f64());
                samples += chunk.len();
                true
            })?;
            total.push(start.elapsed().as_secs_f64());
            first.push(first_at.unwrap_or_default());
            audio.push(samples as f64 / voice.sample_rate() as f64);
        }
        let line = serde_json::json!({ "text": text, "audio_s": audio, "first_audio_s": first, "total_s": total });
        println!("{line}");
    }
    Ok(())
}
