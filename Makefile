# orchestrate — a declarative daemon orchestrator for Linux.
# `make run` and `make test` work on a fresh clone: each installs what is missing first.

SWIFT ?= swift
BIN := .build/debug/orchestrate
EXAMPLE := examples/daemons.yaml

.PHONY: all setup build release install install-check test lint run bench bench-smoke bench-compare format schema docs \
	clean fuzz test-reliability custom-kind-check dashboard-check dashboard-screenshot venv test-tools imports-check api-spec api-exchanges-check api-check

all: build

# libyaml, the one system package. The tests' Python tools are `make venv`'s, which `make run` does not need.
setup:
	@if ! pkg-config --exists yaml-0.1 2>/dev/null; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "setup: installing libyaml-dev"; \
	        apt-get update -qq && apt-get install -y -qq libyaml-dev pkg-config >/dev/null; \
	    else \
	        echo "setup: libyaml is missing; install it with: sudo apt-get install libyaml-dev pkg-config" >&2; exit 1; \
	    fi; \
	fi

# The tests' Python tools, pinned in Tests/python-requirements.txt, in .build/venv rather than the system's Python;
# installed again when that file changes. Debian's python3 needs python3-venv for it, installed when missing.
VENV := .build/venv
VENV_PYTHON := $(CURDIR)/$(VENV)/bin/python
PYTHON_REQUIREMENTS := Tests/python-requirements.txt

venv: $(VENV)/installed.stamp

$(VENV)/installed.stamp: $(PYTHON_REQUIREMENTS)
	@if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "venv: installing python3-venv"; \
	        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	    else \
	        echo "venv: Python's venv module is missing; install it with: sudo apt-get install python3-venv" >&2; exit 1; \
	    fi; \
	fi
	@if [ ! -x $(VENV_PYTHON) ]; then echo "venv: making $(VENV)"; python3 -m venv $(VENV); fi
	@echo "venv: installing $(PYTHON_REQUIREMENTS) into $(VENV)"
	@$(VENV_PYTHON) -m pip install -q --disable-pip-version-check -r $(PYTHON_REQUIREMENTS)
	@touch $@

build: setup
	$(SWIFT) build

# The system tools the tests check the product with, from Debian's packages when missing: promtool (package
# prometheus) for the metrics' text format, tmux for `orchestrate top` in a real terminal, headless chromium and its
# driver for the dashboard.
TEST_TOOLS := promtool:prometheus tmux:tmux chromium:chromium chromedriver:chromium-driver

test-tools:
	@for pair in $(TEST_TOOLS); do \
	    tool=$${pair%%:*}; package=$${pair##*:}; \
	    command -v $$tool >/dev/null 2>&1 && continue; \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "test-tools: installing $$package (for $$tool)"; \
	        apt-get install -y -qq --no-install-recommends $$package >/dev/null 2>&1 || \
	            { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$package >/dev/null; } || exit 1; \
	    else \
	        echo "test-tools: $$tool is missing; install it with: sudo apt-get install $$package" >&2; exit 1; \
	    fi; \
	done

# The whole suite: the formatting check, the API description's check (`api-spec`), the unit and end-to-end tests with
# the built binary, their HTTP exchanges checked against the description (`api-exchanges-check`), Schemathesis against
# a live supervisor (`api-check`), the custom-kind example end to end, `make install` into a temporary folder
# (`install-check`), every benchmark section in quick form with the
# release binary (`make bench-smoke`; TEST_BENCH=0 skips it), then the reliability suite's fuzzers in bounded form:
# 45 s each (TEST_FUZZ_SECONDS=0 skips them). `.ci/run` runs exactly this.
TEST_BENCH ?= 1

test: setup venv test-tools lint imports-check api-spec
	$(SWIFT) build --build-tests
	rm -rf $(API_EXCHANGES)
	ORCHESTRATE_API_EXCHANGES=$(API_EXCHANGES) ORCHESTRATE_TEST_PYTHON=$(VENV_PYTHON) $(SWIFT) test --skip-build
	$(MAKE) --no-print-directory api-exchanges-check
	$(MAKE) --no-print-directory api-check
	$(MAKE) --no-print-directory custom-kind-check
	$(MAKE) --no-print-directory dashboard-check
	$(MAKE) --no-print-directory install-check
	@if [ "$(TEST_BENCH)" != 0 ]; then $(MAKE) --no-print-directory bench-smoke; fi
	@if [ "$(TEST_FUZZ_SECONDS)" != 0 ]; then $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS); fi

