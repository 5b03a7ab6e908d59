//go:build kube1.35 || kube1.36

package volumetopology

import fwk "k8s.io/kube-scheduler/framework"

// skipsPostFilter: 1.35 has no pod-group cycle, and 1.36 runs PostFilter
// for each member of a group (see podgroupcycle.go).
func skipsPostFilter(fwk.CycleState) bool { return false }
