# orchestrate — a declarative daemon orchestrator for Linux.
# `make run` and `make test` work on a fresh clone: each installs what is missing first.

SWIFT ?= swift
BIN := .build/debug/orchestrate
EXAMPLE := examples/daemons.yaml

.PHONY: all setup build release test run bench format schema clean

all: build

# libyaml (the one system package) and Python's jsonschema (used by the tests to check the schema).
setup:
	@if ! pkg-config --exists yaml-0.1 2>/dev/null; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "setup: installing libyaml-dev"; \
	        apt-get update -qq && apt-get install -y -qq libyaml-dev pkg-config >/dev/null; \
	    else \
	        echo "setup: libyaml is missing; install it with: sudo apt-get install libyaml-dev pkg-config" >&2; exit 1; \
	    fi; \
	fi
	@if ! python3 -c 'import jsonschema' >/dev/null 2>&1; then \
	    echo "setup: installing the Python jsonschema package"; \
	    python3 -m pip install -q jsonschema || { echo "setup: install it with: python3 -m pip install jsonschema" >&2; exit 1; }; \
	fi

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Runs the bundled example in the foreground (Ctrl-C stops it). Its rpc daemon takes its API key from
# CORE_API_KEY: a development key unless one is set.
run: build
	$(BIN) -f $(EXAMPLE) validate
	CORE_API_KEY="$${CORE_API_KEY:-dev-key}" $(BIN) -f $(EXAMPLE) up

# The binary to install: optimized, with the Swift runtime and Foundation linked in (no libswiftCore.so to load at
# each start, which halves the start-up time of every command), in .build/release/.
release: setup
	$(SWIFT) build -c release --static-swift-stdlib

bench: release
	python3 benchmarks/run.py --binary .build/release/orchestrate

format:
	$(SWIFT) format --in-place --parallel --recursive Package.swift Sources Tests

# Regenerates schemas/daemons.schema.json from the model (a test keeps the two equal).
schema: build
	$(BIN) schema > schemas/daemons.schema.json

clean:
	rm -rf .build
