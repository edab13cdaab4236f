//! `familiar voice` and `familiar talk`: speech to text, the voices, sound
//! devices, voice profiles with consent, and spoken conversations (from
//! files, or live on a microphone and a speaker) over [`crate::api::voice`]
//! and [`crate::api::talk`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use familiar_voice::Prosody;
use familiar_voice::devices::{Cpal, SoundDevices};
use familiar_voice::simulated::Simulated;

use super::print_json;
use crate::api::talk::{LiveOptions, TalkControl, TalkEvent, TalkMode};
use crate::api::voice::Span;
use crate::api::{self, Studio};

#[derive(Subcommand)]
pub enum VoiceCommand {
    /// Print the transcript of an audio file (WAV, MP3, FLAC, Ogg Vorbis)
    Transcribe {
        file: PathBuf,
        /// The spoken language (e.g. en); default: the model's
        #[arg(long)]
        language: Option<String>,
        /// Segments with their start and end times (slower: without, each piece of up to 30 s is one segment)
        #[arg(long)]
        timestamps: bool,
    },
    /// List microphones and speakers
    Devices,
    /// Record from a microphone into a WAV file, with a level meter
    Record {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// A device id from `familiar voice devices` (default: the system's)
        #[arg(long)]
        device: Option<String>,
    },
    /// Speak text with the default voice into a WAV file, and play it with --play
    Say {
        text: String,
        #[arg(long)]
        out: PathBuf,
        /// A voice preset from `familiar voice presets` (default: joe)
        #[arg(long)]
        preset: Option<String>,
        /// Speaking rate (default: the preset's)
        #[arg(long)]
        rate: Option<f32>,
        /// Pitch shift in semitones (default: the preset's)
        #[arg(long, allow_hyphen_values = true)]
        pitch: Option<f32>,
        /// Also play it on the speaker
        #[arg(long)]
        play: bool,
        /// A speaker id from `familiar voice devices` (default: the system's)
        #[arg(long)]
        device: Option<String>,
    },
    /// List the bundled voice presets (`voices/`)
    Presets,
    /// Choose how an agent speaks without a profile: a preset, its rate and pitch (a new version)
    Use {
        agent: String,
        /// A preset from `familiar voice presets`
        #[arg(long)]
        preset: Option<String>,
        /// Speaking rate (0.5–2.0)
        #[arg(long)]
        rate: Option<f32>,
        /// Pitch shift in semitones (-12–12)
        #[arg(long, allow_hyphen_values = true)]
        pitch: Option<f32>,
    },
    /// Import up to 60 s of your voice for an agent's voice profile: it is checked
    /// (length, speech, level, clipping, noise, one speaker), then shows the consent sentence to read
    Import {
        agent: String,
        /// The recording (WAV, MP3, FLAC, Ogg Vorbis)
        file: PathBuf,
        /// Use the recording from this second
        #[arg(long)]
        from: Option<f64>,
        /// Use the recording up to this second
        #[arg(long)]
        to: Option<f64>,
    },
    /// Show an agent's voice profile; with --consent (a file) or --record-consent, create it
    /// from your read-out of the consent sentence; with --remove, remove it
    Profile {
        agent: String,
        /// Your read-out of the consent sentence (an audio file)
        #[arg(long, conflicts_with_all = ["record_consent", "remove"])]
        consent: Option<PathBuf>,
        /// Record the read-out from the microphone now
        #[arg(long, conflicts_with = "remove")]
        record_consent: bool,
        /// Seconds to record the read-out
        #[arg(long, default_value_t = 12.0)]
        seconds: f64,
        /// A microphone id from `familiar voice devices` (default: the system's)
        #[arg(long)]
        device: Option<String>,
        /// Remove the profile (a new version of the agent: `agent restore` brings it back)
        #[arg(long)]
        remove: bool,
    },
}

