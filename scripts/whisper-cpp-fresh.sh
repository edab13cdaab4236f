#!/usr/bin/env bash
# Makes cargo rebuild whisper.cpp when what it is built with changed: the CMake settings in
# .cargo/config.toml and the kernel in crates/familiar-voice/whisper/. whisper-rs-sys's build script
# reruns only when its own wrapper.h changes, so without this a warm CARGO_TARGET_DIR keeps the old build.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
stamp="$target/whisper-cpp-inputs.sha256"
inputs=$(cat .cargo/config.toml crates/familiar-voice/whisper/* | sha256sum | cut -d' ' -f1)
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] && exit 0
if [ -d "$target" ]; then
    echo "whisper.cpp's build settings changed: rebuilding it"
    cargo clean --quiet -p whisper-rs-sys
    cargo clean --quiet --release -p whisper-rs-sys
fi
mkdir -p "$target"
echo "$inputs" > "$stamp"
