# hookgate: the two commands a newcomer needs.
#   make run   install what is missing, build, start the demo (gateway + sample receiver)
#   make test  the same set-up plus the services tests use, then every test and lint
#   make bench hookgate side by side with nginx, nginx+njs and a minimal pingora proxy
#              (BENCH_QUICK=1 for a short smoke run; README "Benchmarks")
#   make fuzz  each fuzz target for FUZZ_SECONDS from its committed corpus (nightly; see tests/fuzz/README.md)
#   make vectors  regenerate tests/fixtures/{sdk,derived}-vectors.json with the providers' own SDKs
#              (Python venv + npm; `make test` only reads the committed fixtures)
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= conf/hookgate.toml
BUILD_PKGS := cmake
# util-linux: prlimit, which the durable tests use to simulate a full disk
# (essential on Debian today; listed so a slimmer image still gets it).
TEST_PKGS := redis-server prometheus util-linux
BENCH_PKGS := nginx-light libnginx-mod-http-js wrk redis-server openssl python3
# Open-loop load generator (wrk2 is not packaged by Debian); pinned for repeatable runs.
OHA_VERSION := 1.16.0

.PHONY: run test build deps test-deps lint check bench bench-deps bench-micro certs fuzz vectors

# Install Debian packages that are missing: via apt-get when root, otherwise say what to run.
define ensure_pkgs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing packages:$$missing"; echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call ensure_pkgs,$(BUILD_PKGS))

test-deps: deps
	$(call ensure_pkgs,$(TEST_PKGS))

build: deps
	$(CARGO) build --release --locked

check: build
	./target/release/hookgate check -c $(CONFIG)

# The demo: a sample receiver on 127.0.0.1:3000 and hookgate on 127.0.0.1:8080 (admin :9901).
certs: build
	@[ -f certs/ca.pem ] || ./target/release/hookgate certs dev --out certs >/dev/null

run: build certs
	@./target/release/hookgate check -c $(CONFIG)
	@./target/release/hookgate echo --listen 127.0.0.1:3000 & echo_pid=$$!; \
	trap 'kill $$echo_pid 2>/dev/null' EXIT INT TERM; \
	echo; echo "hookgate demo: try in another shell"; \
	echo "  ./target/release/hookgate sign -c $(CONFIG) --route demo --body conf/demo-event.json --format curl | sh   # signed: forwarded"; \
	echo "  curl -i -X POST --data-binary @conf/demo-event.json http://127.0.0.1:8080/hooks/demo   # unsigned: 401"; \
	echo "  curl -i --cacert certs/ca.pem --cert certs/sender-a.pem --key certs/sender-a.key -d '{}' https://localhost:8443/hooks/partner   # mTLS: forwarded"; \
	echo "  curl -i --cacert certs/ca.pem --cert certs/sender-b.pem --key certs/sender-b.key -d '{}' https://localhost:8443/hooks/partner   # 403"; \
	echo "  curl -s http://127.0.0.1:9901/metrics | grep hookgate_requests_total"; echo; \
	./target/release/hookgate run -c $(CONFIG)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

test: test-deps lint
	$(CARGO) build --locked --all-targets
	$(CARGO) test --locked --all-targets

bench-deps: deps
	$(call ensure_pkgs,$(BENCH_PKGS))
	@command -v oha >/dev/null || [ -x "$${CARGO_HOME:-$$HOME/.cargo}/bin/oha" ] || \
	  $(CARGO) install oha --locked --version $(OHA_VERSION)

# Every target of issues 10 and 11 in one run; prints a table, writes benches/RESULTS.md.
bench: bench-deps
	$(CARGO) build --release --locked --bin hookgate --example minimal_proxy --example replay_rss --example tls_connect
	python3 benches/bench.py

# criterion micro-benchmarks (verification, routing, IP lists, config load, replay store).
bench-micro:
	$(CARGO) bench --locked

# Fuzzing needs nightly Rust and cargo-fuzz (installed from crates.io when
# missing). New inputs go to tests/fuzz/work/ (not committed); crashes to
# tests/fuzz/artifacts/: add a fixed crash to tests/fuzz/corpus/<target>/.
# Leak detection is on: a reload that leaks is a finding.
FUZZ_SECONDS ?= 60
FUZZ := $(CARGO) +nightly fuzz
fuzz:
	@rustup toolchain list | grep -q '^nightly' || { echo "fuzzing needs a nightly toolchain: rustup toolchain install nightly"; exit 1; }
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@set -e; for t in $$($(FUZZ) list --fuzz-dir tests/fuzz); do \
	  mkdir -p tests/fuzz/work/$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ) run --fuzz-dir tests/fuzz $$t tests/fuzz/work/$$t tests/fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096; \
	done

# Providers' own SDKs (PyPI into a local venv, npm into tests/vectors/node_modules,
# both gitignored) sign a set of bodies into the committed fixture that
# `make test` checks every preset against (CI needs no Python SDK).
VECTORS_VENV ?= tests/vectors/.venv
vectors:
	python3 -m venv $(VECTORS_VENV)
	$(VECTORS_VENV)/bin/pip install -q -r tests/vectors/requirements.txt
	$(VECTORS_VENV)/bin/python tests/vectors/sign.py tests/fixtures/sdk-vectors.json
	python3 tests/vectors/derive.py tests/fixtures/rows.json tests/fixtures/derived-vectors.json
	cd tests/vectors && npm install --silent --no-audit --no-fund && node sign.mjs ../fixtures/sdk-vectors.json
	$(CARGO) build --locked
	$(VECTORS_VENV)/bin/python tests/vectors/check_sign.py target/debug/hookgate
	$(CARGO) test --lib verify::tests::vectors
