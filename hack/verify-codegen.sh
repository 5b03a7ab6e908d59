#!/usr/bin/env bash
# Fails when the generated code of the plugin args (pkg/apis/config/...) is
# stale. It regenerates into a temporary copy of the module and compares, so
# the working tree is never modified. Runs from any working directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
API_DIR="pkg/apis/config"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/verify-codegen.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

# Everything the generators may read; build outputs and git data are left out.
tar -C "${ROOT}" \
	--exclude=./.git --exclude=./bin --exclude=./_output --exclude=./.cache \
	-cf - . | tar -C "${TMP}" -xf -

"${TMP}/hack/update-codegen.sh" >/dev/null

generated() {
	(cd "$1" && find "${API_DIR}" -type f -name 'zz_generated.*.go')
}

stale=0
while IFS= read -r f; do
	want="${TMP}/${f}"
	have="${ROOT}/${f}"
	[[ -f "${want}" ]] || want=/dev/null
	[[ -f "${have}" ]] || have=/dev/null
	if ! diff -u --label "${f} (in the tree)" --label "${f} (regenerated)" "${have}" "${want}"; then
		stale=1
	fi
done < <({ generated "${ROOT}"; generated "${TMP}"; } | LC_ALL=C sort -u)

if [[ "${stale}" -ne 0 ]]; then
	echo >&2
	echo "ERROR: generated code under ${API_DIR} is out of date (diff above)." >&2
	echo "Run hack/update-codegen.sh (or 'make generate') and include the result." >&2
	exit 1
fi
echo "Generated code under ${API_DIR} is up to date."
