//! Voice profiles through the command line: a minute of the creator's voice is
//! checked and fingerprinted, the creator reads the consent sentence shown,
//! and only a read-out that says the sentence in the same voice creates the
//! profile, which then travels in the agent's package. Recordings that fail a
//! check say what to fix and leave nothing behind.

use std::path::{Path, PathBuf};

use familiar_voice::Audio;
use familiar_voice::audio::{decode_file, write_wav};

use crate::support;
use crate::voice::{home_with_speech_model, speak};

/// A minute of reading, in the bundled Piper voice ("the creator").
const READING: &str = "The harbor was quiet in the early morning, and the fishing boats rocked gently \
    on the grey water. An old man walked along the pier with a basket of bread, greeting each \
    sailor by name. Behind him, the town was waking up: shutters opened, a baker swept the steps \
    of his shop, and children ran down the hill towards the school. Every day began like this, \
    slowly and kindly, as if the whole town were taking a deep breath before the work ahead. \
    By noon the market square would be full of voices, the smell of coffee and fresh fish, and \
    the bright colors of fruit piled high on wooden tables. In the evening, when the lights came \
    on one by one, people would sit outside their houses and talk about the weather, the sea, \
    and the small news of the day. Visitors often said that time moved differently here, and \
    perhaps they were right. Those who stayed for a summer learned the names of the boats, the hours \
    of the tides, and the best bench to watch the sun go down behind the lighthouse. Some of them \
    came back every year, bringing their children, and later their grandchildren, to the same \
    small harbor where nothing important ever seemed to happen.";

fn piper(home: &Path, name: &str, text: &str) -> PathBuf {
    let out = home.join(name);
    support::ok(home, &["voice", "say", text, "--out", out.to_str().unwrap()]);
    out
}

fn audio(path: &Path) -> Audio {
    decode_file(path, 600.0).unwrap()
}

fn write(home: &Path, name: &str, audio: &Audio) -> PathBuf {
    let path = home.join(name);
    write_wav(&path, audio).unwrap();
    path
}

fn no_draft(home: &Path) {
    let info = support::json(home, &["voice", "profile", "orbit", "--json"]);
    assert!(info["draft"].is_null() && info["profile"].is_null(), "{info}");
}

#[test]
fn a_voice_profile_is_created_from_a_minute_of_speech_and_a_consent_read_out() {
    let home = home_with_speech_model();
    let dir = home.path();
    support::ok(dir, &["setup"]);
    let reference = piper(dir, "reference.wav", READING);
    let seconds = audio(&reference).seconds();
    assert!(seconds > 50.0, "the reading lasts {seconds} s");

    let draft = support::json(dir, &["voice", "import", "orbit", reference.to_str().unwrap(), "--to", "60", "--json"]);
    let checks = draft["report"]["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["length", "speech", "level", "clipping", "noise", "one_speaker"], "{draft}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{draft}");
    let sentence = draft["sentence"].as_str().unwrap().to_owned();
    assert!(sentence.contains("Orbit may speak"), "{sentence}");

    // Another voice reading the sentence is refused, and so is the right voice saying something else.
    let other_voice = speak(dir, "other-voice.wav", &sentence);
    let refused = support::fails(dir, &["voice", "profile", "orbit", "--consent", other_voice.to_str().unwrap()]);
    assert!(refused.contains("does not match the reference"), "{refused}");
    let other_words = piper(dir, "other-words.wav", "I would rather not say that sentence today, thank you.");
    let refused = support::fails(dir, &["voice", "profile", "orbit", "--consent", other_words.to_str().unwrap()]);
    assert!(refused.contains("does not match the sentence"), "{refused}");
    let json =
        support::familiar(dir, &["voice", "profile", "orbit", "--consent", other_words.to_str().unwrap(), "--json"]);
    let error: serde_json::Value = serde_json::from_slice(&json.stderr).unwrap();
    assert_eq!(error["error"]["code"], "consent_refused", "{error}");
    assert_eq!(error["error"]["details"]["accepted"], false, "the whole consent check comes with it: {error}");
    assert!(error["error"]["details"]["word_error_rate"].as_f64().unwrap() > 0.25, "{error}");

    // The creator reads it: the profile is created, with its consent. Speech recognition now and
    // then mishears two of the three challenge words in the default voice's random delivery (1
    // read-out in 60: "octopus" as "Aquipus", "parachute" as "Pareshu"); then, as in the studio,
    // the creator reads it again. Two refusals in a row fail the test.
    let created = (1..=2)
        .find_map(|reading| {
            let read_out = piper(dir, &format!("consent-{reading}.wav"), &sentence);
            let args = ["voice", "profile", "orbit", "--consent", read_out.to_str().unwrap(), "--json"];
            let out = support::familiar(dir, &args);
            let refused = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() || refused.contains("consent_refused"), "{refused}");
            out.status.success().then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap())
        })
        .expect("the consent read-out was refused twice");
    let consent = &created["consent"];
    assert_eq!(consent["accepted"], true, "{created}");
    assert!(consent["similarity"].as_f64().unwrap() >= consent["threshold"].as_f64().unwrap(), "{created}");
    let info = support::json(dir, &["voice", "profile", "orbit", "--json"]);
    let profile = &info["profile"];
    assert_eq!(profile["consent"]["sentence"], sentence.as_str());
    assert_eq!(profile["fingerprint"]["vector"].as_array().unwrap().len(), 256);
    assert!((profile["seconds"].as_f64().unwrap() - seconds.min(60.0)).abs() < 0.1, "{profile}");
    assert!(info["draft"].is_null(), "the draft is used up: {info}");
    // Without the cloning model the default voice speaks, and says why.
    assert_eq!(info["speaks_with"]["engine"], "default");
    assert!(info["speaks_with"]["note"].as_str().unwrap().contains("familiar models pull"), "{info}");

    // The recordings and the consent travel in the package, and come back on import.
    let package = dir.join("orbit.familiar");
    support::ok(dir, &["package", "build", "orbit", "--out", package.to_str().unwrap()]);
    let inspected = support::json(dir, &["package", "inspect", package.to_str().unwrap(), "--json"]);
    let files = inspected["files"].to_string();
    assert!(files.contains("assets/voice/audio/reference.wav") && files.contains("assets/voice/audio/consent.wav"));
    let elsewhere = tempfile::tempdir().unwrap();
    let imported = support::json(elsewhere.path(), &["package", "import", package.to_str().unwrap(), "--json"]);
    let card = support::json(elsewhere.path(), &["agent", "show", imported["id"].as_str().unwrap(), "--json"]);
    let travelled = &card["data"]["extensions"]["familiar/voice"]["profile"];
    assert_eq!(travelled["consent"]["transcript"], profile["consent"]["transcript"]);
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
    };
    assert_eq!(floats(&travelled["fingerprint"]), floats(&profile["fingerprint"]));

    // Once the voice-cloning model is installed (here: small random weights of its real
    // architecture), the agent speaks in the cloned voice (24 kHz), conditioned on the reference.
    familiar_voice::clone::write_random_model(&dir.join("models/voices/metavoice-1b"), &Default::default(), 1).unwrap();
    assert_eq!(support::json(dir, &["voice", "profile", "orbit", "--json"])["speaks_with"]["engine"], "cloned");
    let question = speak(dir, "question.wav", "Hello there, who are you?");
    let answer = dir.join("answer.wav");
    let args = ["talk", "orbit", "--in", question.to_str().unwrap(), "--out", answer.to_str().unwrap()];
    let talked = support::json(dir, &[&args[..], &["--max-tokens", "24", "--seed", "1", "--json"]].concat());
    assert_eq!(talked["voice"]["engine"], "cloned", "{talked}");
    let spoken = audio(&answer);
    assert_eq!(spoken.rate, 24_000);
    assert!(spoken.seconds() > 0.0 && spoken.samples.iter().all(|s| s.is_finite()), "{talked}");

    // Removing it is a new version, so it can be restored.
    let removed = support::json(dir, &["voice", "profile", "orbit", "--remove", "--json"]);
    let version = removed["version"].as_i64().unwrap();
    assert!(support::json(dir, &["voice", "profile", "orbit", "--json"])["profile"].is_null());
    support::ok(dir, &["agent", "restore", "orbit", &(version - 1).to_string()]);
    let restored = support::json(dir, &["voice", "profile", "orbit", "--json"]);
    assert_eq!(restored["profile"]["consent"], profile["consent"]);
    assert_eq!(floats(&restored["profile"]["fingerprint"]), floats(&profile["fingerprint"]));
}

