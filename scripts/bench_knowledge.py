"""`make bench`, knowledge bases: Familiar side by side with its peers on the
same input in the same run, appended to BENCHMARKS.md.

  embeddings  candle all-MiniLM-L6-v2 vs sentence-transformers (CPU torch), same weights
  retrieval   our exact and IVF search vs sqlite-vec (exact) and hnswlib, 100k and 1M vectors
  ingest      `familiar kb add` vs the same pipeline in sentence-transformers + sqlite-vec

The corpus is the Jargon File 4.4.7 (public domain) from Debian's jargon-text
package. Retrieval runs on real embeddings: sentences of the File embedded
with the model, each expanded to 100k / 1M vectors by small Gaussian jitter
(see `expand`) because embedding a million distinct sentences takes hours on
two cores; queries are held-out real sentences.

Usage: python scripts/bench_knowledge.py TARGET_DIR MODEL_DIR [threads]"""
import gzip, hashlib, json, os, re, statistics, subprocess, sys, tempfile, time

import importlib.metadata

import numpy as np
import torch

target, model_dir = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer  # noqa: E402
import sentence_transformers  # noqa: E402
import hnswlib  # noqa: E402
import sqlite_vec  # noqa: E402
# A CPython built without loadable SQLite extensions (pyenv's default) cannot load sqlite-vec.
import pysqlite3 as sqlite3  # noqa: E402

CACHE = os.path.join(os.path.dirname(target.rstrip("/")), "bench")
FAMILIAR = os.path.join(target, "debug", "familiar")
EXAMPLES = os.path.join(target, "debug", "examples")
RUNS = 3
os.makedirs(CACHE, exist_ok=True)


def jargon_text():
    path = os.path.join(CACHE, "jargon.txt")
    if not os.path.exists(path):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", "jargon-text"], cwd=tmp, check=True, capture_output=True)
            deb = next(f for f in os.listdir(tmp) if f.endswith(".deb"))
            subprocess.run(["dpkg-deb", "-x", deb, "x"], cwd=tmp, check=True)
            with gzip.open(os.path.join(tmp, "x/usr/share/doc/jargon-text/jargon.txt.gz"), "rt", encoding="utf-8") as f:
                text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(path, encoding="utf-8") as f:
        return f.read()


def sentences(text):
    flat = " ".join(text.split())
    seen, out = set(), []
    for s in re.split(r"(?<=[.!?])\s+", flat):
        words = len(s.split())
        if 6 <= words <= 60 and s not in seen:
            seen.add(s)
            out.append(s)
    return out


def median_runs(f, runs=RUNS):
    return statistics.median(f() for _ in range(runs))


