#!/usr/bin/env bash
# Installs the end-to-end suite's npm packages (the WebDriver client, and the Tauri CLI that builds the
# .deb) from e2e/package-lock.json, once per change of the lock file. Used by e2e/run.sh and
# scripts/build-deb.sh; npm's output goes to stderr (build-deb.sh prints the .deb's path on stdout).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.familiar-lock" 2>/dev/null; then
    # --ignore-scripts: webdriverio's optional browser-driver packages would download drivers; tauri-driver is ours.
    npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
    cp "$here/package-lock.json" "$here/node_modules/.familiar-lock"
fi
