package volumetopology

import fwk "k8s.io/kube-scheduler/framework"

// resultForCycle returns the PreFilterResult to hand the scheduler. Where it
// will not run PostFilter for a pod no node fits (a pod-group cycle, see
// skipsPostFilter), a narrowed result would leave every node outside it with
// the scheduler's generic "didn't satisfy plugin(s)" reason: then the pod
// gets no narrowing, and Filter names the rule each node fails. The cost is
// the filtering the narrowing saves: every member of a group is filtered on
// every node of the snapshot rather than on the NVMe nodes of its disks'
// zones (our Filter is a few map look-ups per node; the other plugins'
// filters run on those nodes too, up to the first that rejects).
func resultForCycle(cs fwk.CycleState, result *fwk.PreFilterResult) *fwk.PreFilterResult {
	if result == nil || !skipsPostFilter(cs) {
		return result
	}
	return nil
}
