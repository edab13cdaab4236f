#!/usr/bin/env python3
"""Golden outputs for the cloned voice's parity test.

Writes crates/familiar-voice/tests/fixtures/clone/parity.json, which the Rust
test `clone::parity` (cargo test -p familiar-voice --lib clone) compares with.

The tiny random MetaVoice is not committed: this script makes the same weights
as `write_random_model(dir, &TinyConfig::default(), 7)` from the same rule
(SplitMix64 seeded with seed ^ FNV-1a(tensor name), uniform values with a
centre and scale chosen by the tensor's name), and the JSON records a checksum
of every file so the Rust test first proves both sides hold the same bytes.

On those weights it runs implementations that share no code with ours:
- the tokenizer: tiktoken, as MetaVoice (fam/quantiser/text/tokenise.py);
- the first stage: numpy, written from MetaVoice's fam/llm/fast_model.py
  (whole sequences, no KV cache), with classifier-free guidance as in
  fam/llm/fast_inference_utils.py;
- the second stage: numpy, from fam/llm/model.py + layers (non-causal);
- the speaker encoder: librosa's trim and mel spectrogram and torch.nn.LSTM,
  in the steps of MetaVoice's SpeakerEncoder.embed_utterance_from_file;
- the EnCodec decoder: Hugging Face transformers' EncodecModel.decode.

Setup (PyPI's torch is the CUDA build; it runs on the CPU):
    python3 -m venv /var/cache/familiar/ref-venv
    /var/cache/familiar/ref-venv/bin/pip install torch transformers librosa tiktoken numpy
Run:
    /var/cache/familiar/ref-venv/bin/python scripts/clone-parity.py
"""

import json
import math
import pathlib

import numpy as np

SEED = 7
OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/familiar-voice/tests/fixtures/clone/parity.json"

# TinyConfig::default() and the real vocabularies.
FIRST = dict(width=64, layers=2, context=256, vocab=2562, heads=16)
SECOND = dict(width=48, layers=1, context=160, vocabs=[1538, 1025], targets=[1025] * 6, heads=6)
SPEAKER = dict(hidden=16, layers=3, embedding=16, mels=40)
CODEC = dict(filters=2, hidden=8)
MASK = (1 << 64) - 1


# --- The weights ------------------------------------------------------------

def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def fill(name, shape, seed=SEED):
    """The values of one tensor, as weights::fill in Rust."""
    n = int(np.prod(shape))
    if name.endswith("weight_g"):
        center, scale = 1.0, 0.2
    elif len(shape) == 1 and name.endswith("weight"):
        center, scale = 1.0, 0.1
    elif len(shape) == 1:
        center, scale = 0.0, 0.1
    elif (name.endswith("embeddings.weight") or ".wtes." in name or name.endswith("wpe.weight")
          or name.endswith("codebook.embed")):
        center, scale = 0.0, 1.0
    else:
        fan_in = max(n // max(shape[0], 1), 1)
        center, scale = 0.0, 1.0 / math.sqrt(fan_in)
    state = np.uint64((seed ^ fnv1a(name.encode())) & MASK)
    with np.errstate(over="ignore"):
        z = state + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (2.0 / float(1 << 53)) - 1.0
    return (center + scale * u).astype(np.float32).reshape(shape)


def checksum(tensors):
    """FNV-1a over names, shapes and little-endian f32 bytes, in name order."""
    h = 0xCBF29CE484222325
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name], dtype="<f4")
        data = name.encode() + json.dumps(list(t.shape)).encode() + t.tobytes()
        arr = np.frombuffer(data, dtype=np.uint8)
        for b in arr.tolist():
            h = ((h ^ b) * 0x100000001B3) & MASK
    return f"{h:016x}"