#[derive(clap::Args)]
pub struct TalkArgs {
    agent: String,
    /// A spoken question from a file (WAV, MP3, FLAC, Ogg Vorbis); needs --out
    #[arg(long = "in", requires = "out", conflicts_with = "simulate")]
    input: Option<PathBuf>,
    /// Where to write the spoken answer (WAV)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Sampling seed (the same seed gives the same reply)
    #[arg(long)]
    seed: Option<u64>,
    /// The longest reply, in tokens
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Speaking rate (default: the agent's)
    #[arg(long)]
    rate: Option<f32>,
    /// Pitch shift in semitones (default: the agent's)
    #[arg(long, allow_hyphen_values = true)]
    pitch: Option<f32>,
    /// Live: press Enter to start talking and Enter again to stop, instead of hands-free turns
    #[arg(long)]
    push_to_talk: bool,
    /// Live: a microphone id from `familiar voice devices`
    #[arg(long)]
    microphone: Option<String>,
    /// Live: a speaker id from `familiar voice devices`
    #[arg(long)]
    speaker: Option<String>,
    /// Live: do not stop the agent when you speak over it
    #[arg(long)]
    no_barge_in: bool,
    /// Live: stop after this many turns
    #[arg(long)]
    turns: Option<usize>,
    /// Live, without a sound card: a simulated microphone hears this file in real
    /// time, a simulated speaker plays the answer (into --out); one turn
    #[arg(long)]
    simulate: Option<PathBuf>,
}

/// Runs a `familiar voice` command.
pub async fn voice_command(j: bool, threads: Option<usize>, command: VoiceCommand) -> api::Result<()> {
    match command {
        VoiceCommand::Transcribe { file, language, timestamps } => {
            let studio = Studio::open_default().await?;
            let options = familiar_voice::SttOptions { language, threads, timestamps, partial: false };
            let transcript = api::voice::transcribe_file(&studio, &file, options).await?;
            if j {
                print_json(&transcript);
            } else if timestamps {
                for s in &transcript.segments {
                    println!("[{:>7.2} → {:>7.2}] {}", s.start_s, s.end_s, s.text);
                }
            } else {
                println!("{}", transcript.text);
            }
            studio.close().await;
        }
        VoiceCommand::Devices => {
            let devices = api::voice::sound_devices()?;
            if j {
                print_json(&devices);
            } else if devices.is_empty() {
                println!("No sound devices: voice needs a microphone and a speaker; text chat works without them.");
            } else {
                for d in &devices {
                    let roles = [
                        (d.input, "input"),
                        (d.output, "output"),
                        (d.default_input, "default input"),
                        (d.default_output, "default output"),
                    ]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, r)| *r)
                    .collect::<Vec<_>>()
                    .join(", ");
                    println!("{:<24} {} ({roles})", d.id, d.name);
                }
            }
        }
        VoiceCommand::Record { out, seconds, device } => {
            let report = record_with_meter(j, device, seconds, &out).await?;
            if j {
                print_json(&report);
            } else {
                println!("Recorded {} ({:.1} s at {} Hz)", report.out.display(), report.seconds, report.sample_rate);
            }
        }
        VoiceCommand::Say { text, out, preset, rate, pitch, play, device } => {
            let studio = Studio::open_default().await?;
            let id = preset.as_deref().unwrap_or(crate::voice::DEFAULT_PRESET);
            let preset = crate::voice::preset(id).ok_or_else(|| {
                api::Error::Invalid(format!("no voice preset `{id}`; `familiar voice presets` lists them"))
            })?;
            let prosody = Prosody { rate: rate.unwrap_or(preset.rate), pitch: pitch.unwrap_or(preset.pitch) };
            let report = api::voice::say(&studio, &text, prosody, &out).await?;
            if play {
                api::voice::play_file(&report.out, device).await?;
            }
            if j {
                print_json(&report);
            } else {
                println!("Wrote {} ({:.1} s)", report.out.display(), report.seconds);
            }
            studio.close().await;
        }
        VoiceCommand::Presets => {
            let presets = crate::voice::presets();
            if j {
                print_json(&presets);
            } else {
                for p in &presets {
                    println!(
                        "{:<12} {:<14} rate {:.2}, pitch {:+.0}  {}",
                        p.id, p.name, p.rate, p.pitch, p.description
                    );
                }
            }
        }
        VoiceCommand::Use { agent, preset, rate, pitch } => {
            let studio = Studio::open_default().await?;
            let version = api::voice::set_agent_voice(&studio, &agent, preset.as_deref(), rate, pitch).await?;
            let (_, updated) = api::agent(&studio, &agent).await?;
            let (chosen, prosody) = (api::voice::preset_for(updated.spec()), api::voice::prosody_for(updated.spec()));
            if j {
                print_json(
                    &serde_json::json!({ "version": version, "preset": chosen.id, "rate": prosody.rate, "pitch": prosody.pitch }),
                );
            } else {
                println!(
                    "{} speaks as {} (rate {:.2}, pitch {:+.1}) when it has no voice profile (version {version}).",
                    updated.name(),
                    chosen.id,
                    prosody.rate,
                    prosody.pitch
                );
            }
            studio.close().await;
        }
        VoiceCommand::Import { agent, file, from, to } => {
            let studio = Studio::open_default().await?;
            let draft = api::voice::import_voice_reference(&studio, &agent, &file, Span { from, to }).await?;
            if j {
                print_json(&draft);
            } else {
                let r = &draft.report;
                println!(
                    "The recording passed its checks: {:.1} s, {:.1} s of speech, level {:.0} dBFS, {:.0} dB above the background, one speaker (agreement {:.2}).",
                    r.seconds,
                    r.speech_seconds,
                    r.level_db,
                    r.level_db - r.noise_db,
                    r.agreement
                );
                println!("To consent, read this sentence aloud in the same voice:\n\n    {}\n", draft.sentence);
                println!(
                    "then run `familiar voice profile {} --record-consent` (or --consent <recording>).",
                    draft.agent.name
                );
            }
            studio.close().await;
        }
        VoiceCommand::Profile { agent, consent, record_consent, seconds, device, remove } => {
            let studio = Studio::open_default().await?;
            if remove {
                let version = api::voice::remove_voice_profile(&studio, &agent).await?;
                if j {
                    print_json(&serde_json::json!({ "removed": true, "version": version }));
                } else {
                    println!("Removed the voice profile (version {version}; `familiar agent restore` brings it back).");
                }
            } else if consent.is_some() || record_consent {
                let recorded = tempfile::Builder::new()
                    .suffix(".wav")
                    .tempfile()
                    .map_err(|e| api::Error::Invalid(format!("could not make a temporary file: {e}")))?;
                let file = match consent {
                    Some(file) => file,
                    None => {
                        let info = api::voice::voice_profile(&studio, &agent).await?;
                        let Some(sentence) = info.draft.as_ref().and_then(|d| d["sentence"].as_str()) else {
                            return Err(api::Error::Invalid(format!(
                                "{} has no reference recording waiting for consent: run `familiar voice import {} <audio file>` first",
                                info.agent.name, info.agent.name
                            )));
                        };
                        eprintln!("Read this aloud now ({seconds:.0} s):\n\n    {sentence}\n");
                        record_with_meter(j, device, seconds, recorded.path()).await?;
                        recorded.path().to_path_buf()
                    }
                };
                let report = api::voice::create_voice_profile(&studio, &agent, &file).await?;
                if j {
                    print_json(&report);
                } else {
                    let c = &report.consent;
                    println!(
                        "Consent accepted (heard {:?}; word error {:.0} %, voice similarity {:.2}). {} has a voice profile (version {}).",
                        c.transcript,
                        c.word_error_rate * 100.0,
                        c.similarity,
                        report.agent.name,
                        report.version
                    );
                    let info = api::voice::voice_profile(&studio, &agent).await?;
                    if let Some(note) = &info.speaks_with.note {
                        println!("Note: {note}");
                    }
                }
            } else {
                let info = api::voice::voice_profile(&studio, &agent).await?;
                if j {
                    print_json(&info);
                } else {
                    print_profile(&info);
                }
            }
            studio.close().await;
        }
    }
    Ok(())
}

