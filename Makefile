# volume-topology-scheduler
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/bin
PKG         := github.com/volume-topology/volume-topology-scheduler
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)

# The Kubernetes minor to build and test against (KUBE=1.35, 1.36 or 1.37).
# go.mod pins the newest; kube/<minor>.mod (with its .sum) pins each older one
# and is selected with -modfile, and the build tag kube<minor> picks the few
# files where the framework's API differs between minors.
KUBE_MINORS := 1.35 1.36 1.37
KUBE_NEWEST := $(lastword $(KUBE_MINORS))
KUBE        ?= $(KUBE_NEWEST)
ifeq ($(filter $(KUBE),$(KUBE_MINORS)),)
$(error KUBE=$(KUBE) is not a supported Kubernetes minor; choose one of $(KUBE_MINORS))
endif
ifneq ($(KUBE),$(KUBE_NEWEST))
KUBE_GOFLAGS := -modfile=kube/$(KUBE).mod -tags=kube$(KUBE)
endif
comma := ,
space := $(empty) $(empty)
# Every go command of a recipe builds against the chosen minor.
export GOFLAGS := $(strip $(GOFLAGS) $(KUBE_GOFLAGS))

K8S_VERSION := $(shell GOFLAGS="$(GOFLAGS)" $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes 2>/dev/null)
# Binaries of each minor go to their own directory; etcd and other tools to bin/.
OUT         := $(BIN)/k8s$(KUBE)
LDFLAGS     := -X $(PKG)/pkg/version.Version=$(VERSION) \
               -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
               -X k8s.io/component-base/version.gitMajor=1 \
               -X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE)))

# Images are tagged <repository>:<our version>-k8s<minor>.
IMAGE_REPO  ?= volume-topology-scheduler
IMAGE       ?= $(IMAGE_REPO):$(VERSION)-k8s$(KUBE)

# Tests find etcd (built from the Go module proxy) on PATH.
export PATH := $(BIN):$(PATH)

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build
.PHONY: build
build: ## Build bin/k8s<KUBE>/volume-topology-scheduler for the Kubernetes minor KUBE (default: the newest).
	$(GO) build -ldflags "$(LDFLAGS)" -o $(OUT)/volume-topology-scheduler ./cmd/volume-topology-scheduler

.PHONY: build-all
build-all: ## Build the scheduler for every supported Kubernetes minor.
	@for m in $(KUBE_MINORS); do $(MAKE) --no-print-directory build KUBE=$$m || exit 1; done

# etcd is one tool for every minor: the version the newest Kubernetes pins,
# built from go.mod whatever KUBE is.
.PHONY: etcd
etcd: $(BIN)/etcd ## Build etcd from the Go module proxy (a Go tool dependency of go.mod) into bin/.
$(BIN)/etcd: go.mod
	GOFLAGS= $(GO) build -o $(BIN)/etcd go.etcd.io/etcd/server/v3

.PHONY: image
image: ## Build the image <IMAGE_REPO>:<version>-k8s<KUBE> (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) --build-arg KUBE=$(KUBE) -t $(IMAGE) .

##@ Run
.PHONY: demo
demo: etcd ## Start a local control plane with 3 zones, apply manifests/examples, scale the lease workload to 20 and print placements (ARGS=--keep to keep it running).
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/volume-topology-demo $(ARGS)

.PHONY: demo-rollout
demo-rollout: etcd ## Side by side on a local control plane, kube-scheduler's default profile and ours: a Deployment rollout and a StatefulSet rolling restart of pods with single-attach disks (about 5 min; ARGS adds flags).
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/volume-topology-demo --rollout $(ARGS)

.PHONY: audit
audit: build ## Audit the cluster in KUBECONFIG for rule violations.
	$(OUT)/volume-topology-scheduler audit

.PHONY: run
run: build ## Run the scheduler from this machine against the cluster in KUBECONFIG.
	@test -n "$$KUBECONFIG" || { echo "KUBECONFIG is not set: use 'make demo' for a local control plane" >&2; exit 1; }
	$(OUT)/volume-topology-scheduler --kubeconfig "$$KUBECONFIG" --authentication-kubeconfig "$$KUBECONFIG" --authorization-kubeconfig "$$KUBECONFIG" --config hack/local-scheduler-config.yaml --v=2

