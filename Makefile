# Familiar — two commands:
#   make run    install what the project needs, build, and run it on the embedded defaults
#   make test   run every check and test (what CI runs)

SHELL := /bin/bash
# Keep the cargo target folder outside the clone when we can, so repeated runs are incremental.
export CARGO_TARGET_DIR ?= $(shell if [ -w /var/cache ] || [ -w /var/cache/familiar ]; then echo /var/cache/familiar/target; else echo $(HOME)/.cache/familiar/target; fi)
FAMILIAR := $(CARGO_TARGET_DIR)/debug/familiar

.PHONY: run test deps build

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

build:
	cargo build --locked
