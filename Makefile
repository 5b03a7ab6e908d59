# volume-topology-scheduler
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/bin
PKG         := github.com/volume-topology/volume-topology-scheduler
IMAGE       ?= volume-topology-scheduler:latest
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
K8S_VERSION := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes 2>/dev/null)
K8S_MINOR   := $(word 2,$(subst ., ,$(K8S_VERSION)))
LDFLAGS     := -X $(PKG)/pkg/version.Version=$(VERSION) \
               -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
               -X k8s.io/component-base/version.gitMajor=1 \
               -X k8s.io/component-base/version.gitMinor=$(K8S_MINOR)

# Tests find etcd (built from the Go module proxy) on PATH.
export PATH := $(BIN):$(PATH)

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build
.PHONY: build
build: ## Build bin/volume-topology-scheduler.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/volume-topology-scheduler ./cmd/volume-topology-scheduler

.PHONY: etcd
etcd: $(BIN)/etcd ## Build etcd v3.6.4 from the Go module proxy (a Go tool dependency) into bin/.
$(BIN)/etcd: go.mod
	$(GO) build -o $(BIN)/etcd go.etcd.io/etcd/server/v3

.PHONY: image
image: ## Build the container image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

##@ Run
.PHONY: demo
demo: etcd build ## Start a local control plane with 3 zones, apply manifests/examples, scale the lease workload to 20 and print placements (ARGS=--keep to keep it running).
	$(GO) run ./cmd/volume-topology-demo $(ARGS)

.PHONY: audit
audit: build ## Audit the cluster in KUBECONFIG for rule violations.
	$(BIN)/volume-topology-scheduler audit

.PHONY: run
run: build ## Run the scheduler from this machine against the cluster in KUBECONFIG.
	@test -n "$$KUBECONFIG" || { echo "KUBECONFIG is not set: use 'make demo' for a local control plane" >&2; exit 1; }
	$(BIN)/volume-topology-scheduler --kubeconfig "$$KUBECONFIG" --authentication-kubeconfig "$$KUBECONFIG" --authorization-kubeconfig "$$KUBECONFIG" --config hack/local-scheduler-config.yaml --v=2

##@ Test
.PHONY: test
test: test-unit test-integration perf-short soak-short ## Run every test CI runs: unit, integration, a short scheduler_perf pass and a short soak.

.PHONY: test-unit
test-unit: ## Unit tests (plugin, domain, args, manifests, command, simulated cloud, soak planner, perf summary).
	$(GO) test -count=1 ./pkg/... ./cmd/... ./manifests/... ./test/perf/results/...
	$(GO) test -count=1 -short ./test/soak/...

.PHONY: test-integration
test-integration: etcd ## Integration suite on a real local control plane (etcd, kube-apiserver, PV controller, simulated cloud).
	$(GO) test -count=1 -timeout 15m ./test/integration/...

# scheduler_perf (test/perf): results and the summary go to PERF_DIR.
PERF_DIR ?= $(CURDIR)/_output/perf
PERF_RUN  = mkdir -p $(PERF_DIR) && status=0; \
	$(GO) test -count=1 -run='^$$' -bench=BenchmarkPerfScheduling -benchtime=1ns -timeout=0 ./test/perf/ \
		-data-items-dir=$(PERF_DIR) -perf-scheduling-label-filter=$(1) >$(PERF_DIR)/perf.log 2>&1 || status=$$?; \
	grep -E '^(Benchmark|--- |ok |FAIL|PASS|panic)|violations_test.go' $(PERF_DIR)/perf.log | grep -v '^[IEW][0-9]' | cut -c1-400; \
	$(GO) run ./cmd/perf-summary -dir $(PERF_DIR) | tee $(PERF_DIR)/summary.md; \
	echo "full log: $(PERF_DIR)/perf.log"; exit $$status

.PHONY: perf
perf: etcd ## scheduler_perf, every workload at 500 and 5000 nodes side by side with the default profile and the seed's recipe (about 30 min); prints the summary table.
	rm -rf $(PERF_DIR)
	$(call PERF_RUN,performance)

.PHONY: perf-short
perf-short: PERF_DIR = $(CURDIR)/_output/perf-short
perf-short: etcd ## scheduler_perf, a CI-sized correctness pass (label short, 500 nodes): fails on any disk rule VolumeTopology breaks.
	rm -rf $(PERF_DIR)
	$(call PERF_RUN,short)

# The soak (test/soak): SEED and DURATION select the run; SOAK_ARGS adds flags.
SEED     ?= 1
DURATION ?= 10m

.PHONY: soak
soak: etcd ## Seeded random workload with faults on the local control plane (SEED=n DURATION=d); fails on any violation or false pending reason.
	$(GO) test -count=1 -timeout=0 -v -run='^TestSoak$$' ./test/soak/ -args -seed=$(SEED) -duration=$(DURATION) $(SOAK_ARGS)

.PHONY: soak-short
soak-short: etcd ## The soak for CI: 2 minutes of workload plus settling.
	$(GO) test -count=1 -timeout=15m -v -run='^TestSoak$$' ./test/soak/ -args -seed=$(SEED) -duration=2m $(SOAK_ARGS)

.PHONY: fuzz
fuzz: ## Fuzz the StorageClass parameter and node label parsers (FUZZTIME per target, default 1m).
	$(GO) test -run='^$$' -fuzz=FuzzParseParameters -fuzztime=$(or $(FUZZTIME),1m) ./pkg/disk/
	$(GO) test -run='^$$' -fuzz=FuzzDescribe -fuzztime=$(or $(FUZZTIME),1m) ./pkg/disk/

.PHONY: bench
bench: ## Plugin micro-benchmarks at 5000 nodes.
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./pkg/volumetopology/

##@ Verify
.PHONY: verify
verify: ## Fail on unformatted code, go vet findings, stale generated code or go.mod.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	hack/verify-codegen.sh
	$(GO) mod tidy -diff

.PHONY: generate
generate: ## Regenerate deepcopy, conversion and defaults code for the plugin args.
	hack/update-codegen.sh
