#!/usr/bin/env bash
# A Python virtual environment for the tests that drive Familiar with real
# clients (the official `openai` package), outside the clone. Prints its python.
set -euo pipefail
venv="${FAMILIAR_TEST_VENV:-}"
if [ -z "$venv" ]; then
    if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then venv=/var/cache/familiar/test-venv; else venv="$HOME/.cache/familiar/test-venv"; fi
fi
if ! "$venv/bin/python" -c "import openai" >/dev/null 2>&1; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet "openai==2.8.1" >&2
fi
echo "$venv/bin/python"
