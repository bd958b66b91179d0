# edge-funnel — the two commands are `make dev` and `make test`.
# Both install what is missing (Rust wasm target, wasm-bindgen-cli, worker-build,
# npm packages incl. wrangler and Node 22) and are fast when nothing changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8787
HANDLE ?= demo
ROLE ?= OWNER

CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CURDIR)/node_modules/.bin:$(CARGO_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
export WRANGLER_HIDE_BANNER := true
export CLOUDFLARE_CF_FETCH_ENABLED := false
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild

WASM_BINDGEN_VERSION := 0.2.130
WORKER_BUILD_VERSION := 0.8.7
WASM := build/index_bg.wasm
SOURCES := $(shell find src -name '*.rs' -o -name '*.js') Cargo.toml Cargo.lock

.PHONY: help tools browser wrk schemathesis bench-smoke bench-soak dev test test-unit test-e2e test-mcp test-browser test-api build token dry-run bench fuzz fmt clean check lint

## Every target with a `##` line above it, listed by `make help`.
help:
	@echo "The two commands: make dev (run it locally), make test (everything CI runs). All targets:"
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z][a-z0-9-]*:/{if(doc!=""){split($$0,t,":"); printf "  make %-12s %s\n", t[1], doc}; doc=""; next} {doc=""}' $(MAKEFILE_LIST)

## Install the toolchain: each step runs only when its tool is missing or the wrong version.
tools: node_modules/.installed
	@rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@{ cargo clippy --version && cargo fmt --version; } >/dev/null 2>&1 || rustup component add clippy rustfmt
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || cargo install wasm-bindgen-cli --version =$(WASM_BINDGEN_VERSION)
	@worker-build --version 2>/dev/null | grep -q "$(WORKER_BUILD_VERSION)" || cargo install worker-build --version =$(WORKER_BUILD_VERSION) --locked

## Install headless Chromium for the browser test (Debian package; never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Install wrk (Debian package) for the benchmarks.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

SCHEMATHESIS_VERSION := 4.32.5
VENV := .tools/venv
## Install Schemathesis (PyPI, pinned) into .tools/venv for `make test-api`.
schemathesis:
	@$(VENV)/bin/schemathesis --version 2>/dev/null | grep -q "$(SCHEMATHESIS_VERSION)" || \
		{ { python3 -m venv $(VENV) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null && python3 -m venv $(VENV); }; } && \
		  $(VENV)/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION); }

# The npm packages (wrangler, Node 22, binaryen, esbuild, playwright-core, …).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## Build the Worker bundle (build/index.js + index_bg.wasm).
build: tools $(WASM)

# worker-build's own wasm-opt pass keeps the 200 KB `name` section; we run
# wasm-opt ourselves and strip debug info/names (Cargo's `strip = true` would
# break wasm-bindgen, stripping after it is safe). -O1, not -Oz: what is
# uploaded is gzipped, and -O2/-Os/-Oz make the gzipped module ~23 KB larger
# than -O1 does (measured: bench/README.md "Bundle size"). --dae-optimizing,
# --code-folding and --converge on top of -O1: another −4.7 KB gzipped (2026-12-07).
WASM_OPT_FLAGS := -O1 --dae-optimizing --code-folding --converge --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
	--enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-exception-handling

$(WASM): $(SOURCES) src/edge/mcp_tools.json
	worker-build --release --no-opt
	wasm-opt $(WASM_OPT_FLAGS) $@ -o $@.opt && mv $@.opt $@
	@touch $@

.dev.vars:
	@echo "JWT_SECRET=$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > .dev.vars
	@echo "ALLOW_HTTP_WEBHOOKS=1" >> .dev.vars
	@echo "DEV_SIGN_IN=1" >> .dev.vars
	@echo "created .dev.vars with a random development JWT_SECRET"

# Builds, applies D1 migrations to the local state in .wrangler/, prints an
# OWNER token for handle `demo`, and serves on 127.0.0.1:$(PORT).
## Build and run everything locally on 127.0.0.1:8787 (PORT=… to change).
dev: build .dev.vars
	@wrangler d1 migrations apply DB --local >/dev/null
	@node scripts/dev-banner.mjs $(PORT)
	wrangler dev --ip 127.0.0.1 --port $(PORT) --local --show-interactive-dev-session=false

## Mint a development JWT (HANDLE=demo ROLE=OWNER).
token: .dev.vars node_modules/.installed
	@node scripts/token.mjs --handle $(HANDLE) --role $(ROLE)

## The pure core's unit and property tests (native cargo test).
test-unit:
	cargo test --lib --test fuzz_parsers

# FUZZ_CASES per property, release build.
FUZZ_CASES ?= 200000
## Long property-based fuzzing of every core parser (FUZZ_CASES=200000).
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) cargo test --release --test fuzz_parsers -- --test-threads=1 --nocapture 2>&1 | tee fuzz-results.log

## The end-to-end suites, each against its own `wrangler dev`.
test-e2e: build
	node --test --test-concurrency=1 --test-reporter=spec 'tests/e2e/**/*.test.mjs'

## The dashboard in headless Chromium (screenshots in test-artifacts/).
test-browser: build browser
	node --test --test-concurrency=1 --test-reporter=spec 'tests/browser/*.test.mjs'

## Fuzz a fresh Worker from GET /openapi.json with Schemathesis: no 5xx, every response as documented.
test-api: build schemathesis
	node scripts/schemathesis.mjs

## `wrangler deploy --dry-run` of the built bundle.
dry-run: build
	@rm -rf build/dry-run
	wrangler deploy --dry-run --outdir build/dry-run
	@ls -l build/dry-run

## Everything CI runs: check, unit, end-to-end, MCP conformance, browser, API fuzzing, dry run, bench smoke.
test: tools check test-unit test-e2e test-mcp test-browser test-api dry-run bench-smoke

## The official MCP conformance suite (server mode) on the scenarios that apply to our tools-only server.
test-mcp: build
	node tests/mcp/conformance.mjs

JS_FILES := $(shell find src static scripts bench tests -name '*.js' -o -name '*.mjs' | grep -v node_modules)

## Static checks: rustfmt, clippy (native and wasm32, warnings denied), every JS file parses, no import cycle in src/edge.
check: tools
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
	@for f in $(JS_FILES); do node --experimental-default-type=module --check "$$f" || { echo "JS syntax error: $$f"; exit 1; }; done
	@echo "$(words $(JS_FILES)) JS files parse"
	node scripts/check-imports.mjs

## Same as check.
lint: check

## The benchmarks (bench/README.md): results in bench/results.md.
bench: build wrk
	cargo bench --bench redirect
	node bench/run.mjs

## Soak: steady mixed traffic for BENCH_SOAK_MINUTES (default 20) — workerd RSS, p50 over time, events lost.
bench-soak: build
	BENCH_SOAK_MINUTES="$(BENCH_SOAK_MINUTES)" node bench/run.mjs --only soak

## The bench harness on a tiny input (part of make test; asserts no timing).
bench-smoke: build wrk
	node bench/run.mjs --smoke

## Format the Rust code.
fmt:
	cargo fmt

## Remove build output and local state.
clean:
	rm -rf build target/wasm32-unknown-unknown .wrangler
