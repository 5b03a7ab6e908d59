#!/usr/bin/env bash
# Writes kube/<minor>.mod and kube/<minor>.sum, the module files of the builds
# for older Kubernetes minors, from go.mod (the newest minor). Each keeps
# go.mod's direct requirements on Kubernetes modules and sigs.k8s.io/scheduler-plugins,
# moved to that minor's release, and lets `go mod tidy` pick everything else
# at the versions that release needs. Runs from any working directory;
# OUT_DIR (default kube/) says where to write.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
OUT_DIR="${OUT_DIR:-${ROOT}/kube}"
mkdir -p "${OUT_DIR}"

# minor, k8s.io/kubernetes version, staging version, go directive, staging
# modules that release does not have.
MINORS=(
	"1.36 v1.36.3 v0.36.3 1.26.0 -"
	"1.35 v1.35.4 v0.35.4 1.25.0 k8s.io/cri-streaming,k8s.io/streaming"
)

NEWEST_K8S="$(GOFLAGS= go list -m -f '{{.Version}}' k8s.io/kubernetes)"
NEWEST_STAGING="v0.${NEWEST_K8S#v1.}"

for entry in "${MINORS[@]}"; do
	read -r minor k8s staging goversion missing <<<"${entry}"
	mod="${OUT_DIR}/${minor}.mod"
	python3 - "${minor}" "${k8s}" "${staging}" "${goversion}" "${missing}" "${NEWEST_K8S}" "${NEWEST_STAGING}" "${mod}" <<'PY'
import re, sys
minor, k8s, staging, goversion, missing, newest_k8s, newest_staging, out = sys.argv[1:]
missing = [] if missing == "-" else missing.split(",")
src = open("go.mod").read()
module = re.search(r"^module (\S+)$", src, re.M).group(1)
replaces = re.findall(r"^\t(k8s\.io/\S+) => \S+ " + re.escape(newest_staging) + r"$", src, re.M)
requires = []
for block in re.findall(r"^require \(\n(.*?)\n\)", src, re.M | re.S):
    for line in block.splitlines():
        path, version = line.split()[:2]
        if "// indirect" in line:
            continue
        if path.startswith("k8s.io/") and version in (newest_staging, newest_k8s) or path.startswith("sigs.k8s.io/scheduler-plugins"):
            requires.append((path, version))
lines = [
    "// Kubernetes %s build of volume-topology-scheduler. Generated from go.mod by" % minor,
    "// hack/update-kube-modfiles.sh: do not edit. Used as go -modfile=kube/%s.mod" % minor,
    "// -tags=kube%s (make KUBE=%s)." % (minor, minor),
    "module " + module,
    "",
    "go " + goversion,
    "",
    "replace (",
]
for path in sorted(set(replaces) - set(missing)):
    lines.append("\t%s => %s %s" % (path, path, staging))
# go mod tidy reads the files of every build tag, and the newest minor's
# files import packages this release lacks: without the pin tidy would move
# k8s.io/kubernetes to a release that has them.
lines.append("\tk8s.io/kubernetes => k8s.io/kubernetes " + k8s)
lines += [")", "", "require ("]
for path, version in requires:
    if path in missing:
        continue
    if version == newest_staging:
        version = staging
    elif version == newest_k8s:
        version = k8s
    lines.append("\t%s %s" % (path, version))
lines += [")", ""]
open(out, "w").write("\n".join(lines))
PY
	rm -f "${OUT_DIR}/${minor}.sum"
	# -e: the newest minor's files import packages this release does not
	# have; they are built only with the newest go.mod.
	GOFLAGS= go mod tidy -e -modfile="${mod}" 2>&1 | { grep -v -e '^go: downloading' -e '^go: finding module' -e 'test/utils/client-go/ktesting' -e '^\s' -e 'tested by$' -e 'imports$' || true; }
	echo "kube/${minor}.mod: k8s.io/kubernetes ${k8s}"
done