def bench_embeddings(model, sents):
    path = os.path.join(CACHE, "sentences.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(sents) + "\n")
    model.encode(sents[:32], batch_size=32)
    ours, theirs = [], []
    for _ in range(RUNS):
        out = subprocess.run([os.path.join(EXAMPLES, "embed_bench"), model_dir, path], check=True, capture_output=True, text=True)
        ours.append(json.loads(out.stdout))
        t = time.perf_counter()
        for s in sents[:64]:
            model.encode([s], batch_size=1)
        b1 = 64 / (time.perf_counter() - t)
        t = time.perf_counter()
        model.encode(sents, batch_size=32)
        b32 = len(sents) / (time.perf_counter() - t)
        theirs.append({"batch1": b1, "batch32": b32})
    med = lambda rows, k: statistics.median(r[k] for r in rows)
    return {k: (med(ours, k), med(theirs, k)) for k in ("batch1", "batch32")}


def real_vectors(model, sents):
    key = hashlib.sha256(("\n".join(sents) + model_dir).encode()).hexdigest()[:16]
    path = os.path.join(CACHE, f"vectors-{key}.npy")
    if not os.path.exists(path):
        np.save(path, model.encode(sents, batch_size=32, normalize_embeddings=True).astype(np.float32))
    return np.load(path)


def expand(real, n, sigma=0.5, seed=7):
    """n unit vectors: real ones plus Gaussian jitter (cosine to the source ≈ 0.9)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step)) % len(real)
        v = real[idx] + rng.normal(0, sigma / np.sqrt(real.shape[1]), (len(idx), real.shape[1])).astype(np.float32)
        out[start:start + len(idx)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def latencies(f, queries):
    ms = []
    for q in queries:
        t = time.perf_counter()
        f(q)
        ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]


def bench_retrieval(base, queries):
    n = len(base)
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        bp, qp = os.path.join(tmp, "base.f32"), os.path.join(tmp, "queries.f32")
        base.astype("<f4").tofile(bp)
        queries.astype("<f4").tofile(qp)
        out = subprocess.run([os.path.join(EXAMPLES, "vector_bench"), bp, qp, str(base.shape[1])], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)
        # sqlite-vec, exact (brute force in C).
        db = sqlite3.connect(os.path.join(tmp, "vec.db"))
        db.enable_load_extension(True)
        sqlite_vec.load(db)
        db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{base.shape[1]}])")
        t = time.perf_counter()
        with db:
            db.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)", ((i + 1, base[i].tobytes()) for i in range(n)))
        vec_build = time.perf_counter() - t
        knn = lambda q: db.execute("SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10", (q.tobytes(),)).fetchall()
        vec_p50, vec_p99 = latencies(knn, queries)
        vec_recall = np.mean([len({r - 1 for (r,) in knn(q)} & set(truth[i])) / 10 for i, q in enumerate(queries)])
        db.close()
    # hnswlib (M=16, ef_construction=100, ef=64).
    index = hnswlib.Index(space="ip", dim=base.shape[1])
    t = time.perf_counter()
    index.init_index(max_elements=n, M=16, ef_construction=100, random_seed=7)
    index.set_num_threads(threads)
    index.add_items(base, np.arange(n))
    hnsw_build = time.perf_counter() - t
    index.set_ef(64)
    index.set_num_threads(1)
    hnsw_p50, hnsw_p99 = latencies(lambda q: index.knn_query(q, k=10), queries)
    labels, _ = index.knn_query(queries, k=10)
    hnsw_recall = np.mean([len(set(labels[i]) & set(truth[i])) / 10 for i in range(len(queries))])
    return {
        "n": n, "ours": ours,
        "sqlite_vec": {"p50": vec_p50, "p99": vec_p99, "recall": vec_recall, "build_s": vec_build},
        "hnswlib": {"p50": hnsw_p50, "p99": hnsw_p99, "recall": hnsw_recall, "build_s": hnsw_build},
    }


def python_ingest(text_path, db_path):
    """The peer pipeline: read → token windows (200, overlap 32) → sentence-transformers → sqlite-vec + FTS5."""
    t = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    tok = model.tokenizer
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    chunks = [tok.decode(ids[i:i + 200]) for i in range(0, max(1, len(ids) - 32), 168)]
    vectors = model.encode(chunks, batch_size=32, normalize_embeddings=True)
    db = sqlite3.connect(db_path)
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.execute("CREATE VIRTUAL TABLE v USING vec0(embedding float[384])")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(text)")
    with db:
        for i, (c, v) in enumerate(zip(chunks, vectors)):
            db.execute("INSERT INTO v(rowid, embedding) VALUES (?, ?)", (i + 1, v.astype(np.float32).tobytes()))
            db.execute("INSERT INTO f(rowid, text) VALUES (?, ?)", (i + 1, c))
    db.close()
    return len(chunks), time.perf_counter() - t


def ours_ingest(text_path, home):
    env = dict(os.environ, FAMILIAR_HOME=home)
    run = lambda *a: subprocess.run([FAMILIAR, *a, "--json"], env=env, check=True, capture_output=True, text=True).stdout
    if not os.path.exists(os.path.join(home, "models", "all-minilm-l6-v2")):
        run("models", "import", model_dir.rstrip("/"))
    subprocess.run([FAMILIAR, "kb", "rm", "bench"], env=env, capture_output=True)
    run("kb", "create", "bench")
    t = time.perf_counter()
    report = json.loads(run("kb", "add", "bench", text_path))
    return report["chunks"], time.perf_counter() - t


def bench_ingest(text):
    path = os.path.join(CACHE, "ingest.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:400_000])
    home = os.path.join(CACHE, "home")
    ours, theirs = [], []
    for _ in range(RUNS):
        n, s = ours_ingest(path, home)
        ours.append((n, s))
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            theirs.append(python_ingest(path, os.path.join(tmp, "p.db")))
    rate = lambda rows: statistics.median(n / s for n, s in rows)
    return {"ours": rate(ours), "theirs": rate(theirs), "ours_chunks": ours[0][0], "their_chunks": theirs[0][0]}


def sqlite_vec_version():
    db = sqlite3.connect(":memory:")
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    return db.execute("SELECT vec_version()").fetchone()[0]


def main():
    text = jargon_text()
    sents = sentences(text)
    model = SentenceTransformer(model_dir, device="cpu")
    emb = bench_embeddings(model, sents[:512])
    real = real_vectors(model, sents[:12_200])
    base_real, queries = real[:-200], real[-200:]
    retrieval = [bench_retrieval(expand(base_real, n), queries[: (200 if n <= 100_000 else 100)]) for n in (100_000, 1_000_000)]
    ingest = bench_ingest(text)

    lines = [
        "",
        "## Knowledge bases",
        "",
        "Written by `make bench` (scripts/bench_knowledge.py), same machine and run, %d threads; medians of %d runs." % (threads, RUNS),
        "Corpus: the Jargon File 4.4.7 (public domain, Debian `jargon-text`). Peers: sentence-transformers %s (torch %s, CPU)," % (sentence_transformers.__version__, torch.__version__),
        "sqlite-vec %s, hnswlib %s." % (sqlite_vec_version(), importlib.metadata.version("hnswlib")),
        "",
        "Embeddings (all-MiniLM-L6-v2, 512 real sentences; batch 1 over the first 64):",
        "",
        "| | Familiar (sentences/s) | sentence-transformers | ratio |",
        "|---|---|---|---|",
    ]
    for k, label in (("batch1", "batch 1"), ("batch32", "batch 32")):
        a, b = emb[k]
        lines.append("| %s | %.1f | %.1f | %.2f× |" % (label, a, b, a / b))
    lines += [
        "",
        "Retrieval, top-10, one query at a time ({:,} real sentence embeddings expanded to N by jitter of cosine ≈ 0.9;".format(len(base_real)),
        "200 held-out real sentences as queries, 100 at 1M). Latency in ms; recall@10 against exact search:",
        "",
        "| N | search | p50 | p99 | recall@10 | build (s) | p50 ÷ our exact | p50 ÷ sqlite-vec exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in retrieval:
        o, v, h = r["ours"], r["sqlite_vec"], r["hnswlib"]
        n = "{:,}".format(r["n"])
        lines += [
            "| %s | Familiar exact (SIMD) | %.2f | %.2f | 1.000 | – | 1.00× | %.3f× |" % (n, o["exact_p50_ms"], o["exact_p99_ms"], o["exact_p50_ms"] / v["p50"]),
            "| %s | Familiar IVF (%d cells, %d probed) | %.2f | %.2f | %.3f | %.1f | %.2f× | %.3f× |" % (n, o["cells"], o["nprobe"], o["ivf_p50_ms"], o["ivf_p99_ms"], o["ivf_recall10"], o["ivf_build_s"], o["ivf_p50_ms"] / o["exact_p50_ms"], o["ivf_p50_ms"] / v["p50"]),
            "| %s | sqlite-vec exact | %.2f | %.2f | %.3f | %.1f | %.2f× | 1.000× |" % (n, v["p50"], v["p99"], v["recall"], v["build_s"], v["p50"] / o["exact_p50_ms"]),
            "| %s | hnswlib (M=16, ef=64) | %.2f | %.2f | %.3f | %.1f | %.3f× | %.4f× |" % (n, h["p50"], h["p99"], h["recall"], h["build_s"], h["p50"] / o["exact_p50_ms"], h["p50"] / v["p50"]),
        ]
    lines += [
        "",
        "Ingest, end to end (400 kB of the File as text: read, chunk, embed, index; model load included):",
        "",
        "| | chunks/s | chunks | ratio |",
        "|---|---|---|---|",
        "| Familiar `kb add` (structure-aware chunks, FTS5 + vectors in SQLite) | %.1f | %d | %.2f× |" % (ingest["ours"], ingest["ours_chunks"], ingest["ours"] / ingest["theirs"]),
        "| sentence-transformers + sqlite-vec (token windows, vec0 + FTS5) | %.1f | %d | 1.00× |" % (ingest["theirs"], ingest["their_chunks"]),
        "",
    ]
    # Replace this section (bench.py writes the file's first part).
    old = open("BENCHMARKS.md", encoding="utf-8").read() if os.path.exists("BENCHMARKS.md") else "# Benchmarks\n"
    old = old.split("\n## Knowledge bases")[0].rstrip("\n") + "\n"
    with open("BENCHMARKS.md", "w", encoding="utf-8") as f:
        f.write(old + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