fn print_profile(info: &api::voice::VoiceProfileInfo) {
    match &info.profile {
        Some(p) => println!(
            "{} has a voice profile: {:.1} s of reference, consent read on {} ({:?}, voice similarity {:.2}).",
            info.agent.name,
            p.seconds,
            crate::time::format_utc(p.consent.at),
            p.consent.transcript,
            p.consent.similarity
        ),
        None => println!("{} has no voice profile.", info.agent.name),
    }
    if let Some(d) = &info.draft {
        println!("Waiting for consent; the sentence to read is:\n    {}", d["sentence"].as_str().unwrap_or_default());
    }
    match &info.speaks_with.note {
        Some(note) => println!("Speaks with the default voice: {note}"),
        None => println!("Speaks with the {} voice.", info.speaks_with.engine),
    }
}

async fn record_with_meter(
    j: bool,
    device: Option<String>,
    seconds: f64,
    out: &std::path::Path,
) -> api::Result<api::voice::WavReport> {
    let meter = std::io::stderr().is_terminal() && !j;
    let report = api::voice::record(
        device,
        seconds,
        out,
        move |db| {
            if meter {
                let bars = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * 30.0) as usize;
                eprint!("\r{:<30} {:>6.1} dBFS", "#".repeat(bars), db);
            }
        },
        Default::default(),
    )
    .await?;
    if meter {
        eprintln!();
    }
    Ok(report)
}

