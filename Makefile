# capeval — see README.md. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
# Use the toolchain go.mod names (a patched Go release, fetched through the
# module proxy), not whatever the machine's Go is: the installed Go's own
# default is GOTOOLCHAIN=local, which would ignore it.
export GOTOOLCHAIN ?= auto
BIN       := bin/capeval
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/capeval

# ONNX Runtime: the official CPU build shipped inside the npm package
# onnxruntime-node, checked against a pinned sha256 and cached outside the tree.
ORT_VERSION := 1.30.0
ORT_SHA256  := ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_LIB     := $(CACHE_DIR)/onnxruntime-$(ORT_VERSION)/libonnxruntime.so.1
export CAPEVAL_ONNXRUNTIME_LIB ?= $(ORT_LIB)

# libjpeg-turbo through cgo decodes JPEG ~3x faster than image/jpeg; where its
# headers are missing the build falls back to the pure-Go decoder.
HAVE_LIBJPEG := $(shell printf '\#include <stdio.h>\n\#include <jpeglib.h>\n' | $${CC:-cc} -E -x c - >/dev/null 2>&1 && echo yes)
GOTAGS       := $(if $(HAVE_LIBJPEG),,purejpeg)
GOFLAGS_TAGS := $(if $(GOTAGS),-tags $(GOTAGS),)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/capeval
	$(GO) build $(GOFLAGS_TAGS) -ldflags "-X capeval/internal/cli.version=$(VERSION)" -o $(BIN) .

.PHONY: onnxruntime
onnxruntime: $(ORT_LIB) ## fetch and verify ONNX Runtime $(ORT_VERSION) (CPU) into the cache

$(ORT_LIB):
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "fetching onnxruntime-node@$(ORT_VERSION) from the npm registry"; \
	(cd "$$tmp" && npm pack --silent onnxruntime-node@$(ORT_VERSION) >/dev/null); \
	tar -xzf "$$tmp"/onnxruntime-node-$(ORT_VERSION).tgz -C "$$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1; \
	echo "$(ORT_SHA256)  $$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet - \
	  || { echo "libonnxruntime.so.1: sha256 mismatch, refusing it" >&2; exit 1; }; \
	mkdir -p $(dir $@); mv "$$tmp"/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $@; \
	echo "ONNX Runtime $(ORT_VERSION) at $@"

.PHONY: cuda-plugin
cuda-plugin: ## fetch the CUDA execution provider plugin (GPU with the CPU build; ~180 MB)
	bash autoeval/clip/scripts/fetch-cuda-plugin.sh

.PHONY: run
run: onnxruntime build ## build, migrate, load the demo and serve the UI
	CAPEVAL_DEMO=$${CAPEVAL_DEMO:-true} ./$(BIN) serve

.PHONY: test
test: onnxruntime ## run every test (race detector, browser tests included)
	$(GO) test $(GOFLAGS_TAGS) -race -count=1 -timeout 15m ./...

FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s; crashers land in testdata/fuzz)
	FUZZTIME=$(FUZZTIME) GOFLAGS_TAGS="$(GOFLAGS_TAGS)" bash .ci/fuzz

.PHONY: bench
bench: onnxruntime ## run the benchmarks
	$(GO) test $(GOFLAGS_TAGS) -run '^$$' -bench . -benchmem ./...

.PHONY: vulncheck
vulncheck: ## govulncheck ./... against an offline copy of the Go vulnerability database
	bash .ci/vulncheck

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOFLAGS_TAGS) ./...

.PHONY: clean
clean: ## remove build outputs (not the data directory or the cache)
	rm -rf bin
