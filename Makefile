# Familiar — two commands:
#   make run    install what the project needs, build, and run it on the embedded defaults
#   make test   run every check and test (what CI runs)

SHELL := /bin/bash
# Keep the cargo target folder outside the clone when we can, so repeated runs are incremental.
export CARGO_TARGET_DIR ?= $(shell if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then echo /var/cache/familiar/target; else echo $(HOME)/.cache/familiar/target; fi)
FAMILIAR := $(CARGO_TARGET_DIR)/debug/familiar
STUDIO := $(CARGO_TARGET_DIR)/debug/familiar-studio

BENCH_VENV ?= $(dir $(CARGO_TARGET_DIR))bench-venv
MODEL_CACHE ?= $(shell scripts/fetch-models.sh 2>/dev/null || echo /var/cache/familiar/models)

.PHONY: run test deps build bench deb

# Sets up the data folder (sample agents, the bundled models, the sample knowledge base), then opens the
# desktop studio; without a display (a terminal over SSH), a chat with Lena in the terminal instead.
run: deps build
	$(FAMILIAR) setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(STUDIO); else \
		echo "No display: the desktop studio needs one. Chatting with Lena in the terminal instead (Ctrl-D ends)."; \
		$(FAMILIAR) chat lena; fi

# Last, the end-to-end journeys of the desktop app under Xvfb (e2e/README.md), on the UI built above.
test: deps
	node contracts/compile.js --check
	npm --prefix ui run check
	npm --prefix ui test
	npm --prefix ui run build
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked
	E2E_NO_BUILD=1 e2e/run.sh

deps:
	@scripts/install-deps.sh
	@scripts/whisper-cpp-fresh.sh
	@scripts/fetch-models.sh >/dev/null
	@scripts/test-venv.sh >/dev/null

build:
	npm --prefix ui run build
	cargo build --locked --workspace --bins

# The desktop studio's .deb for other machines (release; whisper.cpp built for x86-64-v3, not this CPU),
# with the Tauri CLI pinned in e2e/package.json; prints its path.
deb: deps
	@scripts/build-deb.sh

# Side by side with the peers, in BENCH_VENV (llama-cpp-python built from source once; sentence-transformers
# with PyPI's torch, sqlite-vec, hnswlib), speech to text against faster-whisper, text to speech against
# piper-tts, the voice round trip against those three back to back, and gas on anvil against
# OpenZeppelin's ERC721URIStorage and ERC721A; the desktop app (release .deb) against a Tauri hello world and
# Debian's Chromium showing the same UI; rewrites BENCHMARKS.md.
bench: deps build
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c "import llama_cpp, numpy" 2>/dev/null || $(BENCH_VENV)/bin/pip install --quiet llama-cpp-python==0.3.16 numpy
	@$(BENCH_VENV)/bin/python -c "import sentence_transformers, sqlite_vec, hnswlib, pysqlite3" 2>/dev/null || \
		$(BENCH_VENV)/bin/pip install --quiet sentence-transformers==5.1.2 sqlite-vec==0.1.9 hnswlib==0.8.0 pysqlite3-binary==0.5.4.post2
	cargo build --locked -p familiar-infer --example bench --example embed_bench --example vector_bench
	$(BENCH_VENV)/bin/python scripts/bench.py $(CARGO_TARGET_DIR)/debug/examples/bench $(MODEL_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf 2 5
	$(BENCH_VENV)/bin/python scripts/bench_knowledge.py $(CARGO_TARGET_DIR) $(MODEL_CACHE)/all-MiniLM-L6-v2 2
	@$(BENCH_VENV)/bin/python -c "import faster_whisper, piper" 2>/dev/null || $(BENCH_VENV)/bin/pip install --quiet faster-whisper==1.2.1 piper-tts==1.3.0
	cargo build --locked -p familiar-voice --example stt_bench --example tts_bench
	cargo build --locked --example round_trip
	FAMILIAR_HOME=$(dir $(CARGO_TARGET_DIR))bench/home $(FAMILIAR) setup >/dev/null
	$(BENCH_VENV)/bin/python scripts/bench_voice.py $(CARGO_TARGET_DIR) $(MODEL_CACHE)/whisper-tiny.en-ct2 $(dir $(CARGO_TARGET_DIR))bench/home/models/speech/ggml-tiny.en-q8_0.bin $(MODEL_CACHE)/piper/en_US-joe-medium.onnx $(MODEL_CACHE)/onnxruntime/libonnxruntime.so $(MODEL_CACHE)/SmolLM2-135M-Instruct.Q4_1.gguf 2
	cargo run --locked -q -p familiar-chain --example gas -- --write BENCHMARKS.md
	scripts/bench_desktop.sh
