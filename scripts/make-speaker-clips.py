#!/usr/bin/env python3
"""Writes the speaker-fingerprint test clips to crates/familiar-voice/tests/fixtures/speaker/.

Each clip is one sentence said by one voice: Debian's espeak-ng in three voices chosen to
differ (en-us+m3, en-us+f2, en-us+klatt4; en-gb+m1 and en-us+m3, for instance, are nearly the
same speaker to Resemblyzer: 0.84 across sentences), each saying two sentences, and the
Piper voice "joe" (the studio's default voice). espeak-ng speaks at 22,050 Hz; clips are
resampled to 16 kHz (soxr, very high quality) and written as mono 16-bit WAV. One clip is also
kept at 22,050 Hz to test audio at another rate. Noise is off in Piper, so the clips are the
same on every run.

Run with the benchmark venv (it has soxr and piper-tts):
    python3 -m venv /var/cache/familiar/bench-venv
    /var/cache/familiar/bench-venv/bin/pip install resemblyzer==0.1.4 'setuptools<81' piper-tts==1.3.0
    /var/cache/familiar/bench-venv/bin/python scripts/make-speaker-clips.py [MODEL_CACHE]
Then regenerate the golden vectors with scripts/speaker-parity.py.
"""

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/familiar-voice/tests/fixtures/speaker"

SENTENCES = {
    "a": "The birch canoe slid on the smooth planks.",
    "b": "Glue the sheet to the dark blue background.",
}
# (file name, voice, sentence, rate of the committed file)
ESPEAK = [
    ("espeak-us-m3-a.wav", "en-us+m3", "a", 16000),
    ("espeak-us-m3-b.wav", "en-us+m3", "b", 16000),
    ("espeak-us-f2-a.wav", "en-us+f2", "a", 16000),
    ("espeak-us-f2-b.wav", "en-us+f2", "b", 16000),
    # klatt4 is espeak-ng's Klatt formant synthesiser, a voice unlike the default ones.
    ("espeak-us-klatt4-a.wav", "en-us+klatt4", "a", 16000),
    # Kept at espeak-ng's own rate: the test resamples it like any other input.
    ("espeak-us-klatt4-b-22050.wav", "en-us+klatt4", "b", 22050),
]
PIPER = [("piper-joe-a.wav", "a")]


def read_wav(data: bytes):
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return pcm.astype(np.float32) / 32768.0, w.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int):
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def to_rate(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    return samples if rate == target else soxr.resample(samples, rate, target, quality="VHQ")


def main():
    cache = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FAMILIAR_MODEL_CACHE", "/var/cache/familiar/models"))
    OUT.mkdir(parents=True, exist_ok=True)
    for name, voice, sentence, target in ESPEAK:
        wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", SENTENCES[sentence]], check=True, capture_output=True).stdout
        samples, rate = read_wav(wav)
        write_wav(OUT / name, to_rate(samples, rate, target), target)

    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(cache / "piper/en_US-joe-medium.onnx")
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    for name, sentence in PIPER:
        chunks = list(voice.synthesize(SENTENCES[sentence], syn_config=quiet))
        samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        write_wav(OUT / name, to_rate(samples, chunks[0].sample_rate, 16000), 16000)

    total = 0
    for path in sorted(OUT.glob("*.wav")):
        with wave.open(str(path)) as w:
            seconds = w.getnframes() / w.getframerate()
        total += path.stat().st_size
        print(f"{path.name}: {seconds:.2f} s, {path.stat().st_size // 1024} KiB")
    print(f"total {total // 1024} KiB")


if __name__ == "__main__":
    main()
