//! The real cpal capture path hears real speech: ALSA's `file` plugin turns a
//! raw PCM file into a microphone (these machines have no sound card), set up
//! in the `~/.asoundrc` of a temporary HOME. The recording runs in a child
//! process with that HOME, since ALSA reads its configuration once per process.

use std::process::Command;
use std::time::Duration;

use familiar_voice::audio;
use familiar_voice::devices::{Cpal, SoundDevices};

#[test]
fn a_virtual_microphone_delivers_speech_through_cpal() {
    let home = tempfile::tempdir().unwrap();
    let wav = home.path().join("speech.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&wav)
        .arg("Testing the microphone, one two three.")
        .status()
        .expect("espeak-ng (Debian package espeak-ng)");
    assert!(status.success());
    let speech = audio::decode_file(&wav, 60.0).unwrap().resampled(16_000).unwrap();
    let raw: Vec<u8> = speech.samples.iter().flat_map(|s| ((s * 32767.0).round() as i16).to_le_bytes()).collect();
    let raw_path = home.path().join("speech.raw");
    std::fs::write(&raw_path, &raw).unwrap();
    // A `plug` over the file plugin, so the file is read as 16 kHz mono S16_LE
    // whatever format cpal asks for.
    let asoundrc = format!(
        "pcm.virtualmic {{\n  type plug\n  slave {{ pcm \"virtualmicraw\"; format S16_LE; rate 16000; channels 1 }}\n  hint.description \"Virtual microphone\"\n}}\n\
         pcm.virtualmicraw {{\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n  infile \"{}\"\n  format \"raw\"\n}}\n",
        raw_path.display()
    );
    std::fs::write(home.path().join(".asoundrc"), asoundrc).unwrap();
    run_in_child(home.path());
}

/// Records from the virtual microphone in a child process whose HOME is `home`
/// (environment changes in a running test process are not safe).
fn run_in_child(home: &std::path::Path) {
    if std::env::var_os("FAMILIAR_VIRTUAL_MIC_CHILD").is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args(["--exact", "child_records_from_the_virtual_microphone", "--nocapture"])
        .env("HOME", home)
        .env("FAMILIAR_VIRTUAL_MIC_CHILD", "1")
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{log}");
    assert!(log.contains("1 passed"), "{log}");
}

#[test]
fn child_records_from_the_virtual_microphone() {
    if std::env::var_os("FAMILIAR_VIRTUAL_MIC_CHILD").is_none() {
        // Run only as the child of the test above.
        return;
    }
    let cpal = Cpal::default();
    let devices = cpal.devices().unwrap();
    assert!(devices.iter().any(|d| d.id == "virtualmic" && d.input), "{devices:?}");
    let mut microphone = cpal.microphone(Some("virtualmic")).unwrap();
    // Opened at the rate speech recognition wants, since the device offers it.
    assert_eq!(microphone.rate(), 16_000);
    // ALSA's `null` has no clock: the file arrives far faster than real time, the callback
    // never waits for this reader, and what does not fit the queue is dropped and counted.
    // The start of the stream is whole, sample for sample.
    let wanted = 3_200;
    let mut heard = Vec::new();
    while heard.len() < wanted {
        let block = microphone.next_block(Duration::from_secs(5)).unwrap().expect("the microphone sends audio");
        heard.extend(block);
    }
    let home = std::env::var("HOME").unwrap();
    let original = std::fs::read(std::path::Path::new(&home).join("speech.raw")).unwrap();
    for (i, (bytes, &got)) in original.chunks(2).zip(&heard).take(wanted).enumerate() {
        let expected = i16::from_le_bytes([bytes[0], bytes[1]]) as f32 / 32768.0;
        assert!((expected - got).abs() < 1e-4, "sample {i}: {got} instead of {expected}");
    }
    assert!(heard[..wanted].iter().any(|s| s.abs() > 0.05), "the speech itself, not silence");
    std::thread::sleep(Duration::from_millis(200));
    let _ = microphone.next_block(Duration::from_millis(10));
    eprintln!("dropped blocks: {}", microphone.dropped_blocks());
}
