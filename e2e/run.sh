#!/usr/bin/env bash
# The end-to-end journeys of the real desktop app (see e2e/README.md):
#   1. builds the UI and the debug app with the UI embedded, and the `familiar` CLI
#   2. installs tauri-driver once, outside the clone
#   3. starts Xvfb on a free display
#   4. runs each journey (journeys/*.test.mjs, Node's test runner, one at a time): each opens the
#      app on a fresh data folder prepared by `familiar setup` and drives it through tauri-driver
#      and WebKitWebDriver; the screenshots land in docs/screenshots/
# Arguments go to `node --test` (e.g. a journey's file, or --test-name-pattern=…).
#   E2E_NO_BUILD=1   reuse what is built (the Makefile's `test` has just built the UI)
#   E2E_KEEP=1       keep each journey's data folder
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then export CARGO_TARGET_DIR=/var/cache/familiar/target
    else export CARGO_TARGET_DIR="$HOME/.cache/familiar/target"; fi
fi
tools="${FAMILIAR_TOOLS:-$(dirname "$CARGO_TARGET_DIR")/tools}"
TAURI_DRIVER_VERSION=2.1.0
started=$SECONDS

# 1. What the journeys run: the debug app with ui/dist embedded (the default custom-protocol feature)
#    and served as tauri://localhost, the build make run and make test use too.
if [ -z "${E2E_NO_BUILD:-}" ]; then
    npm --prefix "$root/ui" run build --silent >/dev/null
fi
cargo build --locked -p familiar-desktop
cargo build --locked --bin familiar

# 2. tauri-driver, once per machine (cargo install skips it when this version is there).
if ! [ -x "$tools/bin/tauri-driver" ] || ! grep -qs "tauri-driver $TAURI_DRIVER_VERSION " "$tools/.crates.toml"; then
    env -u CARGO_TARGET_DIR cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION" --root "$tools"
fi
export TAURI_DRIVER="$tools/bin/tauri-driver"

"$here/install.sh"

# 3. A virtual screen of the window's size, on the first free display.
displayfile="$(mktemp)"
Xvfb -displayfd 3 -screen 0 1280x820x24 -nolisten tcp 3>"$displayfile" >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -f "$displayfile"' EXIT
for _ in $(seq 300); do [ -s "$displayfile" ] && break; sleep 0.1; done
[ -s "$displayfile" ] || { echo "e2e: Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(tr -d '[:space:]' <"$displayfile")"

# 4. The journeys, one at a time (each has its own app, driver and data folder).
echo "e2e: built in $((SECONDS - started)) s; journeys on display $DISPLAY"
args=()
for arg in "$@"; do
    if [ -e "$arg" ]; then args+=("$(realpath "$arg")");       # a journey named from the caller's folder
    elif [ -e "$here/$arg" ]; then args+=("$here/$arg");        # or from e2e/
    else args+=("$arg"); fi
done
if ! printf '%s\n' "${args[@]}" | grep -q '\.mjs$'; then args+=("$here"/journeys/*.test.mjs); fi
cd "$here"
status=0
node --test --test-concurrency=1 --test-timeout=900000 --test-reporter=spec "${args[@]}" || status=$?
echo "e2e: done in $((SECONDS - started)) s"
exit $status
