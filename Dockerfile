# syntax=docker/dockerfile:1
#
# volume-topology-scheduler image:
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t volume-topology-scheduler:latest .

# The builder runs on the build machine and cross-compiles for the target, so
# multi-platform builds (docker buildx --platform) need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS builder

WORKDIR /src

# Dependencies in their own layer: it is rebuilt only when go.mod or go.sum
# change, and the module cache persists across builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod \
    go mod download

COPY . .

ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
# The component-base version variables make --version and the
# kubernetes_build_info metric report the Kubernetes release the binary is
# built on (k8s.io/kubernetes v1.34.10, see go.mod); keep them in step with it.
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags "-s -w \
        -X github.com/volume-topology/volume-topology-scheduler/pkg/version.Version=${VERSION} \
        -X k8s.io/component-base/version.gitVersion=v1.34.10 \
        -X k8s.io/component-base/version.gitMajor=1 \
        -X k8s.io/component-base/version.gitMinor=34" \
      -o /out/volume-topology-scheduler \
      ./cmd/volume-topology-scheduler

# Static binary, no shell, runs as the distroless "nonroot" user.
FROM gcr.io/distroless/static:nonroot

COPY --from=builder /out/volume-topology-scheduler /usr/local/bin/volume-topology-scheduler
USER 65532:65532

ENTRYPOINT ["/usr/local/bin/volume-topology-scheduler"]