##@ Test
.PHONY: test
test: ## Run every test CI runs: unit and integration tests on every minor, the version-skew test, then a short scheduler_perf pass and a short soak on the newest.
	@for m in $(KUBE_MINORS); do $(MAKE) --no-print-directory test-minor KUBE=$$m || exit 1; done
	$(MAKE) --no-print-directory test-skew
	$(MAKE) --no-print-directory perf-short soak-short KUBE=$(KUBE_NEWEST)

.PHONY: test-minor
test-minor: test-unit test-integration test-install ## Unit, integration and install (Helm, kustomize) tests on the minor KUBE.

.PHONY: test-unit
test-unit: ## Unit tests (plugin, domain, args, manifests, command, simulated cloud, the never-worse property against the default profile, soak planner, perf summary, the monitoring objects through Prometheus' parsers).
	@echo "== unit tests, Kubernetes $(K8S_VERSION)"
	$(GO) test -count=1 ./pkg/... ./cmd/... ./manifests/... ./test/perf/results/...
	$(GO) test -count=1 ./test/neverworse/... -args -seed=$(NEVERWORSE_SEED)
	$(GO) test -count=1 -short ./test/soak/...
	cd test/monitoring && GOFLAGS= $(GO) test -count=1 ./...

# The never-worse property test's seed in CI (any seed must pass; -cases
# sets how many pods it places).
NEVERWORSE_SEED ?= 1

.PHONY: test-integration
test-integration: etcd ## Integration suite on a real local control plane (etcd, kube-apiserver, PV controller, simulated cloud).
	@echo "== integration tests, Kubernetes $(K8S_VERSION)"
	$(GO) test -count=1 -timeout 15m ./test/integration/...

# The version skew kube-scheduler allows: each older build's binary runs the
# lease workload against the control plane of the next minor (the integration
# suite of that minor, build tag skew).
.PHONY: test-skew
test-skew: etcd ## Each older build's binary schedules the lease workload on a control plane one minor newer.
	@prev=; for m in $(KUBE_MINORS); do \
	  if [ -n "$$prev" ]; then \
	    $(MAKE) --no-print-directory build KUBE=$$prev && \
	    $(MAKE) --no-print-directory test-skew-pair KUBE=$$m SKEW_FROM=$$prev || exit 1; \
	  fi; prev=$$m; done

.PHONY: test-skew-pair
test-skew-pair: etcd
	@echo "== version skew: the Kubernetes $(SKEW_FROM) build against a $(K8S_VERSION) control plane"
	VOLUME_TOPOLOGY_SKEW_SCHEDULER=$(BIN)/k8s$(SKEW_FROM)/volume-topology-scheduler \
	  $(GO) test -count=1 -timeout 10m -tags=$(subst $(space),$(comma),$(strip skew $(if $(KUBE_GOFLAGS),kube$(KUBE)))) -run '^TestVersionSkew$$' ./test/integration/

# The race detector: the unit tests, and the integration suite, whose shared
# scheduler runs in the test process and so under the detector too (the
# restart tests' child replicas only log what it finds). Not part of make
# test: a cold -race build of the integration suite takes minutes.
.PHONY: test-race
test-race: etcd ## Unit and integration tests with the race detector on the minor KUBE.
	@echo "== unit tests with -race, Kubernetes $(K8S_VERSION)"
	$(GO) test -race -count=1 ./pkg/... ./cmd/... ./manifests/... ./test/perf/results/...
	$(GO) test -race -count=1 -short ./test/soak/...
	$(GO) test -race -count=1 ./test/neverworse/... -args -seed=$(NEVERWORSE_SEED) -cases=300
	@echo "== integration tests with -race, Kubernetes $(K8S_VERSION)"
	$(GO) test -race -count=1 -timeout 30m ./test/integration/...

