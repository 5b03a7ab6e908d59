#!/usr/bin/env bash
# Regenerates the deepcopy, defaulter and conversion code of the plugin args
# (pkg/apis/config/...) with the code-generator pinned as Go tool dependencies
# in go.mod. Runs from any working directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

BOILERPLATE="${ROOT}/hack/boilerplate.go.txt"
MODULE="$(go list -m)"
API_DIR="pkg/apis/config"
INTERNAL_PKG="${MODULE}/${API_DIR}"
V1_PKG="${MODULE}/${API_DIR}/v1"

# Generated files are removed first, so a type that was deleted or renamed
# leaves nothing behind and the generators never read their own stale output.
find "${API_DIR}" -type f -name 'zz_generated.*.go' -delete

echo "Generating deepcopy functions"
go tool deepcopy-gen \
	--go-header-file "${BOILERPLATE}" \
	--output-file zz_generated.deepcopy.go \
	"${INTERNAL_PKG}" "${V1_PKG}"

echo "Generating defaulters"
go tool defaulter-gen \
	--go-header-file "${BOILERPLATE}" \
	--output-file zz_generated.defaults.go \
	"${V1_PKG}"

echo "Generating conversions"
go tool conversion-gen \
	--go-header-file "${BOILERPLATE}" \
	--output-file zz_generated.conversion.go \
	"${V1_PKG}"
