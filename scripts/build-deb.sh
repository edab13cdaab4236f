#!/usr/bin/env bash
# Builds the studio's release .deb (`make deb`, and the desktop benchmark) with the Tauri CLI pinned in
# e2e/package.json, and prints its path. A release build is what we ship: whisper.cpp's CPU code is then
# built for x86-64-v3 (AVX2), not for this machine's CPU (crates/familiar-voice/whisper/inject.cmake);
# this checks that it was, since a native build would crash on CPUs without this one's instructions.
# Needs what `make deps` installs (Debian's WebKitGTK headers, npm).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
: "${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (the Makefile does)}"

"$root/e2e/install.sh"

# The UI first. The studio's beforeBuildCommand is not run: the UI is built here (the Tauri CLI runs it
# from the repository's root, where `../ui` is not the UI).
npm --prefix "$root/ui" run build --silent >/dev/null
(cd "$root/src-tauri" && "$root/e2e/node_modules/.bin/tauri" build --ci --bundles deb \
    --config '{"build":{"beforeBuildCommand":null}}' -- --locked) >&2

# The whisper.cpp build linked last (cargo keeps one folder per build-script hash).
cache=$(ls -t "$CARGO_TARGET_DIR"/release/build/whisper-rs-sys-*/out/build/CMakeCache.txt | head -1)
if ! grep -qx "GGML_NATIVE:BOOL=OFF" "$cache"; then
    echo "error: whisper.cpp was built for this machine's CPU ($cache): the .deb would not run on others." >&2
    echo "Unset GGML_NATIVE, run scripts/whisper-cpp-fresh.sh, and build again." >&2
    exit 1
fi

version=$(node -p "require('$root/src-tauri/tauri.conf.json').version")
echo "$CARGO_TARGET_DIR/release/bundle/deb/Familiar_${version}_$(dpkg --print-architecture).deb"
