//! Live voice chat on simulated devices (a microphone that hears in real time,
//! a speaker that plays in real time): a hands-free turn is heard, answered
//! and spoken while the model writes; speaking over the agent stops it;
//! push-to-talk takes the turn between press and release; no microphone is a
//! clear error and text chat still works.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use familiar::api::talk::{LiveOptions, TalkControl, TalkEvent, TalkMode, talk_live, voice_turns};
use familiar::api::{self, Studio, TurnOptions};
use familiar_voice::Audio;
use familiar_voice::devices::Cpal;
use familiar_voice::simulated::Simulated;

use crate::voice::{home_with_speech_model, speak, wer};

const RATE: u32 = 16_000;

async fn studio_with_voice() -> (tempfile::TempDir, Studio) {
    let home = home_with_speech_model();
    let studio = Studio::open(home.path()).await.unwrap();
    api::install_samples(&studio).await.unwrap();
    api::install_bundled_model(&studio).await.unwrap().expect("run scripts/fetch-models.sh");
    api::voice::install_bundled_voice(&studio).await.unwrap().expect("run scripts/fetch-models.sh");
    (home, studio)
}

/// espeak-ng saying `text`, at the devices' rate.
fn said(dir: &std::path::Path, name: &str, text: &str) -> Audio {
    familiar_voice::audio::decode_file(&speak(dir, name, text), 60.0).unwrap().resampled(RATE).unwrap()
}

fn silence(seconds: f32) -> Audio {
    Audio { samples: vec![0.0; (seconds * RATE as f32) as usize], rate: RATE }
}

fn options(max_turns: usize) -> LiveOptions {
    LiveOptions {
        turn: TurnOptions { seed: Some(5), max_tokens: Some(60), ..Default::default() },
        max_turns: Some(max_turns),
        partial_every: Duration::from_millis(500),
        ..Default::default()
    }
}

/// Runs a live conversation, collecting its events (with when they happened).
async fn talk(
    studio: &Studio,
    devices: Arc<Simulated>,
    options: LiveOptions,
    controls: tokio::sync::mpsc::UnboundedReceiver<TalkControl>,
    mut on_event: impl FnMut(&TalkEvent) + Send,
) -> (api::talk::LiveSummary, Vec<(Instant, TalkEvent)>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let summary = tokio::time::timeout(
        Duration::from_secs(240),
        talk_live(studio, "orbit", devices, options, controls, move |e| {
            on_event(&e);
            if !matches!(e, TalkEvent::Level { .. }) {
                sink.lock().unwrap().push((Instant::now(), e));
            }
        }),
    )
    .await
    .expect("the conversation ends")
    .unwrap();
    let events = events.lock().unwrap().clone();
    (summary, events)
}

