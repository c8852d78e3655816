# AccessGateway — the two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SHARED ?= $(abspath ../shared)
# Release builds (bench, load, deb) link the Swift runtime statically, as the package ships it:
# one build serves all three, and the benchmarks time the binary that installers get.
RELEASE := -c release --static-swift-stdlib
export AG_SHARED := $(SHARED)

.PHONY: all deps build test unit api-contract hwtest test-trixie hwtest-trixie demo bench format clean deb deb-trixie fuzz load

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The whole test suite: Debian 12 (the host) — the unit and integration tests, the API contract
## (schemathesis against the reference HQ), then the hardware
## stage under qemu on Debian 12's kernel with libgpiod v1 — then Debian 13 in a trixie root: the
## same build and tests against its libraries, then the hardware stage on Debian 13's kernel with
## libgpiod v2. Each phase prints its time; each stage prints "STAGE: N tests (minimum M)" after its
## summary and fails below the minimum in Tests/stage-minimums (scripts/counted-stage.sh).
test:
	@start=$$(date +%s); scripts/install-deps.sh || exit 1; echo "== phase deps: $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory api-contract
	$(MAKE) --no-print-directory hwtest
	$(MAKE) --no-print-directory test-trixie
	$(MAKE) --no-print-directory hwtest-trixie

## One debug build, then Swift Testing twice, each run ending on its summary line: the unit and
## integration tests, then the end-to-end tests (Tests/EndToEndTests: processes started and waited
## on), apart so that their waits never hold the pool the others time their async work on. Both
## run, whichever fails.
unit:
	@start=$$(date +%s); $(SWIFT) build --build-tests; status=$$?; \
		echo "== phase debug build: $$(( $$(date +%s) - start )) s"; exit $$status
	@start=$$(date +%s); \
		scripts/counted-stage.sh unit $(SWIFT) test --skip-build --disable-xctest --skip '^EndToEndTests\.'; \
		unit=$$?; echo "== phase unit and integration tests: $$(( $$(date +%s) - start )) s"; \
		start=$$(date +%s); \
		scripts/counted-stage.sh end-to-end $(SWIFT) test --skip-build --disable-xctest --filter '^EndToEndTests\.'; \
		e2e=$$?; echo "== phase end-to-end tests: $$(( $$(date +%s) - start )) s"; \
		[ $$unit -eq 0 ] && [ $$e2e -eq 0 ]

## docs/openapi.yaml as a tested contract: schemathesis (pinned, .cache/venv-schemathesis) with every
## check and the stateful phase against a fresh access-hq-dev from the debug build, a test device's
## token on the device-authenticated operations; prints schemathesis' summary, then "N passed, N failed".
api-contract:
	@start=$$(date +%s); scripts/counted-stage.sh api-contract scripts/api-contract.sh "$$($(SWIFT) build --show-bin-path)"; \
		status=$$?; echo "== phase API contract (schemathesis): $$(( $$(date +%s) - start )) s"; exit $$status

## DoorDriver on Debian 12's kernel (6.1) under qemu with gpio-sim, libgpiod v1; prints "N passed, N failed".
hwtest:
	@start=$$(date +%s); scripts/counted-stage.sh hardware scripts/hwtest.sh; status=$$?; \
		echo "== phase hardware tests, Debian 12 (kernel 6.1, libgpiod v1): $$(( $$(date +%s) - start )) s"; exit $$status

## Debian 13 in the trixie root (.cache/trixie, made with debootstrap; needs root, else skipped):
## the whole package built against its libraries (.build-trixie) and the unit and integration tests.
test-trixie:
	@if [ "$$(id -u)" -eq 0 ]; then scripts/counted-stage.sh unit-trixie scripts/trixie-test.sh; \
		else scripts/trixie-test.sh; fi