#[test]
fn reference_recordings_that_fail_a_check_say_what_to_fix_and_leave_nothing() {
    let home = home_with_speech_model();
    let dir = home.path();
    support::ok(dir, &["setup"]);
    let speech = audio(&piper(dir, "speech.wav", &READING[..520]));
    assert!(speech.seconds() > 12.0, "{}", speech.seconds());
    let rate = speech.rate;

    let silence = write(dir, "silence.wav", &Audio { samples: vec![0.0; rate as usize * 20], rate });
    let mut long = speech.samples.clone();
    while long.len() < rate as usize * 75 {
        long.extend_from_slice(&speech.samples);
    }
    let long = write(dir, "long.wav", &Audio { samples: long, rate });
    let mut state = 7u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    };
    let noisy =
        write(dir, "noisy.wav", &Audio { samples: speech.samples.iter().map(|s| s + 0.3 * noise()).collect(), rate });
    let clipped = write(
        dir,
        "clipped.wav",
        &Audio { samples: speech.samples.iter().map(|s| (s * 30.0).clamp(-1.0, 1.0)).collect(), rate },
    );
    let quiet = write(dir, "quiet.wav", &Audio { samples: speech.samples.iter().map(|s| s * 0.002).collect(), rate });
    // Half the recording in another voice.
    let other = audio(&speak(dir, "other.wav", &READING[..400])).resampled(rate).unwrap();
    let mut two = speech.samples.clone();
    two.extend_from_slice(&other.samples);
    let two = write(dir, "two-voices.wav", &Audio { samples: two, rate });

    for (file, expected) in [
        (&silence, "only 0.0 s of it is speech"),
        (&long, "use at most 60 s"),
        (&long, "--from and --to"),
        (&noisy, "the background is loud"),
        (&clipped, "clipped"),
        (&quiet, "very quiet"),
        (&two, "more than one speaker"),
    ] {
        let err = support::fails(dir, &["voice", "import", "orbit", file.to_str().unwrap()]);
        assert!(err.contains(expected), "{}: {err}", file.display());
        no_draft(dir);
    }
    // With --json, the refusal carries every check as measured.
    let out = support::familiar(dir, &["voice", "import", "orbit", noisy.to_str().unwrap(), "--json"]);
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let checks = error["error"]["details"]["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["passed"] == false && c["fix"].is_string()), "{error}");

    // A part of the long one is fine; a part outside it is not.
    support::ok(dir, &["voice", "import", "orbit", long.to_str().unwrap(), "--from", "5", "--to", "50"]);
    let err = support::fails(dir, &["voice", "import", "orbit", long.to_str().unwrap(), "--from", "90"]);
    assert!(err.contains("choose 0"), "{err}");
    let err = support::fails(dir, &["voice", "profile", "lena", "--consent", long.to_str().unwrap()]);
    assert!(err.contains("familiar voice import"), "{err}");
}
