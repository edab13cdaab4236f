"""Writes tests/fixtures/tokenizer/<model>.json: llama.cpp's token ids (through
llama-cpp-python) for a varied text set, which the Rust tokenizer must match.
Run: <venv with llama-cpp-python>/bin/python scripts/tokenizer-parity.py MODEL.gguf OUT.json"""
import json, sys
from llama_cpp import Llama

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they've done it; don't they? WE'LL SEE. It's",
    "  leading spaces, trailing spaces   ",
    "tabs\tand\t\ttabs\nnew\n\nlines\r\nwindows\n\n\n",
    "     ",
    "1234567890 3.14159 1,000,000 -42 0x1F 2026-11-25 12:49",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "fn main() {\n\tprintln!(\"{}\", x.iter().map(|v| v * 2).sum::<u32>());\n}",
    "if (a && b || !c) { x += y >> 2; } // comment\n/* block */",
    "café naïve résumé Ångström façade Zürich",
    "日本語のテキストと中文文本，还有한국어도 있습니다。",
    "مرحبا بالعالم — שלום עולם",
    "Emoji: 🙂👍🏽🇵🇹 👨‍👩‍👧‍👦 ✈️",
    "Combining: e\u0301 a\u0308 n\u0303; zero\u200bwidth",
    "Ελληνικά και Русский текст",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "$$$ %%% ^^^ ``` ||| ~~~ ... !!! ???",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "",
    "a",
    "   \n   \n",
]

model = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
cases = []
for text in TEXTS:
    b = text.encode("utf-8")
    cases.append({
        "text": text,
        "plain": model.tokenize(b, add_bos=False, special=False),
        "special": model.tokenize(b, add_bos=False, special=True),
        "with_bos": model.tokenize(b, add_bos=True, special=False),
    })
with open(sys.argv[2], "w") as f:
    f.write('{"generator": %s, "cases": [\n' % json.dumps("llama-cpp-python " + __import__("llama_cpp").__version__))
    f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
    f.write("\n]}\n")