# scheduler_perf (test/perf): results and the summary go to PERF_DIR; the
# package's unit tests (the plugin clock) run first. Its templates use the
# function names scheduler_perf has since 1.36 (Mod, DivideInt; 1.35 calls
# them mod and div).
PERF_DIR ?= $(CURDIR)/_output/perf
PERF_CHECK_MINOR = @if [ "$(KUBE)" = 1.35 ]; then echo "scheduler_perf runs on Kubernetes 1.36 and newer (its template functions were renamed in 1.36): use KUBE=1.36 or KUBE=1.37" >&2; exit 1; fi
PERF_RUN  = mkdir -p $(PERF_DIR) && status=0; \
	$(GO) test -count=1 -run='^Test' -bench=BenchmarkPerfScheduling -benchtime=1ns -timeout=0 ./test/perf/ \
		-data-items-dir=$(PERF_DIR) -perf-scheduling-label-filter=$(1) >$(PERF_DIR)/perf.log 2>&1 || status=$$?; \
	grep -E '^(Benchmark|--- |ok |FAIL|PASS|panic)|violations_test.go' $(PERF_DIR)/perf.log | grep -v '^[IEW][0-9]' | cut -c1-400; \
	$(GO) run ./cmd/perf-summary -dir $(PERF_DIR) | tee $(PERF_DIR)/summary.md; \
	echo "full log: $(PERF_DIR)/perf.log"; exit $$status

.PHONY: perf
perf: etcd ## scheduler_perf, every workload at 500 and 5000 nodes side by side with the default profile and the seed's recipe (about 30 min); prints the summary table.
	$(PERF_CHECK_MINOR)
	rm -rf $(PERF_DIR)
	$(call PERF_RUN,performance)

.PHONY: perf-short
perf-short: PERF_DIR = $(CURDIR)/_output/perf-short
perf-short: etcd ## scheduler_perf, a CI-sized correctness pass (label short, 500 nodes): fails on any disk rule VolumeTopology breaks.
	$(PERF_CHECK_MINOR)
	rm -rf $(PERF_DIR)
	$(call PERF_RUN,short)

# perf-ratios: one compiled perf binary, each test case in its own process,
# ROUNDS rounds alternating the order, at NODES nodes (label PERF_LABEL);
# medians against issue 16's targets, the share of the cycle and peak RSS of
# each process go to PERF_RATIOS_DIR/report.md. perf-scale is the same at
# 15,000 nodes (label scale), one round, without AttachedDisksReturn (it has
# no 15,000-node size).
NODES  ?= 5000
ROUNDS ?= 3
PERF_LABEL ?= performance
PERF_RATIOS_DIR ?= $(CURDIR)/_output/perf-ratios
PERF_RATIOS_CASES ?= SharedDisks_VolumeTopology,SharedDisks_SeedRecipe,NoVolumes_Default,NoClaims_VolumeTopology,NoClaims_Default,AttachedDisksReturn_VolumeTopology,AttachedDisksReturn_Default
PERF_SCALE_CASES = SharedDisks_VolumeTopology,SharedDisks_SeedRecipe,NoVolumes_Default,NoClaims_VolumeTopology,NoClaims_Default
# cmdline_or: the variable's value if given on the command line, else the default.
cmdline_or = $(if $(filter command line,$(origin $(1))),$($(1)),$(2))
PERF_RATIOS_RUN = mkdir -p $(1) $(BIN) && \
	$(GO) test -c -o $(BIN)/perf.test ./test/perf/ && \
	$(GO) build -o $(BIN)/perf-ratios ./cmd/perf-ratios && \
	$(BIN)/perf-ratios -bin $(BIN)/perf.test -dir test/perf -nodes $(2) -rounds $(3) -label $(4) -cases $(5) -out $(1)

.PHONY: perf-ratios
perf-ratios: etcd ## scheduler_perf ratios of issue 16: each case in its own process, ROUNDS (3) alternating rounds at NODES (5000); medians, targets, share of the cycle, peak RSS (about an hour at 5000 nodes).
	$(PERF_CHECK_MINOR)
	rm -rf $(PERF_RATIOS_DIR)
	$(call PERF_RATIOS_RUN,$(PERF_RATIOS_DIR),$(NODES),$(ROUNDS),$(PERF_LABEL),$(PERF_RATIOS_CASES))