/// Runs `familiar talk`: from files (`--in`/`--out`), or live.
pub async fn talk_command(studio: &Studio, j: bool, args: TalkArgs) -> api::Result<()> {
    let turn = api::TurnOptions { seed: args.seed, max_tokens: args.max_tokens, ..Default::default() };
    let (_, agent) = api::agent(studio, &args.agent).await?;
    let agent_prosody = api::voice::prosody_for(agent.spec());
    let prosody = (args.rate.is_some() || args.pitch.is_some()).then(|| Prosody {
        rate: args.rate.unwrap_or(agent_prosody.rate),
        pitch: args.pitch.unwrap_or(agent_prosody.pitch),
    });
    if let (Some(input), Some(out)) = (&args.input, &args.out) {
        let report = api::voice::talk_file(studio, &args.agent, input, out, &turn, prosody).await?;
        if j {
            print_json(&report);
        } else {
            println!("You:   {}", report.transcript);
            println!("Agent: {}", report.reply);
            println!("Wrote {} ({:.1} s of speech)", report.out.display(), report.answer_seconds);
            let t = &report.stages;
            println!(
                "Stages: speech to text {} ms, first token {} ms, first audio {} ms after the question, total {} ms",
                t.stt_ms, t.first_token_ms, t.first_audio_ms, t.total_ms
            );
            if let Some(note) = &report.voice.note {
                println!("Note: {note}");
            }
        }
        return Ok(());
    }

    // Live.
    let simulated = match &args.simulate {
        Some(file) => {
            let question = familiar_voice::audio::decode_file(file, 120.0)?;
            let devices = Arc::new(Simulated::new(16_000));
            devices.say(&familiar_voice::Audio { samples: vec![0.0; 8_000], rate: 16_000 })?;
            devices.say(&question)?;
            Some(devices)
        }
        None => None,
    };
    let devices: Arc<dyn SoundDevices> = match &simulated {
        Some(d) => d.clone(),
        None => Arc::new(Cpal::default()),
    };
    let options = LiveOptions {
        mode: if args.push_to_talk { TalkMode::PushToTalk } else { TalkMode::HandsFree },
        microphone: args.microphone.clone(),
        speaker: args.speaker.clone(),
        turn,
        prosody,
        barge_in: !args.no_barge_in,
        max_turns: args.turns.or(simulated.as_ref().map(|_| 1)),
        conversation: None,
        ..Default::default()
    };
    let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
    let on_ctrl_c = controls.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = on_ctrl_c.send(TalkControl::Stop);
        }
    });
    if args.push_to_talk {
        if !j {
            eprintln!("Press Enter to talk, Enter again when you are done; Ctrl-C ends the conversation.");
        }
        let presses = controls.clone();
        std::thread::spawn(move || {
            let mut down = false;
            for _ in std::io::stdin().lines() {
                down = !down;
                let control = if down { TalkControl::Press } else { TalkControl::Release };
                if presses.send(control).is_err() {
                    break;
                }
            }
        });
    } else if !j && simulated.is_none() {
        eprintln!("Listening: just talk; a pause ends your turn, and you can speak over the agent. Ctrl-C ends.");
    }
    let tty = std::io::stderr().is_terminal();
    let summary = api::talk::talk_live(studio, &args.agent, devices, options, controls_rx, move |event| {
        if j {
            if !matches!(event, TalkEvent::Level { .. }) {
                println!("{}", serde_json::to_string(&event).unwrap_or_default());
            }
            return;
        }
        print_event(&event, tty);
    })
    .await?;
    if let (Some(devices), Some(out)) = (&simulated, &args.out) {
        let played = familiar_voice::Audio { samples: devices.played().samples, rate: 16_000 };
        familiar_voice::audio::write_wav(out, &played)?;
        if !j {
            println!("Wrote what the speaker played to {} ({:.1} s)", out.display(), played.seconds());
        }
    }
    if j {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "event": "summary", "summary": summary })).unwrap_or_default()
        );
    }
    Ok(())
}

fn print_event(event: &TalkEvent, tty: bool) {
    match event {
        TalkEvent::Ready { voice, .. } => {
            if let Some(note) = &voice.note {
                eprintln!("Note: {note}");
            }
        }
        TalkEvent::Level { .. } | TalkEvent::SpeechStarted | TalkEvent::Speaking => {}
        TalkEvent::Partial { text } => {
            if tty {
                eprint!("\r\x1b[K… {text}");
            }
        }
        TalkEvent::Heard { text } => {
            if tty {
                eprint!("\r\x1b[K");
            }
            println!("You:   {text}");
            print!("Agent: ");
            let _ = std::io::stdout().flush();
        }
        TalkEvent::Reply { delta } => {
            print!("{delta}");
            let _ = std::io::stdout().flush();
        }
        TalkEvent::BargeIn => println!(" [interrupted]"),
        TalkEvent::NotHeard => eprintln!("(nothing recognised; still listening)"),
        TalkEvent::TurnDone { stages, interrupted, .. } => {
            if !interrupted {
                println!();
            }
            eprintln!(
                "  [speech to text {} ms · first token {} ms · first audio {} ms after you stopped · turn {} ms]",
                stages.stt_ms, stages.first_token_ms, stages.first_audio_ms, stages.total_ms
            );
        }
    }
}
