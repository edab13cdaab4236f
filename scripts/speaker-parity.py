#!/usr/bin/env python3
"""Golden speaker fingerprints from the real Resemblyzer, for crates/familiar-voice/tests/speaker.rs.

For each clip in crates/familiar-voice/tests/fixtures/speaker/ it records:
  - embedding: what Resemblyzer users get, `VoiceEncoder().embed_utterance(preprocess_wav(path))`
    (librosa's soxr_hq resampling to 16 kHz, volume normalised to -30 dBFS (increase only),
    long silences trimmed with webrtcvad, then 1.6 s partials at 1.3 a second, averaged);
  - embedding_untrimmed: the same without the webrtcvad step (Familiar trims with its own
    detector), so the front end and the network are compared on identical samples;
  - mel_mean: the mean over frames of each of the 40 mel channels of that untrimmed input,
    a check of the front end alone;
  - trimmed_seconds: how long the clip is after webrtcvad trimming.
The same for a few inputs built from the clips (`composites`: parts joined in order, each a
clip or seconds of digital silence, then multiplied by `gain`), which exercise the trimming of
a long pause and the raising of a quiet voice; the Rust test builds them the same way from the
same 16-bit samples.
Written to tests/fixtures/speaker/golden.json (small: 256 floats per vector).

Run with the benchmark venv (see scripts/make-speaker-clips.py for how to make it; webrtcvad
needs `setuptools<81` for pkg_resources):
    /var/cache/familiar/bench-venv/bin/python scripts/speaker-parity.py
"""

import json
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")  # resemblyzer imports scipy.ndimage.morphology, deprecated

import librosa  # noqa: E402
import resemblyzer  # noqa: E402
import torch  # noqa: E402
from resemblyzer import VoiceEncoder, audio, hparams, preprocess_wav  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ROOT / "crates/familiar-voice/tests/fixtures/speaker"
OUT = ROOT / "tests/fixtures/speaker/golden.json"


def rounded(values):
    return [float(f"{v:.8g}") for v in np.asarray(values, dtype=np.float64)]


COMPOSITES = [
    {"name": "pause", "parts": [{"clip": "espeak-us-m3-a.wav"}, {"silence": 1.5}, {"clip": "espeak-us-m3-b.wav"}], "gain": 1.0},
    {"name": "quiet", "parts": [{"silence": 0.5}, {"clip": "espeak-us-f2-a.wav"}, {"silence": 0.5}], "gain": 0.01},
]


def composite(spec):
    pieces = []
    for part in spec["parts"]:
        if "clip" in part:
            raw, rate = librosa.load(str(CLIPS / part["clip"]), sr=None)
            assert rate == hparams.sampling_rate
            pieces.append(raw)
        else:
            pieces.append(np.zeros(int(round(part["silence"] * hparams.sampling_rate)), dtype=np.float32))
    return np.concatenate(pieces) * np.float32(spec["gain"])


def record(encoder, name, raw, rate, full):
    embedding = encoder.embed_utterance(full)
    untrimmed = raw if rate == hparams.sampling_rate else librosa.resample(raw, orig_sr=rate, target_sr=hparams.sampling_rate)
    untrimmed = audio.normalize_volume(untrimmed, hparams.audio_norm_target_dBFS, increase_only=True)
    embedding_untrimmed = encoder.embed_utterance(untrimmed)
    mel = audio.wav_to_mel_spectrogram(untrimmed)
    trim_effect = float(np.dot(embedding, embedding_untrimmed))
    print(f"{name}: {rate} Hz, {len(raw) / rate:.2f} s, {len(full) / 16000:.2f} s after webrtcvad, "
          f"cosine(trimmed, untrimmed) = {trim_effect:.5f}")
    return {
        "seconds": round(len(raw) / rate, 4),
        "trimmed_seconds": round(len(full) / hparams.sampling_rate, 4),
        "cosine_trimmed_untrimmed": round(trim_effect, 6),
        "mel_mean": rounded(mel.mean(axis=0)),
        "embedding": rounded(embedding),
        "embedding_untrimmed": rounded(embedding_untrimmed),
    }


def main():
    torch.set_num_threads(2)
    encoder = VoiceEncoder("cpu", verbose=False)
    clips = []
    for path in sorted(CLIPS.glob("*.wav")):
        raw, rate = librosa.load(str(path), sr=None)
        full = preprocess_wav(path)
        clips.append({"file": path.name, "rate": rate, **record(encoder, path.name, raw, rate, full)})
    composites = []
    for spec in COMPOSITES:
        raw = composite(spec)
        full = preprocess_wav(raw)  # already at 16 kHz: no resampling
        composites.append({**spec, **record(encoder, spec["name"], raw, hparams.sampling_rate, full)})

    names = [c["file"] for c in clips]
    vectors = np.array([c["embedding"] for c in clips])
    print("Resemblyzer's own similarities:")
    sims = vectors @ vectors.T
    for i, name in enumerate(names):
        print(f"  {name:28} " + " ".join(f"{s:.3f}" for s in sims[i]))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "made_by": "scripts/speaker-parity.py",
        "resemblyzer": getattr(resemblyzer, "__version__", "0.1.4"),
        "torch": torch.__version__,
        "librosa": librosa.__version__,
        "numpy": np.__version__,
    }
    OUT.write_text(json.dumps({"meta": meta, "clips": clips, "composites": composites}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