# The HTTP APIs' description, schemas/control-api.openapi.yaml, kept true three ways: openapi-spec-validator checks
# the file (`api-spec`); the exchanges the end-to-end tests recorded in API_EXCHANGES must match it
# (`api-exchanges-check`); Schemathesis fuzzes a live supervisor against it (`api-check`, Tests/api/run_schemathesis.py:
# API_CHECK_SECONDS for each of its two runs, API_CHECK_SEED to repeat one; reports in .build/api-check/).
API_SPEC := schemas/control-api.openapi.yaml
API_EXCHANGES := $(CURDIR)/.build/api-exchanges
API_CHECK_SECONDS ?= 45
API_CHECK_EXAMPLES ?= 20
API_CHECK_SEED ?=

api-spec: venv
	$(VENV)/bin/openapi-spec-validator $(API_SPEC)

api-exchanges-check: venv
	$(VENV_PYTHON) Tests/api/check_exchanges.py $(API_SPEC) $(API_EXCHANGES)

api-check: venv
	$(SWIFT) build --build-tests
	$(VENV_PYTHON) Tests/api/run_schemathesis.py --binary $(BIN) --spec $(API_SPEC) --report-dir .build/api-check \
	    --max-time $(API_CHECK_SECONDS) --examples $(API_CHECK_EXAMPLES) $(if $(API_CHECK_SEED),--seed $(API_CHECK_SEED))

# A kind of daemon from outside (examples/custom-kind): a package that depends on this one, adds the http-check kind
# and builds its own orchestrate (`orchestrate-custom`), checked end to end by its check.sh.
# The dashboard in a real browser (Tests/dashboard/check_dashboard.py): headless chromium through selenium against a
# supervisor of the debug binary. `make dashboard-screenshot` also writes docs/dashboard.png.
dashboard-check: venv test-tools build
	$(VENV_PYTHON) Tests/dashboard/check_dashboard.py --binary $(BIN) --screenshot .build/dashboard.png

dashboard-screenshot: venv test-tools build
	$(VENV_PYTHON) Tests/dashboard/check_dashboard.py --binary $(BIN) --screenshot docs/dashboard.png

custom-kind-check: setup venv
	$(SWIFT) build --package-path examples/custom-kind
	ORCHESTRATE_TEST_PYTHON=$(VENV_PYTHON) examples/custom-kind/check.sh

# `make install` into a temporary PREFIX, checked (Tests/install-check.sh): the man pages render with man -l, the
# completion scripts load in bash, zsh and fish (the shells are installed with apt when missing and possible), and
# the systemd unit in examples/systemd passes systemd-analyze verify.
install-check: setup
	@for shell in zsh fish; do \
	    if ! command -v $$shell >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "install-check: installing $$shell"; \
	        apt-get install -y -qq $$shell >/dev/null 2>&1 || \
	            { apt-get update -qq && apt-get install -y -qq $$shell >/dev/null; } || true; \
	    fi; \
	done
	Tests/install-check.sh

# Runs the bundled example in the foreground (Ctrl-C stops it). Its rpc daemon takes its API key from
# CORE_API_KEY: a development key unless one is set.
run: build
	$(BIN) -f $(EXAMPLE) validate
	CORE_API_KEY="$${CORE_API_KEY:-dev-key}" $(BIN) -f $(EXAMPLE) up

