# Familiar — two commands:
#   make run    install what the project needs, build, and run it on the embedded defaults
#   make test   run every check and test (what CI runs)

SHELL := /bin/bash
# Keep the cargo target folder outside the clone when we can, so repeated runs are incremental.
export CARGO_TARGET_DIR ?= $(shell if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then echo /var/cache/familiar/target; else echo $(HOME)/.cache/familiar/target; fi)
FAMILIAR := $(CARGO_TARGET_DIR)/debug/familiar

BENCH_VENV ?= $(dir $(CARGO_TARGET_DIR))bench-venv
MODEL_CACHE ?= $(shell scripts/fetch-models.sh 2>/dev/null || echo /var/cache/familiar/models)

.PHONY: run test deps build bench

# Sets up the data folder (sample agents, the bundled model), then opens a chat with Lena.
run: deps build
	$(FAMILIAR) setup
	$(FAMILIAR) chat lena

test: deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked

deps:
	@scripts/install-deps.sh
	@scripts/fetch-models.sh >/dev/null
	@scripts/test-venv.sh >/dev/null

build:
	cargo build --locked

# Side by side with llama.cpp (llama-cpp-python, built from source once into BENCH_VENV); rewrites BENCHMARKS.md.
bench: deps
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import llama_cpp, numpy" 2>/dev/null || $(BENCH_VENV)/bin/pip install --quiet llama-cpp-python==0.3.16 numpy
	cargo build --locked -p familiar-infer --example bench
	$(BENCH_VENV)/bin/python scripts/bench.py $(CARGO_TARGET_DIR)/debug/examples/bench $(MODEL_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf 2 5
