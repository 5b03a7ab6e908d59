package volumetopology

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

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

// warnGroupMember records, for a pod whose PostFilter the scheduler will
// skip (see skipsPostFilter), the Warning events PostFilter records, when
// the plugin's own rules already leave the pod no node: then it stays
// pending whatever the other plugins say, and its events say why in the
// terms an operator alerts on. A pod some candidate passes our rules on
// gets none, as PostFilter would record none for a pod that is placed.
// Only such a member pays a look at every node, in PreFilter.
func (pl *VolumeTopology) warnGroupMember(pod *v1.Pod, s *stateData, candidates sets.Set[string], nodes []fwk.NodeInfo) {
	if pl.events == nil || len(s.disks) == 0 || candidates == nil {
		return
	}
	lister := pl.handle.SnapshotSharedLister().NodeInfos()
	for name := range candidates {
		ni, err := lister.Get(name)
		if err != nil || ni.Node() == nil {
			continue
		}
		if pl.firstFailure(s, ni) == nil {
			return
		}
	}
	statuses := framework.NewDefaultNodeToStatus()
	for _, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		if st := pl.firstFailure(s, ni); st != nil {
			statuses.Set(ni.Node().Name, st.WithPlugin(Name))
		}
	}
	pl.warn(pod, s, statuses)
}
