# Herald's build. `make test` is exactly what CI runs (through .ci/run).

GO        ?= go
BIN       := bin/herald
PKGS      := ./...
# The tests start real Raft shards, Pebble, NATS and HTTP listeners, under
# the race detector; two packages at a time keeps a 2-core machine
# responsive.
TESTFLAGS ?= -race -p 2 -timeout 20m

.PHONY: build run test robustness bench bench-acl bench-wan lint fmt vet fuzz clean ui

# Stamp the binary with its revision and build time (what `herald version`
# prints); outside a git checkout both stay empty.
REVISION  := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS   := -X github.com/heraldhq/herald/version.Revision=$(REVISION) \
             -X github.com/heraldhq/herald/version.BuildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/herald

## run: a dev agent (HTTP 127.0.0.1:8500, DNS 8600, NATS 4222), nothing kept
run: build
	./$(BIN) agent -dev

test: build vet
	$(GO) test $(TESTFLAGS) $(PKGS)

## robustness: the long robustness run: 20 seeds of every nemesis, 30 s of
## workload each (about 40 min on 2 cores); failing histories go to
## robustness-out/. Override with HERALD_ROBUSTNESS_SEEDS=..., _DURATION=...
HERALD_ROBUSTNESS_SEEDS    ?= 20
HERALD_ROBUSTNESS_DURATION ?= 30s
robustness: build
	HERALD_BIN=$(CURDIR)/$(BIN) HERALD_ROBUSTNESS_SEEDS=$(HERALD_ROBUSTNESS_SEEDS) \
	HERALD_ROBUSTNESS_DURATION=$(HERALD_ROBUSTNESS_DURATION) HERALD_ROBUSTNESS_OUT=$(CURDIR)/robustness-out \
	$(GO) test -count=1 -timeout 3h -v -run TestRobustness ./robustness/

## bench: issue 15's targets with the peers beside them: kv put/get against etcd (native client), then DNS against a bare server, health, registration and 20,000 watchers; Consul beside Herald in both when `consul` is on PATH (needs etcd-server)
bench: build
	$(GO) run ./bench/cmd/kvbench -herald ./$(BIN)
	$(GO) run ./bench/cmd/discobench -herald ./$(BIN)

## bench-cluster: three servers and a client agent against a three-member etcd, DNS on a client, failover (needs etcd-server)
bench-cluster: build
	$(GO) run ./bench/cmd/clusterbench -herald ./$(BIN)

## bench-acl: what enforcing ACLs costs: kv put@64 and DNS SRV@32, ACLs on (default deny) against off
bench-acl: build
	$(GO) run ./bench/cmd/aclbench -herald ./$(BIN)

## bench-wan: what crossing datacenters costs: a ?dc= kv get and a DNS lookup in another datacenter against the same answered locally
bench-wan: build
	$(GO) run ./bench/cmd/wanbench -herald ./$(BIN)

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## fuzz: a short run of every fuzz target (crashers land in testdata/)
fuzz:
	$(GO) test -run XXX -fuzz 'FuzzDecode$$' -fuzztime 30s ./log/command/
	$(GO) test -run XXX -fuzz FuzzDecodeEntry -fuzztime 30s ./statemachine/
	$(GO) test -run XXX -fuzz FuzzKeyTokens -fuzztime 30s ./watch/
	$(GO) test -run XXX -fuzz FuzzLoadJSON -fuzztime 30s ./agent/config/
	$(GO) test -run XXX -fuzz FuzzLoadHCL -fuzztime 30s ./agent/config/
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./acl/
	$(GO) test -run XXX -fuzz FuzzAuthorizer -fuzztime 30s ./acl/
	$(GO) test -run XXX -fuzz FuzzDecodeConfigEntry -fuzztime 30s ./configentry/

## ui: build the web UI (ui/web, locked by its package-lock.json) into
## ui/dist, which is committed and embedded in the binary
ui:
	cd ui/web && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf bin
