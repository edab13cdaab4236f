//! The real cpal backend on ALSA's `null` device (these machines have no sound
//! card): it lists, records silence and plays, and a missing device is a clear error.

use std::sync::atomic::AtomicBool;

use familiar_voice::Audio;
use familiar_voice::devices::{Cpal, DeviceError, SoundDevices};

#[test]
fn the_null_device_is_listed_records_silence_and_plays() {
    let cpal = Cpal::default();
    let devices = cpal.devices().unwrap();
    let null = devices.iter().find(|d| d.id == "null").unwrap_or_else(|| panic!("{devices:?}"));
    assert!(null.input && null.output, "{null:?}");

    let mut levels = Vec::new();
    let recording = cpal
        .record(Some("null"), 0.5, &mut |db| {
            levels.push(db);
            true
        })
        .unwrap();
    let expected = (0.5 * recording.audio.rate as f64) as usize;
    assert_eq!(recording.audio.samples.len(), expected);
    assert!(recording.audio.is_silent());
    assert!(!levels.is_empty() && levels.iter().all(|&db| db < -100.0), "{levels:?}");

    // `null` takes samples as fast as they come (it has no clock), so this checks that the whole
    // buffer goes through the callback, resampled to the device's rate, not how long it takes.
    let tone = Audio { samples: (0..8000).map(|i| (i as f32 * 0.1).sin() * 0.3).collect(), rate: 16_000 };
    cpal.play(Some("null"), &tone, &AtomicBool::new(false)).unwrap();
}

#[test]
fn a_device_that_does_not_exist_is_a_clear_error() {
    let err = Cpal::default().record(Some("no such microphone"), 0.1, &mut |_| true).unwrap_err();
    assert!(matches!(err, DeviceError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("familiar voice devices"), "{err}");
}
