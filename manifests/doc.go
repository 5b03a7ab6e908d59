// Package manifests holds the Kubernetes manifests that install
// volume-topology-scheduler (kubectl apply -k manifests/) and example
// workloads (examples/). It embeds them so tests and tools can read them.
package manifests

import "embed"

// FS holds the install manifests and the examples, at their paths relative
// to this directory (for example "deployment.yaml", "examples/lease.yaml").
//
//go:embed *.yaml examples/*.yaml
var FS embed.FS