def first_stage_shapes():
    d, v = FIRST["width"], FIRST["vocab"]
    inter = -(-(2 * 4 * d // 3) // 256) * 256
    shapes = {
        "tok_embeddings.weight": [v, d],
        "pos_embeddings.weight": [FIRST["context"], d],
        "speaker_cond_pos.weight": [d, SPEAKER["embedding"]],
        "norm.weight": [d],
        "output.weight": [v, d],
    }
    for i in range(FIRST["layers"]):
        p = f"layers.{i}."
        shapes[p + "attention.wqkv.weight"] = [3 * d, d]
        shapes[p + "attention.wo.weight"] = [d, d]
        shapes[p + "feed_forward.swiglu.w1.weight"] = [inter, d]
        shapes[p + "feed_forward.swiglu.w3.weight"] = [inter, d]
        shapes[p + "feed_forward.w2.weight"] = [d, inter]
        shapes[p + "attention_norm.weight"] = [d]
        shapes[p + "ffn_norm.weight"] = [d]
    return shapes


def second_stage_shapes():
    d = SECOND["width"]
    shapes = {
        "transformer.wpe.weight": [SECOND["context"], d],
        "transformer.ln_f.weight": [d],
        "speaker_cond_pos.weight": [d, SPEAKER["embedding"]],
    }
    for i, v in enumerate(SECOND["vocabs"]):
        shapes[f"transformer.wtes.{i}.weight"] = [v, d]
    for i, v in enumerate(SECOND["targets"]):
        shapes[f"lm_heads.{i}.weight"] = [v, d]
    for i in range(SECOND["layers"]):
        p = f"transformer.h.{i}."
        shapes[p + "ln_1.weight"] = [d]
        shapes[p + "ln_2.weight"] = [d]
        shapes[p + "attn.c_attn.weight"] = [3 * d, d]
        shapes[p + "attn.c_proj.weight"] = [d, d]
        shapes[p + "mlp.c_fc.weight"] = [4 * d, d]
        shapes[p + "mlp.c_proj.weight"] = [d, 4 * d]
    return shapes


def speaker_shapes():
    h, e = SPEAKER["hidden"], SPEAKER["embedding"]
    shapes = {"linear.weight": [e, h], "linear.bias": [e]}
    for i in range(SPEAKER["layers"]):
        inp = SPEAKER["mels"] if i == 0 else h
        shapes[f"lstm.weight_ih_l{i}"] = [4 * h, inp]
        shapes[f"lstm.weight_hh_l{i}"] = [4 * h, h]
        shapes[f"lstm.bias_ih_l{i}"] = [4 * h]
        shapes[f"lstm.bias_hh_l{i}"] = [4 * h]
    return shapes


def make(shapes):
    return {name: fill(name, shape) for name, shape in shapes.items()}


# --- Tokenizer (tiktoken, as MetaVoice) --------------------------------------

MERGES = ["th", "he", "e ", " t", "in", "er", "an", "the", " the", "ou", "re", "on", "is", "s ", "ll"]
PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
OFFSET = 2049


def tokenizer():
    import tiktoken

    ranks = {bytes([b]): b for b in range(256)}
    for i, m in enumerate(MERGES):
        ranks[m.encode()] = 256 + i
    enc = tiktoken.Encoding(name="tiny", pat_str=PATTERN, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": 512})
    return lambda text: [t + OFFSET for t in enc.encode(text) + [enc.eot_token]]


# --- First stage (fam/llm/fast_model.py) -------------------------------------

def rms_norm(x, w, eps=1e-5):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def first_stage_last_logits(w, ids, spk):
    """Logits of the last position for the batch (with speaker, without)."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    d, heads = FIRST["width"], FIRST["heads"]
    hd = d // heads
    t = len(ids)
    x = w["tok_embeddings.weight"][ids] + w["pos_embeddings.weight"][:t]
    cond = spk.astype(np.float64) @ w["speaker_cond_pos.weight"].T
    x = np.stack([x + cond, x])  # speaker-condition-free guidance: row 1 has no speaker
    mask = np.triu(np.full((t, t), -np.inf), k=1)
    for i in range(FIRST["layers"]):
        p = f"layers.{i}."
        h = rms_norm(x, w[p + "attention_norm.weight"])
        qkv = h @ w[p + "attention.wqkv.weight"].T
        q, k, v = np.split(qkv, 3, axis=-1)
        q, k, v = (a.reshape(2, t, heads, hd).transpose(0, 2, 1, 3) for a in (q, k, v))
        att = softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + mask)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(2, t, d)
        x = x + y @ w[p + "attention.wo.weight"].T
        h = rms_norm(x, w[p + "ffn_norm.weight"])
        ff = silu(h @ w[p + "feed_forward.swiglu.w1.weight"].T) * (h @ w[p + "feed_forward.swiglu.w3.weight"].T)
        x = x + ff @ w[p + "feed_forward.w2.weight"].T
    x = rms_norm(x[:, -1], w["norm.weight"])
    return x @ w["output.weight"].T


# --- Second stage (fam/llm/model.py, non-causal) -----------------------------

def layer_norm(x, w, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w


def gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def second_stage_logits(w, books, spk):
    w = {k: v.astype(np.float64) for k, v in w.items()}
    d, heads = SECOND["width"], SECOND["heads"]
    hd = d // heads
    t = len(books[0])
    x = w["transformer.wpe.weight"][:t].copy()
    for i, book in enumerate(books):
        x = x + w[f"transformer.wtes.{i}.weight"][book]
    x = x + spk.astype(np.float64) @ w["speaker_cond_pos.weight"].T
    for i in range(SECOND["layers"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, w[p + "ln_1.weight"]) @ w[p + "attn.c_attn.weight"].T
        h = h.reshape(t, 3, heads, hd)
        q, k, v = (h[:, j].transpose(1, 0, 2) for j in range(3))
        att = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd))
        y = (att @ v).transpose(1, 0, 2).reshape(t, d)
        x = x + y @ w[p + "attn.c_proj.weight"].T
        m = gelu(layer_norm(x, w[p + "ln_2.weight"]) @ w[p + "mlp.c_fc.weight"].T)
        x = x + m @ w[p + "mlp.c_proj.weight"].T
    x = layer_norm(x, w["transformer.ln_f.weight"])
    return [x @ w[f"lm_heads.{i}.weight"].T for i in range(len(SECOND["targets"]))]


# --- Speaker encoder (fam/quantiser/audio/speaker_encoder) -------------------

def speaker_wav():
    """0.4 s of silence, 3.2 s of a tone mixture, 0.4 s of silence, at 16 kHz."""
    t = np.arange(51_200, dtype=np.float64) / 16_000.0
    tone = (0.3 * np.sin(2 * np.pi * 150 * t) + 0.2 * np.sin(2 * np.pi * 310 * t + 0.5)
            + 0.1 * np.sin(2 * np.pi * 1250 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)))
    return np.concatenate([np.zeros(6_400), tone, np.zeros(6_400)]).astype(np.float32)


def compute_partial_slices(n_samples, rate=1.3, min_coverage=0.75):
    samples_per_frame = int(16_000 * 10 / 1000)
    n_frames = int(np.ceil((n_samples + 1) / samples_per_frame))
    frame_step = int(np.round((16_000 / rate) / samples_per_frame))
    wav_slices, mel_slices = [], []
    steps = max(1, n_frames - 160 + frame_step + 1)
    for i in range(0, steps, frame_step):
        mel_range = np.array([i, i + 160])
        wav_range = mel_range * samples_per_frame
        mel_slices.append(slice(*mel_range))
        wav_slices.append(slice(*wav_range))
    last = wav_slices[-1]
    coverage = (n_samples - last.start) / (last.stop - last.start)
    if coverage < min_coverage and len(mel_slices) > 1:
        mel_slices, wav_slices = mel_slices[:-1], wav_slices[:-1]
    return wav_slices, mel_slices


def speaker_embedding(w, wav):
    import librosa
    import torch

    wav, _ = librosa.effects.trim(wav, top_db=20)
    trimmed = len(wav)
    wav_slices, mel_slices = compute_partial_slices(len(wav))
    max_wave_length = wav_slices[-1].stop
    if max_wave_length >= len(wav):
        wav = np.pad(wav, (0, max_wave_length - len(wav)), "constant")
    mel = librosa.feature.melspectrogram(y=wav, sr=16_000, n_fft=400, hop_length=160, n_mels=40)
    mel = mel.astype(np.float32).T
    mels = torch.from_numpy(np.array([mel[s] for s in mel_slices]))
    lstm = torch.nn.LSTM(40, SPEAKER["hidden"], SPEAKER["layers"], batch_first=True)
    linear = torch.nn.Linear(SPEAKER["hidden"], SPEAKER["embedding"])
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.from_numpy(w["lstm." + name]))
        linear.weight.copy_(torch.from_numpy(w["linear.weight"]))
        linear.bias.copy_(torch.from_numpy(w["linear.bias"]))
        _, (hidden, _) = lstm(mels)
        raw = torch.relu(linear(hidden[-1]))
        partials = raw / torch.norm(raw, dim=1, keepdim=True)
    embed = np.mean(partials.numpy(), axis=0)
    embed = embed / np.linalg.norm(embed, 2)
    return trimmed, mel, embed


# --- EnCodec decoder (transformers) -----------------------------------------

def encodec_model():
    import torch
    from transformers import EncodecConfig, EncodecModel

    config = EncodecConfig(num_filters=CODEC["filters"], hidden_size=CODEC["hidden"], codebook_dim=CODEC["hidden"])
    model = EncodecModel(config).eval()
    state = model.state_dict()
    ours = {}
    with torch.no_grad():
        for key, value in state.items():
            name = (key.replace("parametrizations.weight.original0", "weight_g")
                    .replace("parametrizations.weight.original1", "weight_v"))
            used = name.startswith("decoder.") or (
                name.startswith("quantizer.layers.") and name.endswith("codebook.embed")
                and int(name.split(".")[2]) < 8)
            if used:
                ours[name] = fill(name, list(value.shape))
                value.copy_(torch.from_numpy(ours[name]))
    return model, ours


def encodec_decode(model, codes):
    import torch

    with torch.no_grad():
        audio = model.decode(torch.tensor(codes, dtype=torch.long)[None, None], [None])[0]
    return audio.reshape(-1).numpy()


# --- The fixed inputs, shared with the Rust test ----------------------------

def fixed_speaker():
    v = np.sin(0.7 * np.arange(1, SPEAKER["embedding"] + 1, dtype=np.float64))
    return (v / np.linalg.norm(v)).astype(np.float32)[None, :]


FORCED = [17, 1029, 300, 2000]
TEXTS = ["hello the world.", "Is this the thing? 42 rolls, then more!", "caf\u00e9 au lait"]


def short(x):
    """Eight significant digits: far below the tolerances, and a smaller file."""
    return float(f"{float(x):.8g}")


def probe(values, stride):
    return [short(x) for x in np.asarray(values, dtype=np.float64).reshape(-1)[::stride]]


def main():
    encode = tokenizer()
    first = make(first_stage_shapes())
    second = make(second_stage_shapes())
    speaker = make(speaker_shapes())
    codec_model, codec = encodec_model()
    spk = fixed_speaker()

    prompt = encode(TEXTS[0])
    steps = []
    for n in range(len(FORCED) + 1):
        ids = prompt + FORCED[:n]
        cond, uncond = first_stage_last_logits(first, ids, spk)
        guided = 3.0 * cond + (1.0 - 3.0) * uncond
        lse = float(np.log(np.exp(guided - guided.max()).sum()) + guided.max())
        steps.append({"length": len(ids), "argmax": int(guided.argmax()), "logsumexp": short(lse),
                      "stride": 7, "values": probe(guided, 7)})

    text = [t - 1024 for t in prompt]
    codes1 = [(i * 37 + 11) % 1024 for i in range(20)]
    codes2 = [(i * 53 + 5) % 1024 for i in range(20)]
    ctx = SECOND["context"]
    book1 = (text + codes1 + [1024] + [1024] * ctx)[:ctx]
    book2 = ([1024] * len(text) + codes2 + [1024] + [1024] * ctx)[:ctx]
    heads = second_stage_logits(second, [book1, book2], spk)
    positions = [0, len(text) + 3, ctx - 1]
    second_out = [{"head": h, "position": p, "stride": 15, "values": probe(heads[h][p], 15),
                   "argmax": int(heads[h][p].argmax())}
                  for h in range(len(heads)) for p in positions]

    trimmed, mel, embedding = speaker_embedding(speaker, speaker_wav())

    codes = [[(t * 37 + q * 101 + 7) % 1024 for t in range(12)] for q in range(8)]
    audio = encodec_decode(codec_model, codes)

    golden = {
        "about": "written by scripts/clone-parity.py; compared by the Rust test clone::parity",
        "seed": SEED,
        "checksums": {
            "first_stage.safetensors": checksum(first),
            "second_stage.safetensors": checksum(second),
            "speaker_encoder.safetensors": checksum(speaker),
            "encodec_24khz.safetensors": checksum(codec),
        },
        "tokenizer": [{"text": t, "ids": encode(t)} for t in TEXTS],
        "first_stage": {"prompt": prompt, "forced": FORCED, "guidance": 3.0, "steps": steps},
        "second_stage": {"book1": book1, "book2": book2, "logits": second_out},
        "speaker": {
            "trimmed_samples": trimmed,
            "mel_frames": int(mel.shape[0]),
            "mel_probe_frames": [0, 80, 159],
            "mel_probe": [[short(x) for x in mel[f]] for f in [0, 80, 159]],
            "embedding": [short(x) for x in embedding],
        },
        "encodec": {"codes": codes, "length": int(audio.shape[0]), "stride": 4, "values": probe(audio, 4),
                    "rms": float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
