//! Voice round trip for `make bench`: the live voice loop with every model
//! loaded, on simulated devices in push-to-talk (the end of speech is the
//! release, so no pause detection is counted), answering the same spoken
//! question in fresh conversations. The first turn warms up. Prints one JSON
//! line per turn: the stages, the reply, and the token counts the peer's
//! back-to-back pipeline must match.
//!
//! Usage: round_trip <question.wav> <turns> <max reply tokens> [agent]

use std::sync::Arc;
use std::time::Duration;

use familiar::api::talk::{LiveOptions, TalkControl, TalkEvent, TalkMode, talk_live};
use familiar::api::{self, Studio, TurnOptions};
use familiar_voice::simulated::Simulated;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 4, "usage: round_trip <question.wav> <turns> <max reply tokens> [agent]");
    let question = familiar_voice::audio::decode_file(args[1].as_ref(), 60.0)?;
    let (turns, max_tokens): (usize, usize) = (args[2].parse()?, args[3].parse()?);
    let agent = args.get(4).map_or("orbit", String::as_str);
    let home = tempfile::tempdir()?;
    let studio = Studio::open(home.path()).await?;
    api::install_samples(&studio).await?;
    api::install_bundled_model(&studio).await?;
    api::voice::install_bundled_speech_model(&studio).await?;
    api::voice::install_bundled_voice(&studio).await?;
    for _ in 0..=turns {
        let devices = Arc::new(Simulated::new(16_000));
        let (controls, controls_rx) = tokio::sync::mpsc::unbounded_channel();
        let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        // Once everything is loaded, the button goes down with the question's first sample
        // and up with its last.
        let (listening, releaser) = (devices.clone(), controls.clone());
        tokio::spawn(async move {
            if started_rx.recv().await.is_none() {
                return;
            }
            while listening.unheard_seconds() > 0.0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = releaser.send(TalkControl::Release);
            // Open until the turn is over.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        let options = LiveOptions {
            mode: TalkMode::PushToTalk,
            turn: TurnOptions {
                seed: Some(1),
                temperature: Some(0.0),
                max_tokens: Some(max_tokens),
                ..Default::default()
            },
            max_turns: Some(1),
            ..Default::default()
        };
        let done = Arc::new(std::sync::Mutex::new(None));
        let sink = done.clone();
        let (speaker, question) = (devices.clone(), question.clone());
        let summary = talk_live(&studio, agent, devices, options, controls_rx, move |event| match event {
            TalkEvent::Ready { .. } => {
                let _ = speaker.say(&question);
                let _ = controls.send(TalkControl::Press);
                let _ = started.send(());
            }
            TalkEvent::TurnDone { message_id, reply, stages, .. } => {
                *sink.lock().expect("one writer") = Some((message_id, reply, stages));
            }
            _ => {}
        })
        .await?;
        let (message_id, reply, stages) = done.lock().expect("one writer").take().expect("a turn was answered");
        let (_, thread) = api::conversation(&studio, &summary.conversation_id).await?;
        let timings = thread.iter().find(|m| m.id == message_id).and_then(|m| m.timings.clone()).unwrap_or_default();
        let line = serde_json::json!({
            "stages": stages,
            "reply": reply,
            "prompt_tokens": timings["prompt_tokens"],
            "reused_tokens": timings["reused_tokens"],
            "generated_tokens": timings["generated_tokens"],
        });
        println!("{line}");
    }
    studio.close().await;
    Ok(())
}
