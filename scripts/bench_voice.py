"""`make bench`, voice: speech to text, Familiar (whisper.cpp through whisper-rs,
on the ggml file `familiar setup` converts) against faster-whisper
(CTranslate2) on the very same Whisper tiny.en model, same clips, same
threads, greedy decoding, English, no VAD. Each side decodes and resamples the
same WAV file itself. Clips are espeak-ng speech of about 3, 11 and 60 s.

Text to speech: Familiar's Piper (ONNX Runtime through `ort`, espeak-ng program
for phonemes) against piper-tts (the Python package, its own onnxruntime and
espeak-ng library) on the same voice, same texts, same threads: real-time factor
and time to the first audio of a reply.

Voice round trip: from the end of the user's speech to the first audio of the
reply. Ours: the live voice loop (`examples/round_trip.rs`: push-to-talk on
simulated devices, every model loaded, so the release is the end of speech and
no pause detection is counted), which transcribes, writes and speaks while the
next stage starts. The peers' stages run back to back on the same work:
faster-whisper transcribes the same question, llama.cpp processes a prompt of
the same length (reusing the same number of cached tokens) and writes as many
tokens as our reply had, and piper-tts speaks our reply.

Usage: python scripts/bench_voice.py TARGET_DIR CT2_MODEL_DIR GGML_MODEL PIPER_VOICE ONNXRUNTIME_LIB GGUF [threads]"""
import json, os, statistics, subprocess, sys, tempfile, time, wave

target, ct2_dir, ggml, voice, ort_lib, gguf = sys.argv[1:7]
threads = int(sys.argv[7]) if len(sys.argv) > 7 else 2
QUESTION = "How do I export my notes from the app?"
ROUND_TRIPS = 5
REPLY_TOKENS = 60
REPLIES = [
    "Sure. Open the File menu, choose Export, and pick Markdown or PDF.",
    "The weather today is sunny with a light breeze from the west. Tomorrow brings clouds in the afternoon, and "
    "rain is likely by the evening. Take an umbrella if you plan to walk home late. The weekend should be dry again.",
]
RUNS = 3
TTS_ROUNDS = 5
STT_ROUNDS = 3
SENTENCES = [
    "I would like to order a large pizza with extra cheese.",
    "The weather today is sunny with a light breeze from the west.",
    "Please send the report to the whole team before the meeting on Friday.",
    "The library opens at nine in the morning and closes at six in the evening.",
    "We drove along the coast and stopped for coffee in a small village.",
]


