//go:build !kube1.35 && !kube1.36

package volumetopology

import fwk "k8s.io/kube-scheduler/framework"

// skipsPostFilter tells whether the scheduler will not run PostFilter for the
// pod if no node fits. From 1.37 a pod-group cycle skips the per-pod
// PostFilter (the group's PodGroupPostFilter runs instead, with no node
// statuses), so explainLeftOut cannot name a rule for the nodes a
// PreFilterResult left out.
func skipsPostFilter(cs fwk.CycleState) bool { return cs.IsPodGroupSchedulingCycle() }