fn kinds(events: &[(Instant, TalkEvent)]) -> Vec<&'static str> {
    events
        .iter()
        .map(|(_, e)| match e {
            TalkEvent::Ready { .. } => "ready",
            TalkEvent::Level { .. } => "level",
            TalkEvent::SpeechStarted => "speech_started",
            TalkEvent::Partial { .. } => "partial",
            TalkEvent::Heard { .. } => "heard",
            TalkEvent::Reply { .. } => "reply",
            TalkEvent::Speaking => "speaking",
            TalkEvent::BargeIn => "barge_in",
            TalkEvent::TurnDone { .. } => "turn_done",
            TalkEvent::NotHeard => "not_heard",
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hands_free_turn_is_heard_answered_and_spoken_while_the_model_writes() {
    let (home, studio) = studio_with_voice().await;
    let devices = Arc::new(Simulated::new(RATE));
    // Long enough for partial transcripts to come back while it is being said.
    let question = "How do I export my notes from the app, and can I choose the format of the file that I get?";
    devices.say(&silence(0.6)).unwrap();
    devices.say(&said(home.path(), "q.wav", question)).unwrap();
    let (_controls, rx) = tokio::sync::mpsc::unbounded_channel();
    // A reply long enough that the model is still writing when the voice starts, even on a busy machine
    // (at 60 tokens, CI once saw the model finish first: the first clause alone was 20 tokens).
    let mut long_reply = options(1);
    long_reply.turn.max_tokens = Some(160);
    let (summary, events) = talk(&studio, devices.clone(), long_reply, rx, |_| {}).await;

    let order: Vec<&str> = kinds(&events).into_iter().filter(|k| *k != "partial" && *k != "reply").collect();
    assert_eq!(order, ["ready", "speech_started", "heard", "speaking", "turn_done"], "{events:?}");
    let partials = kinds(&events).iter().filter(|k| **k == "partial").count();
    assert!(partials >= 1, "partial transcripts while speaking: {events:?}");
    let heard = events.iter().find_map(|(_, e)| match e {
        TalkEvent::Heard { text } => Some(text.clone()),
        _ => None,
    });
    assert!(wer(question, &heard.unwrap()) <= 0.3);
    let (reply, stages, message_id) = events
        .iter()
        .find_map(|(_, e)| match e {
            TalkEvent::TurnDone { reply, stages, message_id, interrupted: false } => {
                Some((reply.clone(), stages.clone(), message_id.clone()))
            }
            _ => None,
        })
        .expect("a finished turn");
    // The first audio came before the reply was fully written: spoken while the model writes.
    let speaking_at = events.iter().find(|(_, e)| matches!(e, TalkEvent::Speaking)).unwrap().0;
    let last_delta = events.iter().rev().find(|(_, e)| matches!(e, TalkEvent::Reply { .. })).unwrap().0;
    assert!(speaking_at < last_delta, "speech started before the reply was complete");
    assert!(stages.first_audio_ms > 0 && stages.first_audio_ms < stages.total_ms, "{stages:?}");
    assert!(stages.stt_ms > 0 && stages.speech_s > 1.0, "{stages:?}");

    // What the speaker played says the reply.
    let played = devices.played();
    let spoken = Audio { samples: played.samples, rate: RATE };
    let wav = home.path().join("played.wav");
    familiar_voice::audio::write_wav(&wav, &spoken).unwrap();
    let transcript = api::voice::transcribe_file(&studio, &wav, Default::default()).await.unwrap();
    // By letters: compounds and names heard split ("note-taking", "note taking") are no error.
    let off = familiar::voice::char_error_rate(&reply, &transcript.text);
    assert!(off <= 0.35, "{off}: reply {reply:?} heard {:?}", transcript.text);

    // The turn is stored like a typed one, with its stages beside it.
    assert_eq!(summary.turns, 1);
    let (_, thread) = api::conversation(&studio, &summary.conversation_id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, message_id);
    let turns = voice_turns(&studio, &summary.conversation_id).await.unwrap();
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].message_id, message_id);
    assert_eq!(turns[0].stages["first_audio_ms"].as_u64(), Some(stages.first_audio_ms));
    assert!(!turns[0].interrupted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaking_over_the_agent_stops_its_voice_and_cancels_the_reply() {
    let (home, studio) = studio_with_voice().await;
    let devices = Arc::new(Simulated::new(RATE));
    devices.say(&silence(0.5)).unwrap();
    devices.say(&said(home.path(), "q1.wav", "Please tell me a long story about the sea.")).unwrap();
    let interruption = said(home.path(), "q2.wav", "Stop. What time is it?");
    let mut options = options(2);
    options.turn.max_tokens = Some(160);
    let (_controls, rx) = tokio::sync::mpsc::unbounded_channel();
    // When the agent starts speaking, the user speaks over it.
    let interrupter = devices.clone();
    let mut interrupted = false;
    let (summary, events) = talk(&studio, devices.clone(), options, rx, move |e| {
        if matches!(e, TalkEvent::Speaking) && !interrupted {
            interrupted = true;
            interrupter.say(&silence(0.4)).unwrap();
            interrupter.say(&interruption).unwrap();
        }
    })
    .await;

    let order = kinds(&events);
    let barge = order.iter().position(|k| *k == "barge_in").unwrap_or_else(|| panic!("{order:?}"));
    assert!(order[..barge].contains(&"speaking"), "{order:?}");
    let barge_at = events[barge].0;
    // The voice stopped at once: nothing of the first reply played after the barge-in (one 20 ms block of slack).
    let played = devices.played();
    let turn_dones: Vec<(bool, &str)> = events
        .iter()
        .filter_map(|(_, e)| match e {
            TalkEvent::TurnDone { interrupted, reply, .. } => Some((*interrupted, reply.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(turn_dones.len(), 2, "{order:?}");
    assert!(turn_dones[0].0 && !turn_dones[1].0, "the first turn was interrupted, the second was not");
    // The second reply was spoken after the barge-in, and the first stopped before it.
    let second_speaking = events.iter().skip(barge).find(|(_, e)| matches!(e, TalkEvent::Speaking)).unwrap().0;
    assert!(second_speaking > barge_at);
    assert!(played.first_at.unwrap() < barge_at);
    // The cancelled reply was cut short: it holds fewer tokens than it was allowed.
    let (_, thread) = api::conversation(&studio, &summary.conversation_id).await.unwrap();
    let first_reply = thread.iter().find(|m| m.role == "assistant" && m.content == turn_dones[0].1).unwrap();
    let timings = first_reply.timings.as_ref().unwrap();
    assert_eq!(timings["stop"], "cancelled", "{timings}");
    let turns = voice_turns(&studio, &summary.conversation_id).await.unwrap();
    assert_eq!(turns.iter().map(|t| t.interrupted).collect::<Vec<_>>(), [true, false]);
    assert_eq!((summary.turns, summary.interrupted), (2, 1));
    // Heard second: the interruption, not the story.
    let heard: Vec<String> = events
        .iter()
        .filter_map(|(_, e)| match e {
            TalkEvent::Heard { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(wer("Stop. What time is it?", &heard[1]) <= 0.4, "{heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_talk_takes_the_turn_between_press_and_release() {
    let (home, studio) = studio_with_voice().await;
    let devices = Arc::new(Simulated::new(RATE));
    let question = "What can you help me with?";
    let speech = said(home.path(), "q.wav", question);
    let speech_s = speech.seconds();
    // Silence first: nothing is heard until the button is pressed, whatever the level.
    devices.say(&silence(1.0)).unwrap();
    devices.say(&speech).unwrap();
    let (controls, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(900)).await;
        controls.send(TalkControl::Press).unwrap();
        tokio::time::sleep(Duration::from_secs_f64(speech_s + 0.5)).await;
        controls.send(TalkControl::Release).unwrap();
        // Kept open until the conversation ends on its own (one turn).
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
    let mut options = options(1);
    options.mode = TalkMode::PushToTalk;
    let (summary, events) = talk(&studio, devices, options, rx, |_| {}).await;
    let heard = events.iter().find_map(|(_, e)| match e {
        TalkEvent::Heard { text } => Some(text.clone()),
        _ => None,
    });
    assert!(wer(question, &heard.unwrap()) <= 0.3, "{events:?}");
    assert_eq!(summary.turns, 1);
}

#[tokio::test]
async fn without_a_microphone_the_error_says_so_and_text_chat_still_works() {
    let (_home, studio) = studio_with_voice().await;
    let (_controls, rx) = tokio::sync::mpsc::unbounded_channel();
    let options = LiveOptions { microphone: Some("no such microphone".into()), ..Default::default() };
    let err = talk_live(&studio, "orbit", Arc::new(Cpal::default()), options, rx, |_| {}).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::NoDevice, "{err}");
    assert!(err.to_string().contains("familiar voice devices"), "{err}");
    let conversation = api::start_conversation(&studio, "orbit", None, 0).await.unwrap();
    let reply = api::send_message(
        &studio,
        &conversation.id,
        "Hello!",
        &TurnOptions { seed: Some(1), max_tokens: Some(8), ..Default::default() },
        Box::new(|_| {}),
        Default::default(),
    )
    .await
    .unwrap();
    assert!(!reply.message.content.is_empty());
}
