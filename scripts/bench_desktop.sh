#!/usr/bin/env bash
# The desktop benchmark (`make bench`): builds the studio's .deb and Tauri's hello world
# (bench/tauri-hello/) the same way, in release, with the Tauri CLI from e2e/package.json, installs
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

if ! cmp -s "$root/e2e/package-lock.json" "$root/e2e/node_modules/.familiar-lock" 2>/dev/null; then
    npm ci --prefix "$root/e2e" --ignore-scripts --no-audit --no-fund --loglevel=error
    cp "$root/e2e/package-lock.json" "$root/e2e/node_modules/.familiar-lock"
fi
tauri="$root/e2e/node_modules/.bin/tauri"

# The UI first, then the release .deb of each app. The studio's beforeBuildCommand is not run: the UI is
# built here (the Tauri CLI runs it from the repository's root, where `../ui` is not the UI).
npm --prefix "$root/ui" run build --silent >/dev/null
(cd "$root/src-tauri" && "$tauri" build --ci --bundles deb --config '{"build":{"beforeBuildCommand":null}}' -- --locked)
(cd "$root/bench/tauri-hello" && "$tauri" build --ci --bundles deb -- --locked)

debs="$CARGO_TARGET_DIR/release/bundle/deb"
version() { node -p "require('$1').version"; }
studio_deb="$debs/Familiar_$(version "$root/src-tauri/tauri.conf.json")_$(dpkg --print-architecture).deb"
hello_deb="$debs/tauri-hello_$(version "$root/bench/tauri-hello/tauri.conf.json")_$(dpkg --print-architecture).deb"

cargo build --locked --bin familiar
python3 "$root/scripts/bench_desktop.py" \
    --studio "$CARGO_TARGET_DIR/release/familiar-studio" --studio-deb "$studio_deb" \
    --hello "$CARGO_TARGET_DIR/release/tauri-hello" --hello-deb "$hello_deb" \
    --familiar "$CARGO_TARGET_DIR/debug/familiar" --dist "$root/ui/dist" \
    --runs "${RUNS:-5}" --write "$root/BENCHMARKS.md"
