//go:build kube1.35 || kube1.36

package integration

// Pod groups are tested on 1.37 only (GenericWorkload is alpha in 1.35 and
// 1.36, with another API).
var (
	podGroupGates          []string
	podGroupAPIServerFlags []string
)
