#!/usr/bin/env bash
# Installs what Familiar needs on a Debian/Ubuntu machine: a C toolchain for
# the bundled SQLite and whisper.cpp, and Rust through rustup when cargo is missing.
# Idempotent: it does nothing when everything is already there.
set -euo pipefail

# cmake builds whisper.cpp (speech to text); espeak-ng gives the voice its phonemes; libasound2-dev is
# ALSA for the sound devices (cpal).
# The desktop app (Tauri 2): WebKitGTK and friends; Xvfb and WebKitWebDriver run its end-to-end tests, and
# xdotool answers the system's file dialogs there.
packages=(build-essential pkg-config ca-certificates curl python3 python3-venv python3-pip cmake espeak-ng libasound2-dev
    libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev libsoup-3.0-dev
    libjavascriptcoregtk-4.1-dev patchelf xvfb xauth webkit2gtk-driver xdotool)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
    $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        echo "Rust is installed in ~/.cargo/bin; add it to PATH (source ~/.cargo/env) and run again." >&2
        exit 1
    fi
    echo "Installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
    echo "Rust installed: run 'source ~/.cargo/env' (or open a new shell), then run the command again." >&2
    exit 1
fi

# Node.js and npm: the contract compiler (solc-js) and the local chain (anvil) come from npm.
if ! command -v npm >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing Debian packages: nodejs npm"
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
    $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq nodejs npm
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
if ! cmp -s "$here/contracts/package-lock.json" "$here/contracts/node_modules/.familiar-lock" 2>/dev/null; then
    echo "Installing the contract toolchain (solc-js, OpenZeppelin, anvil) from npm"
    npm ci --prefix "$here/contracts" --no-audit --no-fund --loglevel=error
    cp "$here/contracts/package-lock.json" "$here/contracts/node_modules/.familiar-lock"
fi

# The desktop front end (Vite 8) needs Node.js 20.19 or newer.
node_have=$(node --version | tr -d v)
if [ "$(printf '%s\n%s\n' "20.19.0" "$node_have" | sort -V | head -n1)" != "20.19.0" ]; then
    echo "Node.js $node_have is older than 20.19, which the desktop front end needs: install a newer Node.js (e.g. from nodejs.org or NodeSource)." >&2
    exit 1
fi
if ! cmp -s "$here/ui/package-lock.json" "$here/ui/node_modules/.familiar-lock" 2>/dev/null; then
    echo "Installing the desktop front end's packages from npm"
    npm ci --prefix "$here/ui" --no-audit --no-fund --loglevel=error
    cp "$here/ui/package-lock.json" "$here/ui/node_modules/.familiar-lock"
fi

need="1.94"
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    echo "Rust $have is older than $need: run 'rustup update'." >&2
    exit 1
fi