# The binary to install: optimized, with the Swift runtime and FoundationEssentials linked in (no libswiftCore.so to load at
# each start, which halves the start-up time of every command), in .build/release/. Only the product is built: the
# test-support target (Tests/OrchestrateTesting) imports Testing, which a release build without tests cannot find.
release: setup
	$(SWIFT) build -c release --static-swift-stdlib --product orchestrate

# Installs the release binary, its man pages and its shell completions under PREFIX (docs/cli.md): bin/orchestrate,
# share/man/man1/orchestrate*.1, and the bash, zsh and fish completions in the folders those shells read. The man
# pages come from swift-argument-parser's generate-manual plugin (one page for each command, dated by the last commit),
# run on a debug build (the pages are the same, and a plugin's release build would replace the static binary); the
# plugin writes mdoc with blank lines between paragraphs, which become `.Pp` so that man renders them without
# warnings. The hidden `reference` command, which writes the manual's generated blocks, gets no page.
PREFIX ?= /usr/local
MANUAL_DATE = $(shell git log -1 --format=%cs 2>/dev/null || date +%F)

install: release build
	$(SWIFT) package generate-manual --configuration debug --multi-page --date $(MANUAL_DATE)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 .build/release/orchestrate $(DESTDIR)$(PREFIX)/bin/orchestrate
	@for page in .build/plugins/GenerateManual/outputs/orchestrate/orchestrate*.1; do \
	    case "$$page" in *.reference.1) continue ;; esac; \
	    sed 's/^$$/.Pp/' "$$page" > $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename "$$page") || exit 1; \
	done
	.build/release/orchestrate --generate-completion-script bash \
	    > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/orchestrate
	.build/release/orchestrate --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_orchestrate
	.build/release/orchestrate --generate-completion-script fish \
	    > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/orchestrate.fish
	@echo "installed orchestrate, its man pages and completions under $(DESTDIR)$(PREFIX)"

# The benchmarks (benchmarks/README.md), about 6 minutes; BENCH_ARGS goes to benchmarks/run.py (e.g. "--only process").
# The peers are installed when missing: with apt, or with pip into .build/bench-venv (never the system's Python).
BENCH_ARGS ?=

bench: release
	python3 benchmarks/run.py --binary .build/release/orchestrate $(BENCH_ARGS)

# Every section with a few runs, daemons, files and seconds each (about a minute once the peers are installed): exits
# non-zero when a scenario breaks. Its figures are not for comparing; they go to .build/bench-quick/.
bench-smoke: release
	python3 benchmarks/run.py --binary .build/release/orchestrate --quick $(BENCH_ARGS)

# The benchmarks of this tree's binary beside the binary of BASELINE_REV (default: the commit before HEAD), both
# measured in the same run (orchestrate's scenarios; the peers once). The baseline's sources are BASELINE_REV's files
# (git archive) in .build/baseline-src, built in .build/baseline-build (kept between runs, so that the dependencies
# are built once). BENCH_ARGS="--quick" checks the comparison itself in a minute.
BASELINE_REV ?= HEAD~1

bench-compare: release
	rm -rf .build/baseline-src .build/baseline-src.tar && mkdir -p .build/baseline-src
	git archive --output=.build/baseline-src.tar "$$(git rev-parse --verify '$(BASELINE_REV)^{commit}')"
	tar -x -f .build/baseline-src.tar -C .build/baseline-src
	$(SWIFT) build -c release --static-swift-stdlib --product orchestrate --package-path .build/baseline-src \
	    --scratch-path .build/baseline-build
	python3 benchmarks/run.py --binary .build/release/orchestrate --label "$$(git describe --always --dirty)" \
	    --baseline-binary .build/baseline-build/release/orchestrate --baseline-label '$(BASELINE_REV)' $(BENCH_ARGS)