def duration(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()


def clip(tmp, name, seconds):
    """espeak-ng speech at least `seconds` long (whole sentences)."""
    path = os.path.join(tmp, name)
    words = []
    i = 0
    while True:
        words.append(SENTENCES[i % len(SENTENCES)])
        i += 1
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", path, " ".join(words)], check=True)
        if duration(path) >= seconds * 0.97:
            return path


def ours(files, mode):
    exe = os.path.join(target, "debug", "examples", "stt_bench")
    out = subprocess.run([exe, ggml, str(threads), str(RUNS + 1), mode] + files, check=True, capture_output=True,
                         text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    # The first run of each file warms caches; the rest count.
    return {r["file"]: (r["seconds"][1:], r["text"]) for r in rows}


def theirs(files, compute_type, mode):
    from faster_whisper import WhisperModel

    model = WhisperModel(ct2_dir, device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1)
    out = {}
    for f in files:
        times = []
        for _ in range(RUNS + 1):
            start = time.perf_counter()
            segments, _ = model.transcribe(f, language="en", beam_size=1, best_of=1, vad_filter=False,
                                           condition_on_previous_text=False, without_timestamps=mode == "text")
            text = " ".join(s.text.strip() for s in segments)
            times.append(time.perf_counter() - start)
        out[f] = (times[1:], text)
    return out


def stt_rounds(files, modes, rounds=STT_ROUNDS):
    """Ours, faster-whisper int8 and faster-whisper fp32 taking turns round by round (the machine's speed drifts
    by ±10 % over minutes); per mode, per side, per file: the median over every run of every round, and a transcript."""
    pooled = {mode: ({}, {}, {}) for mode in modes}
    for _ in range(rounds):
        for mode in modes:
            for side, result in zip(pooled[mode], (ours(files, mode), theirs(files, "int8", mode),
                                                   theirs(files, "float32", mode))):
                for f, (times, text) in result.items():
                    side[f] = (side.get(f, ([], text))[0] + times, text)
    return {mode: tuple({f: (statistics.median(times), text) for f, (times, text) in side.items()} for side in sides)
            for mode, sides in pooled.items()}


def tts_ours():
    """Per reply: (first audio, total, audio length) seconds of each of RUNS runs after a warm-up."""
    exe = os.path.join(target, "debug", "examples", "tts_bench")
    out = subprocess.run([exe, voice, ort_lib, str(threads), str(RUNS + 1)] + REPLIES, check=True, capture_output=True,
                         text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {r["text"]: list(zip(r["first_audio_s"], r["total_s"], r["audio_s"]))[1:] for r in rows}


def piper_tts():
    """piper-tts's voice, loaded once, with the same thread count as ours."""
    import onnxruntime
    from piper import PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    piper_voice = PiperVoice.load(voice)
    # PiperVoice builds its session with default options; rebuild it with the same thread count as ours.
    piper_voice.session = onnxruntime.InferenceSession(voice, sess_options=options, providers=["CPUExecutionProvider"])
    return piper_voice


def tts_theirs(piper_voice):
    """As tts_ours, for piper-tts."""
    out = {}
    for text in REPLIES:
        runs = []
        for _ in range(RUNS + 1):
            start = time.perf_counter()
            first, samples = None, 0
            for chunk in piper_voice.synthesize(text):
                first = first or time.perf_counter() - start
                samples += len(chunk.audio_float_array)
            runs.append((first, time.perf_counter() - start, samples / 22050))
        out[text] = runs[1:]
    return out


def tts_rounds(rounds=TTS_ROUNDS):
    """Ours and piper-tts alternating round by round (the machine's speed drifts by more than the gap between
    the two); per reply, the medians over every run of every round of first audio, real-time factor (each run's
    time over that run's own audio: Piper draws phoneme lengths at random, so the audio's length varies by ±5 %
    from run to run) and audio length."""
    piper_voice = piper_tts()
    ours, theirs = {t: [] for t in REPLIES}, {t: [] for t in REPLIES}
    for _ in range(rounds):
        for pooled, side in ((ours, tts_ours()), (theirs, tts_theirs(piper_voice))):
            for text, runs in side.items():
                pooled[text] += runs

    def medians(pooled):
        return {t: (statistics.median(f for f, _, _ in runs), statistics.median(x / a for _, x, a in runs),
                    statistics.median(a for _, _, a in runs)) for t, runs in pooled.items()}

    return medians(ours), medians(theirs)


def round_trip_ours(question):
    exe = os.path.join(target, "debug", "examples", "round_trip")
    out = subprocess.run([exe, question, str(ROUND_TRIPS), str(REPLY_TOKENS)], check=True, capture_output=True,
                         text=True).stdout
    turns = [json.loads(line) for line in out.splitlines() if line.strip()]
    return turns[1:]  # the first warms up


def round_trip_peers(question, turns):
    """Each of our turns' work, done by the peers one stage after the other."""
    import llama_cpp
    import onnxruntime
    from faster_whisper import WhisperModel
    from piper import PiperVoice

    stt = WhisperModel(ct2_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
    llm = llama_cpp.Llama(model_path=gguf, n_threads=threads, n_threads_batch=threads, n_ctx=4096, n_batch=512,
                          verbose=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    tts = PiperVoice.load(voice)
    tts.session = onnxruntime.InferenceSession(voice, sess_options=options, providers=["CPUExecutionProvider"])
    text = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun. " * 400
    pool = llm.tokenize(text.encode(), add_bos=True)
    out = []
    for turn in [turns[0]] + turns:  # the first warms up
        prompt = pool[: turn["prompt_tokens"]]
        cached = turn["reused_tokens"]
        # What the previous turn left in llama.cpp's cache, as in ours.
        llm.reset()
        llm.eval(prompt[:cached])
        start = time.perf_counter()
        segments, _ = stt.transcribe(question, language="en", beam_size=1, best_of=1, vad_filter=False,
                                     condition_on_previous_text=False)
        " ".join(s.text for s in segments)
        t_stt = time.perf_counter()
        llm.eval(prompt[cached:])
        # One decoding step per token of our reply (which token is fed does not change the work; llama.cpp
        # keeps no logits here without logits_all, and sampling is not what is measured).
        for tok in pool[: turn["generated_tokens"] - 1]:
            llm.eval([tok])
        t_llm = time.perf_counter()
        first = None
        for _chunk in tts.synthesize(turn["reply"]):
            first = first or time.perf_counter()
            break
        # Back to back, the first audio comes after the whole reply is written and its first sentence spoken.
        out.append({"stt_ms": (t_stt - start) * 1e3, "llm_ms": (t_llm - t_stt) * 1e3,
                    "tts_first_ms": ((first or t_llm) - t_llm) * 1e3, "first_audio_ms": ((first or t_llm) - start) * 1e3})
    return out[1:]


def main():
    import faster_whisper

    tmp = tempfile.mkdtemp()
    files = [clip(tmp, "3s.wav", 3), clip(tmp, "11s.wav", 11), clip(tmp, "60s.wav", 60)]
    runs = stt_rounds(files, ("timestamps", "text"))
    us = runs["timestamps"][0]
    fw_int8 = runs["timestamps"][1]
    lines = [
        "## Voice",
        "",
        "Speech to text, `make bench` → `scripts/bench_voice.py`: Familiar (whisper.cpp inside whisper-rs %s, the ggml file"
        % "0.16",
        "with q8_0 matrices converted by `familiar setup`) against faster-whisper %s on the very same Whisper tiny.en"
        % faster_whisper.__version__,
        "(CTranslate2, from PyPI),",
        "%d threads, greedy, English, no VAD; each side reads and resamples the same espeak-ng WAV; %d rounds, the three"
        % (threads, STT_ROUNDS),
        "taking turns, %d runs each after a warm-up, medians over all. RTF = seconds per second of audio (lower is faster);"
        % RUNS,
        "ratio = the peer's time / ours (above 1: we are faster).",
        "Two modes, the same on both sides: with segment timestamps (`voice transcribe --timestamps`; faster-whisper",
        "`without_timestamps=False`), and text only (what the live loop and spoken turns use; `without_timestamps=True`).",
        "",
        "| clip | mode | Familiar RTF | faster-whisper int8 RTF | faster-whisper fp32 RTF | ratio vs int8 | ratio vs fp32 |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in files:
        d = duration(f)
        for mode in ("timestamps", "text"):
            (a, _), (b, _), (c, _) = (r[f] for r in runs[mode])
            lines.append("| %.1f s | %s | %.3f | %.3f | %.3f | %.2f× | %.2f× |" % (d, mode, a / d, b / d, c / d, b / a, c / a))
    lines += [
        "",
        "Goal (issue 5): at least 1.0× both. Short clips gain most (each piece encodes only the audio context it needs,",
        "where faster-whisper always encodes a 30 s window); q8_0 matrices made whisper.cpp ≈ 1.4× faster than f16 here.",
        "llamafile's tiled kernels (`GGML_LLAMAFILE`) added 1.08–1.13×; whisper.cpp is built at `-O3` in every profile",
        "(`CMAKE_BUILD_TYPE=Release` in .cargo/config.toml: the dev profile's `-O2 -g` build was ≈ 1.25× slower, and was",
        "what earlier runs of this benchmark measured). Measured here: the dev build, for this machine's CPU (AVX-512), as",
        "`make run` builds it; the .deb's is built for x86-64-v3 (AVX2) so that it runs on any x86 CPU since 2015, and on",
        "this machine takes 1.2–1.6× as long on 3 s and 11 s clips and 1.2–1.8× on 62 s (measured alongside once, not in",
        "this table). The encoder's attention runs our own tiled kernel",
        "(`crates/familiar-voice/whisper/tiled_attention.c`): ggml's took one query and one key at a time and half of a long",
        "clip's time; ours made long audio 1.3–1.5× faster. Reading and resampling the file counts on both sides: in the",
        "dev profile our resampler ran unoptimised (0.7 s of a 62 s clip, 17 ms optimised) until familiar-voice was built",
        "at opt-level 3 there too. The closest ratio (long audio, text only, against int8) is held by the int8 matrix",
        "products: the decoder's matrix-vector products read every weight once a token and run at this machine's memory",
        "bandwidth (a kernel with four rows at a time took 17 % of the time where ggml's took 19 %, so it was left out;",
        "ARCHITECTURE.md, \"whisper.cpp's CPU kernels\").",
    ]
    ours_tts, theirs_tts = tts_rounds()
    import piper

    lines += [
        "",
        "Text to speech, same script: Familiar's Piper (ONNX Runtime %s's library from PyPI through `ort`, phonemes from a"
        % "1.32.0",
        "long-lived `espeak-ng` process) against piper-tts %s on the same voice (en_US-joe-medium), %d threads, sentence by sentence;"
        % (getattr(piper, "__version__", "1.3.0"), threads),
        "first audio = when the first sentence's samples are ready; %d rounds alternating the two, %d runs each after a"
        % (TTS_ROUNDS, RUNS),
        "warm-up, medians over all; RTF = each run's time over that run's audio (Piper draws phoneme lengths at",
        "random). Ratio = the peer's RTF / ours, the peer's first audio / ours.",
        "",
        "| reply | Familiar RTF | piper-tts RTF | ratio | Familiar first audio | piper-tts first audio | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for text in REPLIES:
        (f1, rtf1, a1), (f2, rtf2, _) = ours_tts[text], theirs_tts[text]
        lines.append("| %d words, %.1f s | %.3f | %.3f | %.2f× | %.0f ms | %.0f ms | %.2f× |"
                     % (len(text.split()), a1, rtf1, rtf2, rtf2 / rtf1, f1 * 1000, f2 * 1000, f2 / f1))
    lines += [
        "",
        "Goal (issue 5): at least 1.0× piper-tts. Both run the same ONNX graph on the same runtime; piper-tts phonemizes",
        "in-process with its own espeak-ng library, we ask one long-lived `espeak-ng` process a line at a time (linking",
        "the library would bring its GPL into the binary); starting the program once per sentence cost ≈ 10 ms a sentence.",
        "The program synthesizes, unheard, the speech it gives the phonemes of: ≈ 1.8 ms of CPU a sentence, and 0.6 ms",
        "more for the four words that ended each request. Asked at 400 words a minute (the same phonemes) and ended by a",
        "phoneme string (`[[xSx]]`), it takes ≈ 0.9 ms a sentence; piper-tts's library call takes ≈ 0.16 ms. Asking for",
        "the next sentence while this one is synthesized was tried: on 2 cores it took the time from ONNX Runtime and",
        "made first audio later.",
    ]
    question = os.path.join(tmp, "question.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", question, QUESTION], check=True)
    ours_rt = round_trip_ours(question)
    peers_rt = round_trip_peers(question, ours_rt)
    med = lambda rows, key: statistics.median(r[key] for r in rows)
    ours_first = statistics.median(t["stages"]["first_audio_ms"] for t in ours_rt)
    peers_first = med(peers_rt, "first_audio_ms")
    lines += [
        "",
        "Voice round trip, same script: from the end of the question (%.1f s of espeak-ng speech: \"%s\") to the first audio"
        % (duration(question), QUESTION),
        "of the reply, %d threads, the sample agent Orbit on SmolLM2-135M (greedy, %d tokens), median of %d turns after a"
        % (threads, REPLY_TOKENS, len(ours_rt)),
        "warm-up. Ours: the live loop (`examples/round_trip.rs`, push-to-talk on simulated devices: the end of speech is the",
        "release, no pause detection counted; hands-free adds the 0.6 s pause that ends a turn). Peers, back to back on",
        "the same work: faster-whisper (int8) transcribes the question, llama.cpp processes a prompt of the same length with",
        "the same number of cached tokens and writes as many tokens as our reply, piper-tts speaks our reply's first sentence.",
        "",
        "| stage | Familiar (streamed) | peers back to back |",
        "|---|---|---|",
        "| speech to text | %.0f ms | %.0f ms |" % (statistics.median(t["stages"]["stt_ms"] for t in ours_rt), med(peers_rt, "stt_ms")),
        "| to the first token / the whole reply | %.0f ms (first token) | %.0f ms (whole reply) |"
        % (statistics.median(t["stages"]["first_token_ms"] for t in ours_rt), med(peers_rt, "llm_ms")),
        "| first sentence spoken | | %.0f ms |" % med(peers_rt, "tts_first_ms"),
        "| **end of speech → first audio** | **%.0f ms** | **%.0f ms** |" % (ours_first, peers_first),
        "",
        "Ratio ours / peers: **%.2f×** (goal: ≤ 0.5×). Prompt %d tokens, %d of them reused from the cache; reply %d tokens."
        % (ours_first / peers_first, ours_rt[0]["prompt_tokens"], ours_rt[0]["reused_tokens"], ours_rt[0]["generated_tokens"]),
    ]
    lines += ["", "Transcripts of the 11 s clip (for a sanity check, not a score):", ""]
    f = files[1]
    lines += ["- Familiar: %s" % us[f][1], "- faster-whisper int8: %s" % fw_int8[f][1], ""]
    old = open("BENCHMARKS.md", encoding="utf-8").read() if os.path.exists("BENCHMARKS.md") else "# Benchmarks\n"
    section = "\n".join(lines).rstrip("\n") + "\n"
    start = old.find("## Voice")
    if start >= 0:  # replaced where it stands, so the file keeps its order
        end = old.find("\n## ", start + 3)
        new = old[:start] + section + (old[end:] if end >= 0 else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    with open("BENCHMARKS.md", "w", encoding="utf-8") as fh:
        fh.write(new)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