.PHONY: perf-scale
perf-scale: PERF_SCALE_DIR = $(CURDIR)/_output/perf-scale
perf-scale: etcd ## scheduler_perf at 15,000 nodes (label scale, not in CI): the ratios, share and peak RSS; one round (NODES, ROUNDS, PERF_LABEL override).
	$(PERF_CHECK_MINOR)
	rm -rf $(PERF_SCALE_DIR)
	$(call PERF_RATIOS_RUN,$(PERF_SCALE_DIR),$(call cmdline_or,NODES,15000),$(call cmdline_or,ROUNDS,1),$(call cmdline_or,PERF_LABEL,scale),$(PERF_SCALE_CASES))

# The soak (test/soak): SEED and DURATION select the run; SOAK_ARGS adds flags.
SEED     ?= 1
DURATION ?= 10m

.PHONY: soak
soak: etcd ## Seeded random workload with faults on the local control plane (SEED=n DURATION=d); fails on any violation or false pending reason.
	$(GO) test -count=1 -timeout=0 -v -run='^TestSoak$$' ./test/soak/ -args -seed=$(SEED) -duration=$(DURATION) $(SOAK_ARGS)

# make test's second, shorter soak: seed 7 once left pods of a disk's second
# static volume bound and never running (its first minute shows it).
SOAK_SHORT_SEED2 ?= 7

.PHONY: soak-short
soak-short: etcd ## The soak for CI: seed SEED for 2 minutes, then seed SOAK_SHORT_SEED2 for 1 minute, each plus settling.
	$(GO) test -count=1 -timeout=15m -v -run='^TestSoak$$' ./test/soak/ -args -seed=$(SEED) -duration=2m $(SOAK_ARGS)
	$(GO) test -count=1 -timeout=15m -v -run='^TestSoak$$' ./test/soak/ -args -seed=$(SOAK_SHORT_SEED2) -duration=1m $(SOAK_ARGS)

.PHONY: fuzz
fuzz: ## Fuzz the StorageClass parameter and node label parsers (FUZZTIME per target, default 1m).
	$(GO) test -run='^$$' -fuzz=FuzzParseParameters -fuzztime=$(or $(FUZZTIME),1m) ./pkg/disk/
	$(GO) test -run='^$$' -fuzz=FuzzDescribe -fuzztime=$(or $(FUZZTIME),1m) ./pkg/disk/

.PHONY: bench
bench: ## Plugin micro-benchmarks at 5000 nodes.
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./pkg/volumetopology/

##@ Packaging
# The kubectl plugin's release archives and krew manifest (deploy/krew): the
# scheduler binary, which is the plugin when run as kubectl-volume_topology.
KREW_DIR       := $(CURDIR)/_output/krew
KREW_PLATFORMS := linux/amd64 linux/arm64