# libFuzzer over the manifest loader, interpolation and globs (Fuzz/): each fuzzer runs FUZZ_SECONDS from the seeds in
# Fuzz/corpus/NAME plus what earlier runs found (.build/fuzz-corpus/NAME). A crash, hang or leak stops the run and
# leaves its input in Fuzz/crashes/; add it to Fuzz/corpus/NAME so the test suite replays it from then on. Leak
# detection is off here: LeakSanitizer counts what Swift's lazily made globals hold as leaked; memory growth is
# measured by the benchmarks' leak scenarios instead.
FUZZ_SECONDS ?= 600
TEST_FUZZ_SECONDS ?= 45
FUZZERS := manifest:FuzzManifest interpolation:FuzzInterpolation glob:FuzzGlob

fuzz: setup
	cd Fuzz && $(SWIFT) build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@mkdir -p Fuzz/crashes
	@set -e; for pair in $(FUZZERS); do \
	    name=$${pair%%:*}; binary=$${pair##*:}; \
	    mkdir -p .build/fuzz-corpus/$$name; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/debug/$$binary -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
	        -artifact_prefix=Fuzz/crashes/$$name- .build/fuzz-corpus/$$name Fuzz/corpus/$$name 2>&1 \
	        | grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|==[0-9]+==|SUMMARY|Test unit written)' || true; \
	    if ls Fuzz/crashes/$$name-* >/dev/null 2>&1; then echo "fuzz: $$name found a failure, see Fuzz/crashes/" >&2; exit 1; fi; \
	done

# The reliability suite: the fuzzers (FUZZ_SECONDS each, 10 minutes unless told otherwise), the fault and
# security tests with the built binary, Schemathesis against a live supervisor for longer (RELIABILITY_API_SECONDS
# each for the rpc and the control run, up to RELIABILITY_API_EXAMPLES test cases per operation and phase), and the
# unit tests under AddressSanitizer and LeakSanitizer (their own build in .build-asan; the end-to-end tests are left
# out there, as each run of an instrumented binary reports the Swift runtime's own allocations at exit). LSAN
# suppressions: Tests/lsan.supp.
RELIABILITY_API_SECONDS ?= 300
RELIABILITY_API_EXAMPLES ?= 200

test-reliability: fuzz
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter 'FaultEndToEndTests|SecurityEndToEndTests|ProcessEndToEndTests'
	$(MAKE) --no-print-directory api-check API_CHECK_SECONDS=$(RELIABILITY_API_SECONDS) \
	    API_CHECK_EXAMPLES=$(RELIABILITY_API_EXAMPLES)
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/lsan.supp:print_suppressions=0 \
	    $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --skip 'EndToEndTests\.'

# The formatting check a review would make: swift format's lint with the project's .swift-format, warnings as errors.
lint:
	$(SWIFT) format lint --strict --parallel --recursive Package.swift Sources Tests Fuzz/Sources examples/custom-kind/Sources

# The product's modules import FoundationEssentials (or nothing), never the whole of Foundation, which would link
# libFoundation, libFoundationInternationalization and ICU into every command (the tests may import it).
imports-check:
	@if grep -rn --include='*.swift' -E '^[[:space:]]*(@_exported )?import Foundation([[:space:]]|$$)' Sources; then \
	    echo "imports-check: the lines above import Foundation into the product; import FoundationEssentials" >&2; \
	    exit 1; \
	fi

format:
	$(SWIFT) format --in-place --parallel --recursive Package.swift Sources Tests Fuzz/Sources examples/custom-kind/Sources

# Regenerates schemas/daemons.schema.json from the model (a test keeps the two equal).
schema: build
	$(BIN) schema > schemas/daemons.schema.json

# Regenerates the generated blocks of the manual (docs/manifest.md's field tables from the model, docs/cli.md's
# commands from their definitions), keeping the hand-written text around them (a test keeps the committed pages equal
# to this output).
docs: build
	@for page in manifest cli; do \
	    $(BIN) reference docs/$$page.md > .build/$$page.md && mv .build/$$page.md docs/$$page.md || exit 1; \
	done

clean:
	rm -rf .build examples/custom-kind/.build
