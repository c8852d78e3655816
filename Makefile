# AccessGateway — the two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SHARED ?= $(abspath ../shared)
export AG_SHARED := $(SHARED)

.PHONY: all deps build test unit hwtest demo bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The whole test suite: the unit and integration tests, then the hardware stage under qemu.
test: deps
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory hwtest

## One debug build, then Swift Testing (its summary line ends this part of the log).
unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

## DoorDriver on Debian's kernel under qemu with gpio-sim; prints "N passed, N failed".
hwtest:
	@scripts/hwtest.sh

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
	$(SWIFT) build -c release --product gatewayctl
	$(SWIFT) build -c release --product ag-bench
	$(SWIFT) build -c release --product access-hq-dev
	python3 scripts/bench.py --bin "$$($(SWIFT) build -c release --show-bin-path)" --shared "$(SHARED)" --out docs/BENCHMARKS.md

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build