## DoorDriver on Debian 13's kernel (6.12) under qemu with gpio-sim built in the trixie root,
## libgpiod v2; prints "N passed, N failed".
hwtest-trixie:
	@start=$$(date +%s); \
		if [ "$$(id -u)" -eq 0 ]; then scripts/counted-stage.sh hardware-trixie scripts/hwtest.sh trixie; \
		else scripts/hwtest.sh trixie; fi; status=$$?; \
		echo "== phase hardware tests, Debian 13 (kernel 6.12, libgpiod v2): $$(( $$(date +%s) - start )) s"; exit $$status

## The real daemon on embedded defaults: the reference HQ on loopback, enrolment, a pass shown
## to the folder camera opens the in-memory door, an expired one is denied, the log reaches HQ.
demo: deps
	$(SWIFT) build --product access-gateway
	$(SWIFT) build --product gatewayctl
	$(SWIFT) build --product access-hq-dev
	@scripts/demo.sh "$$($(SWIFT) build --show-bin-path)"

## Decode and verification benchmarks; writes docs/BENCHMARKS.md.
bench:
	@scripts/install-deps.sh bench
	$(SWIFT) build $(RELEASE) --product access-gateway
	$(SWIFT) build $(RELEASE) --product gatewayctl
	$(SWIFT) build $(RELEASE) --product ag-bench
	$(SWIFT) build $(RELEASE) --product access-hq-dev
	python3 scripts/bench.py --bin "$$($(SWIFT) build $(RELEASE) --show-bin-path)" --shared "$(SHARED)" --out docs/BENCHMARKS.md

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build

## dist/access-gateway_<version>_<arch>.deb from release binaries with the Swift runtime linked in,
## then installed, upgraded and purged in a scratch root. Not part of `make test`: a release build.
deb:
	@scripts/install-deps.sh deb
	$(SWIFT) build $(RELEASE) --product access-gateway
	@deb="$$(scripts/build-deb.sh "$$($(SWIFT) build $(RELEASE) --show-bin-path)")" && \
		scripts/test-deb.sh "$$deb"

## dist/access-gateway_<version>+deb13_<arch>.deb, the Debian 13 package (Depends: libgpiod3, ...),
## built in the trixie root (needs root) and checked there by the same scripts/test-deb.sh.
TRIXIE_RELEASE := --scratch-path .build-trixie -c release --static-swift-stdlib
deb-trixie:
	@scripts/trixie-root.sh >/dev/null
	scripts/trixie-root.sh run swift build $(TRIXIE_RELEASE) --product access-gateway
	@bin="$$(scripts/trixie-root.sh run swift build $(TRIXIE_RELEASE) --show-bin-path)" && \
		deb="$$(scripts/trixie-root.sh run scripts/build-deb.sh "$$bin")" && \
		scripts/trixie-root.sh run scripts/test-deb.sh "$$deb" && echo "$${deb#/src/}"

## libFuzzer targets for the parsers (CBOR, COSE_Sign1, AG1/AG2 passes, Base45, snapshot JSON, HQ
## commands), FUZZ_SECONDS each; not part of `make test`. Records runs in Tests/Fuzz/runs.csv and
## the Fuzzing section of docs/BENCHMARKS.md; findings land in Tests/Fuzz/regressions.
FUZZ_SECONDS ?= 300
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

## Sustained load: LOAD_RATE scans/s for LOAD_SECONDS from the looped folder camera, the audit upload
## draining to access-hq-dev meanwhile; rewrites only the load section of docs/BENCHMARKS.md.
LOAD_SECONDS ?= 600
LOAD_RATE ?= 50
load: deps
	$(SWIFT) build $(RELEASE) --product ag-bench
	$(SWIFT) build $(RELEASE) --product access-hq-dev
	python3 scripts/bench.py --only load --load-seconds $(LOAD_SECONDS) --load-rate $(LOAD_RATE) \
		--bin "$$($(SWIFT) build $(RELEASE) --show-bin-path)" --out docs/BENCHMARKS.md
