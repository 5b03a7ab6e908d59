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
.PHONY: run
run: build ## Run the scheduler against $$KUBECONFIG with manifests' configuration.
	@test -n "$$KUBECONFIG" || { echo "KUBECONFIG is not set: use 'make demo' for a local control plane" >&2; exit 1; }
	$(BIN)/volume-topology-scheduler --kubeconfig "$$KUBECONFIG" --authentication-kubeconfig "$$KUBECONFIG" --authorization-kubeconfig "$$KUBECONFIG" --config hack/local-scheduler-config.yaml --v=2

##@ Test
.PHONY: test
test: test-unit ## Run every test CI runs.

.PHONY: test-unit
test-unit: ## Unit tests (plugin, domain, args, manifests, command).
	$(GO) test -count=1 ./pkg/... ./cmd/... ./manifests/...

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
