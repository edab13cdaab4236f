"""`make bench`: Familiar's runtime side by side with llama.cpp (llama-cpp-python)
on the same GGUF, the same thread count and the same prompts, in the same run.
Writes BENCHMARKS.md with the machine, the versions and the ratios.
Usage: python scripts/bench.py OUR_BENCH_BINARY MODEL.gguf [threads] [runs]"""
import json, os, platform, statistics, subprocess, sys, time

import numpy as np
import llama_cpp

ours_bin, model = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
PP, TG = 512, 128


def bandwidth_gbs():
    """Memory read bandwidth: summing a 512 MiB array, best of 5 (numpy, one thread)."""
    a = np.ones(128 << 20, dtype=np.float32)
    best = min((lambda t0: (a.sum(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
    return a.nbytes / best / 1e9


def ours():
    """One run of our side (after its own warm-up run)."""
    out = subprocess.run([ours_bin, model, str(threads), str(PP), str(TG), "1"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def peer_runs(llm, n):
    """`n` runs of llama.cpp's side (pp, tg) in tokens/s."""
    text = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun. " * (PP // 8 + 1)
    prompt = llm.tokenize(text.encode(), add_bos=False)[:PP]
    pp, tg = [], []
    for run in range(n):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        pp_s = time.perf_counter() - t0
        llm.reset()
        llm.eval(prompt[:1])
        t0 = time.perf_counter()
        tok = prompt[1]
        for _ in range(TG):
            llm.eval([tok])
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        tg_s = time.perf_counter() - t0
        pp.append(PP / pp_s)
        tg.append(TG / tg_s)
    return pp, tg


def peer_ttft(llm, turn2_text):
    tokens = llm.tokenize(turn2_text.encode(), add_bos=True, special=True)
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    return (time.perf_counter() - t0) * 1e3


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


bw = bandwidth_gbs()
# The two sides alternate, run by run, so that the machine's drift (it is
# shared) falls on both alike.
llm = llama_cpp.Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=4096, n_batch=512, verbose=False)
peer_runs(llm, 1)  # warm-up
ours_runs, peer_pp, peer_tg = [], [], []
for _ in range(runs):
    ours_runs.append(ours())
    p, t = peer_runs(llm, 1)
    peer_pp += p
    peer_tg += t
us = dict(ours_runs[-1])
us["pp_tok_s"] = statistics.median(r["pp_tok_s"] for r in ours_runs)
us["tg_tok_s"] = statistics.median(r["tg_tok_s"] for r in ours_runs)
us["pp_spread"] = (min(r["pp_tok_s"] for r in ours_runs), max(r["pp_tok_s"] for r in ours_runs))
us["tg_spread"] = (min(r["tg_tok_s"] for r in ours_runs), max(r["tg_tok_s"] for r in ours_runs))
them = {"pp": peer_pp, "tg": peer_tg, "ttft_ms": peer_ttft(llm, us["turn2_text"])}
model_mb = os.path.getsize(model) / 1e6
bound = bw * 1e3 / model_mb
pp_peer, tg_peer = statistics.median(them["pp"]), statistics.median(them["tg"])
rows = [
    ("prefill pp512 (tok/s)", us["pp_tok_s"], pp_peer),
    ("decode tg128 (tok/s)", us["tg_tok_s"], tg_peer),
]
def gpu_section(folder):
    """The CUDA build on a GPU: what scripts/gpu-check.sh measured there (no GPU
    is lent to every run of `make bench`, so its results are kept in `folder`)."""
    try:
        gpu = json.load(open(os.path.join(folder, "bench-gpu.json")))
        cpu = json.load(open(os.path.join(folder, "bench-cpu.json")))
        peer = json.load(open(os.path.join(folder, "bench-peer.json")))
        card = open(os.path.join(folder, "gpu.txt")).read().splitlines()[1]
    except (OSError, ValueError, IndexError):
        return []
    rows = [("prefill pp%d (tok/s)" % gpu["pp"], "pp_tok_s"), ("decode tg%d (tok/s)" % gpu["tg"], "tg_tok_s")]
    out = [
        "## GPU (CUDA)",
        "",
        "Written from `%s/` (scripts/gpu-check.sh on a machine with the GPU; `make bench` keeps the last" % folder,
        "results). Same GGUF as above, medians of %d runs after a warm-up." % gpu["runs"],
        "",
        "- GPU: %s (name, memory, driver)" % card,
        "- ours: the `cuda` build (`%s`); the same binary on the CPU with %d threads" % (gpu["device"], cpu["threads"]),
        "- peer: Hugging Face %s on the same GPU and file" % peer["peer"],
        "",
        "| metric | Familiar on the GPU | Familiar on the CPU | transformers on the GPU | ratio to transformers |",
        "|---|---|---|---|---|",
    ]
    for name, key in rows:
        out.append("| %s | %.1f | %.1f | %.1f | %.2f× |" % (name, gpu[key], cpu[key], peer[key], gpu[key] / peer[key]))
    out += [
        "",
        "Time to first token, second turn of the %d-token conversation on the GPU: %.0f ms with the cache"
        % (gpu["ttft_prompt_tokens"], gpu["ttft_turn2_warm_ms"]),
        "reused, %.0f ms cold." % gpu["ttft_turn2_cold_ms"],
        "",
    ]
    return out


lines = [
    "# Benchmarks",
    "",
    "Written by `make bench` (scripts/bench.py). Ratios are ours ÷ peer, measured in the same run",
    "on the same machine, same GGUF and same thread count; medians of %d runs after a warm-up, the two" % runs,
    "sides alternating run by run (the machine is shared: absolute speeds drift between runs).",
    "",
    "- machine: %s, %d cores visible, %d threads used" % (cpu_name(), os.cpu_count() or 0, threads),
    "- model: `%s` (%.0f MB)" % (os.path.basename(model), model_mb),
    "- peer: llama.cpp through llama-cpp-python %s" % llama_cpp.__version__,
    "- memory bandwidth (numpy sum, one thread): %.1f GB/s → decode bound ≈ %.0f tok/s for this file" % (bw, bound),
    "",
    "| metric | Familiar | llama.cpp | ratio | spread (ours) | spread (llama.cpp) |",
    "|---|---|---|---|---|---|",
]
for name, a, b in rows:
    spread = us["pp_spread"] if name.startswith("prefill") else us["tg_spread"]
    peer_spread = them["pp"] if name.startswith("prefill") else them["tg"]
    lines.append("| %s | %.1f | %.1f | %.2f× | %.1f–%.1f | %.1f–%.1f |" % (name, a, b, a / b, spread[0], spread[1], min(peer_spread), max(peer_spread)))
lines += [
    "| decode, share of the bandwidth bound | %.0f%% | %.0f%% | | | |" % (100 * us["tg_tok_s"] / bound, 100 * tg_peer / bound),
    "",
    "Time to first token, second turn of a %d-token persona conversation:" % us["ttft_prompt_tokens"],
    "",
    "| | ms | ratio to llama.cpp (cold) |",
    "|---|---|---|",
    "| Familiar, cache reused (%d tokens) | %.0f | %.2f× |" % (us["ttft_turn2_reused_tokens"], us["ttft_turn2_warm_ms"], us["ttft_turn2_warm_ms"] / them["ttft_ms"]),
    "| Familiar, cold | %.0f | %.2f× |" % (us["ttft_turn2_cold_ms"], us["ttft_turn2_cold_ms"] / them["ttft_ms"]),
    "| llama.cpp, cold | %.0f | 1.00× |" % them["ttft_ms"],
    "",
]
if us["pp_tok_s"] < pp_peer:
    lines += ["Where the prefill gap is (profiled), and what was tried: ARCHITECTURE.md, \"prefill on the CPU\".", ""]
lines += gpu_section("bench/gpu")
with open("BENCHMARKS.md", "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
