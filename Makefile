# oslohost build, test and run targets. `make help` lists them.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
# Extra flags for go test, e.g. TESTFLAGS='-run Interop -v'.
TESTFLAGS ?=

.PHONY: help build test test-python test-short test-cluster run deps bench bench-scale bench-floor bench-go fuzz soak vet fmt clean

# make proto: regenerate plugin/pluginv1 from endpoint.proto (pinned generators).
include plugin/pluginv1/proto.mk
# make proto-python: regenerate the Python SDK's stubs (sdk/python/oslohost_plugin/_pb).
include sdk/python/proto.mk

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# The Go example plugins: the dirs of plugins/examples/ with Go files (python-calc
# is a Python plugin, run by /usr/bin/python3, not built).
GO_EXAMPLES := $(sort $(dir $(wildcard plugins/examples/*/*.go)))

build: ## build the host and the example plugins into bin/
	$(GO) build -o $(BIN)/ ./cmd/oslohost
	@mkdir -p $(BIN)/plugins
	$(GO) build -o $(BIN)/plugins/ $(addprefix ./,$(GO_EXAMPLES))

run: build ## build, make sure a RabbitMQ answers, and serve config.hcl with the example plugins
	@scripts/ensure-broker.sh
	$(BIN)/oslohost run config.hcl

deps: ## make sure a RabbitMQ answers and the Python oslo.messaging peers (14.0.3 installed, 16.1.0 unpacked) are there
	@scripts/ensure-broker.sh
	@scripts/ensure-python-peer.sh
	@scripts/ensure-python-peer-trixie.sh >/dev/null

test: deps ## run every test against the local broker and the real Python peer
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(TESTFLAGS) $(PKGS)

test-python: deps ## the Python SDK's tests (test/pyplugin): oslo endpoints under oslohost vs oslo's own server
	$(GO) test -count=1 -timeout 10m $(TESTFLAGS) ./test/pyplugin/

test-short: ## unit tests only (no broker, no Python)
	$(GO) test -count=1 -short $(PKGS)

bench: deps ## oslohost vs the broker ceiling vs Python, interleaved (bench/run.sh; BENCH_DURATION, BENCH_ROUNDS)
	bench/run.sh

bench-scale: deps ## how cost grows: C=256/1024, 10 KiB/1 MiB, 100 topics, 50 plugins, a 10,000-call backlog (bench/scale.sh)
	bench/scale.sh

bench-floor: deps ## the parts of a call that cannot go, each alone: plugin gRPC hop, amqp091-go publish+confirm and consume+ack, broker and ceilings' CPU per call (bench/floor.sh)
	bench/floor.sh

bench-go: deps ## Go micro-benchmarks: codec, client round trip, plugin call, SDK dispatch
	$(GO) test -run '^$$' -bench . -benchmem ./oslo/ ./client/ ./plugin/pluginv1/ ./plugin/sdk/ ./server/

# How long each fuzz target runs in `make fuzz`: a duration, or a number of
# executions as "20000x". CI uses a count: with a duration, Go's fuzzing
# coordinator can fail a target with a bare "context deadline exceeded" when a
# starved worker misses the end of the window (golang/go#75804).
FUZZTIME ?= 10s
FUZZ_PKGS ?= ./oslo/ ./internal/rabbit/ ./host/config/

fuzz: ## a short run of every fuzz target: codec, transport URL, config loader (FUZZTIME each, default 10s)
	@for p in $(FUZZ_PKGS); do \
	  for t in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
	    echo "fuzz $$p $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	  done; \
	done

# How long TestSoak runs in `make soak` (Go duration).
SOAK_DURATION ?= 10m

soak: deps ## reliability soak: SOAK_DURATION (default 10m) of load, swaps and reconnects, plus the long fault runs; not in CI
	OSLOHOST_SOAK=1 SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -timeout 90m -v \
	  -run 'TestSoak|TestUnknownMethodFlood|TestPluginCrashStorm' ./test/reliability/

test-cluster: deps ## a three-node private RabbitMQ cluster, kill -9 under load (TestClusterFailover, -tags cluster; root); not in CI
	$(GO) test -tags cluster -count=1 -timeout 15m -v -run TestClusterFailover ./test/reliability/

vet: ## go vet and gofmt check
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

fmt: ## gofmt everything
	gofmt -w $$(git ls-files '*.go')

clean: ## remove build output
	rm -rf $(BIN)
