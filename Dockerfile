# syntax=docker/dockerfile:1
#
# volume-topology-scheduler image for one Kubernetes minor (KUBE: 1.35, 1.36
# or 1.37, the newest by default). `make image KUBE=1.36` builds it and tags
# it <repository>:<version>-k8s1.36:
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg KUBE=1.36 \
#     -t volume-topology-scheduler:$(git describe --tags --always)-k8s1.36 .

# The builder runs on the build machine and cross-compiles for the target, so
# multi-platform builds (docker buildx --platform) need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS builder

WORKDIR /src

# go.mod pins the newest minor; kube/<minor>.mod (and .sum) each older one,
# built with its build tag.
ARG KUBE=1.37
ENV KUBE_NEWEST=1.37

# Dependencies in their own layer: it is rebuilt only when the module files
# change, and the module cache persists across builds.
COPY go.mod go.sum ./
COPY kube/ kube/
RUN --mount=type=cache,target=/root/go/pkg/mod \
    if [ "${KUBE}" != "${KUBE_NEWEST}" ]; then export GOFLAGS="-modfile=kube/${KUBE}.mod -tags=kube${KUBE}"; fi; \
    go mod download

COPY . .

ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
# The component-base version variables make --version and the
# kubernetes_build_info metric report the Kubernetes release the binary is
# built on, read from its module file.
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    if [ "${KUBE}" != "${KUBE_NEWEST}" ]; then export GOFLAGS="-modfile=kube/${KUBE}.mod -tags=kube${KUBE}"; fi; \
    K8S_VERSION="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)" && \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w \
        -X github.com/volume-topology/volume-topology-scheduler/pkg/version.Version=${VERSION} \
        -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
        -X k8s.io/component-base/version.gitMajor=1 \
        -X k8s.io/component-base/version.gitMinor=${KUBE#1.}" \
      -o /out/volume-topology-scheduler \
      ./cmd/volume-topology-scheduler

# Static binary, no shell, runs as the distroless "nonroot" user.
FROM gcr.io/distroless/static:nonroot

COPY --from=builder /out/volume-topology-scheduler /usr/local/bin/volume-topology-scheduler
USER 65532:65532

ENTRYPOINT ["/usr/local/bin/volume-topology-scheduler"]
