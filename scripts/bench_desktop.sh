#!/usr/bin/env bash
# The desktop benchmark (`make bench`): builds the studio's .deb (scripts/build-deb.sh) and Tauri's hello
# world (bench/tauri-hello/) the same way, in release, with the Tauri CLI from e2e/package.json, installs
# Debian's chromium when it is missing, then runs scripts/bench_desktop.py, which rewrites the
# "## Desktop" section of BENCHMARKS.md.
#   RUNS=5   measured runs of each app (after one warm-up each)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
: "${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (the Makefile does)}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# Chromium is the reference; cc and these headers build the screen watcher (scripts/bench_desktop.c).
missing=()
for p in chromium xvfb libx11-dev libxext-dev libxdamage-dev; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
    $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}"
fi

# The studio's .deb, then Tauri's hello world the same way.
studio_deb=$("$root/scripts/build-deb.sh")
(cd "$root/bench/tauri-hello" && "$root/e2e/node_modules/.bin/tauri" build --ci --bundles deb -- --locked)
version() { node -p "require('$1').version"; }
hello_deb="$CARGO_TARGET_DIR/release/bundle/deb/tauri-hello_$(version "$root/bench/tauri-hello/tauri.conf.json")_$(dpkg --print-architecture).deb"

cargo build --locked --bin familiar
python3 "$root/scripts/bench_desktop.py" \
    --studio "$CARGO_TARGET_DIR/release/familiar-studio" --studio-deb "$studio_deb" \
    --hello "$CARGO_TARGET_DIR/release/tauri-hello" --hello-deb "$hello_deb" \
    --familiar "$CARGO_TARGET_DIR/debug/familiar" --dist "$root/ui/dist" \
    --runs "${RUNS:-5}" --write "$root/BENCHMARKS.md"