.PHONY: krew
krew: ## Build the kubectl plugin's archives for VERSION into _output/krew and write its krew manifest with their sha256.
	rm -rf $(KREW_DIR) && mkdir -p $(KREW_DIR)
	sed 's/v0\.1\.0/$(VERSION)/g' deploy/krew/volume-topology.yaml > $(KREW_DIR)/volume-topology.yaml
	@for p in $(KREW_PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; dir=$(KREW_DIR)/$$os-$$arch; \
	  archive=volume-topology-scheduler_$(VERSION)_$${os}_$${arch}.tar.gz; \
	  echo "== $$archive"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -ldflags "$(LDFLAGS)" -o $$dir/volume-topology-scheduler ./cmd/volume-topology-scheduler || exit 1; \
	  tar -C $$dir -czf $(KREW_DIR)/$$archive volume-topology-scheduler || exit 1; \
	  sum=$$(sha256sum $(KREW_DIR)/$$archive | cut -d' ' -f1); \
	  key=SHA256_$$(echo $${os}_$${arch} | tr a-z A-Z); \
	  sed -i "s/$$key/$$sum/" $(KREW_DIR)/volume-topology.yaml || exit 1; \
	done
	@! grep -n 'SHA256_' $(KREW_DIR)/volume-topology.yaml || { echo "a platform of the manifest has no archive in KREW_PLATFORMS" >&2; exit 1; }
	@echo "wrote $(KREW_DIR)/volume-topology.yaml"

# The Helm chart (deploy/helm/volume-topology-scheduler) and the kustomize
# overlays (deploy/kustomize/k8s<minor>). helm is built from its Go module
# like etcd, as a tool of hack/tools/go.mod: a module of its own, so helm's
# Kubernetes libraries never move the scheduler's pinned ones.
HELM_VERSION = $(shell cd hack/tools && GOFLAGS= $(GO) list -m -f '{{.Version}}' helm.sh/helm/v4)

.PHONY: helm
helm: $(BIN)/helm ## Build helm from the Go module proxy (a Go tool of hack/tools/go.mod) into bin/.
$(BIN)/helm: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && GOFLAGS= $(GO) build -ldflags "-X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)" -o $(BIN)/helm helm.sh/helm/v4/cmd/helm

# kubectl is built the same way, from hack/tools/kubectl/go.mod (its own
# module: k8s.io/kubernetes pulls every staging module), at the Kubernetes
# release go.mod pins. The install tests run the explain plugin through it.
KUBECTL_VERSION = $(shell cd hack/tools/kubectl && GOFLAGS= $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBECTL_MINOR   = $(word 2,$(subst ., ,$(KUBECTL_VERSION)))

.PHONY: kubectl
kubectl: $(BIN)/kubectl ## Build kubectl from the Go module proxy (a Go tool of hack/tools/kubectl/go.mod) into bin/.
$(BIN)/kubectl: hack/tools/kubectl/go.mod hack/tools/kubectl/go.sum
	cd hack/tools/kubectl && GOFLAGS= $(GO) build -ldflags "-X k8s.io/component-base/version.gitVersion=$(KUBECTL_VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(KUBECTL_MINOR) -X k8s.io/client-go/pkg/version.gitVersion=$(KUBECTL_VERSION) -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$(KUBECTL_MINOR)" -o $(BIN)/kubectl k8s.io/kubernetes/cmd/kubectl

# monitoring-check (test/monitoring) checks the alerts, ServiceMonitor and
# dashboard with Prometheus' rule and PromQL parsers and lists the metrics
# they use: a module of its own, so Prometheus' libraries never move the
# scheduler's pinned ones either.
.PHONY: monitoring-check
monitoring-check: $(BIN)/monitoring-check ## Build bin/monitoring-check from test/monitoring (its own Go module).
$(BIN)/monitoring-check: test/monitoring/go.mod test/monitoring/go.sum $(wildcard test/monitoring/*.go)
	cd test/monitoring && GOFLAGS= $(GO) build -o $(BIN)/monitoring-check .

.PHONY: test-install
test-install: etcd helm kubectl monitoring-check ## Install tests on the minor KUBE: helm lint and template (every minor), helm install and the kustomize overlay applied server-side on a local control plane, each scheduling the lease workload; explain as a kubectl plugin through a real kubectl; the monitoring objects render, parse and use only metrics the scheduler registers.
	@echo "== install tests (Helm chart, kustomize overlays), Kubernetes $(K8S_VERSION)"
	$(GO) test -count=1 -timeout 10m ./test/install/...

##@ Verify
.PHONY: verify
verify: ## Fail on unformatted code, go vet findings on any minor, stale generated code, go.mod, kube/*.mod, hack/tools/go.mod or test/monitoring/go.mod.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(KUBE_MINORS); do $(MAKE) --no-print-directory vet KUBE=$$m || exit 1; done
	GOFLAGS= hack/verify-codegen.sh
	GOFLAGS= $(GO) mod tidy -diff
	GOFLAGS= hack/verify-kube-modfiles.sh
	cd hack/tools && GOFLAGS= $(GO) mod tidy -diff
	cd hack/tools/kubectl && GOFLAGS= $(GO) mod tidy -diff
	cd test/monitoring && GOFLAGS= $(GO) mod tidy -diff
	cd test/monitoring && GOFLAGS= $(GO) vet ./...

.PHONY: vet
vet: ## go vet on the minor KUBE (with its build tag).
	@echo "== go vet, Kubernetes $(K8S_VERSION)"
	$(GO) vet ./...

.PHONY: generate
generate: ## Regenerate the plugin args' deepcopy, conversion and defaults code, and kube/*.mod from go.mod.
	GOFLAGS= hack/update-codegen.sh
	GOFLAGS= hack/update-kube-modfiles.sh
