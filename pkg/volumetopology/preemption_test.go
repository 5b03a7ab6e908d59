package volumetopology

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/utils/ptr"
)

// TestPreemptionOfGroupMembersOnOtherNodes: DefaultPreemption removes and
// re-adds the members of a pod group on other nodes, handing AddPod and
// RemovePod a NodeInfo that does not reflect the change. Removing a holder
// must free its node's slot, and adding it back must take the slot again,
// once: the attach count follows the pod's own node, not the NodeInfo.
func TestPreemptionOfGroupMembersOnOtherNodes(t *testing.T) {
	c := sharedDiskCluster(17)
	var holders []*v1.Pod
	for i := 0; i < 16; i++ {
		holders = append(holders, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
	}
	c.pods = holders
	pl, snap := c.setup(t, nil)
	pod := makePod("new", "", "data")
	o := run(t, pl, snap, pod)
	_, ctx := ktesting.NewTestContext(t)
	a16, _ := snap.Get("a16")
	// The NodeInfo of the member's node, still holding it.
	unchanged, _ := snap.Get("a03")
	limit := unresolvable(ErrReasonAttachLimit, "d-1", 16, zoneA, 16)

	state := o.state.Clone()
	member := mustNewPodInfo(t, holders[3])
	if st := pl.RemovePod(ctx, state, pod, member, unchanged); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Filter(ctx, state, pod, a16); st != nil {
		t.Errorf("after removing the member on a03, a16 must pass the cap: %v", st)
	}
	if st := pl.AddPod(ctx, state, pod, member, unchanged); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Filter(ctx, state, pod, a16); st.Message() != limit.Message() {
		t.Errorf("after adding the member back, a16 = %v, want %v", st, limit)
	}
	// Removed twice (two members on one node) and added twice: still 16.
	other := mustNewPodInfo(t, makePod("h3b", "a03", "data"))
	for _, pi := range []fwk.PodInfo{member, other} {
		pl.RemovePod(ctx, state, pod, pi, a16)
	}
	for _, pi := range []fwk.PodInfo{member, other} {
		pl.AddPod(ctx, state, pod, pi, a16)
	}
	if st := pl.Filter(ctx, state, pod, a16); st.Message() != limit.Message() {
		t.Errorf("after removing and re-adding two members, a16 = %v, want %v", st, limit)
	}
}

// TestNominatedPodKeepsItsSlot: a preemptor nominated to a node the disk is
// not attached to yet holds a slot of the zone against pods of no higher
// priority, but not against itself.
func TestNominatedPodKeepsItsSlot(t *testing.T) {
	c := sharedDiskCluster(17)
	for i := 0; i < 15; i++ {
		c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
	}
	pl, snap := c.setup(t, nil)
	preemptor := makePod("preemptor", "", "data")
	preemptor.Spec.Priority = ptr.To[int32](100)
	preemptor.Status.NominatedNodeName = "a15"
	pl.nominator = func(node string) []fwk.PodInfo {
		if node == "a15" {
			return []fwk.PodInfo{mustNewPodInfo(t, preemptor)}
		}
		return nil
	}
	limit := unresolvable(ErrReasonAttachLimit, "d-1", 16, zoneA, 16)

	low := makePod("low", "", "data")
	if o := run(t, pl, snap, low); o.filter["a16"].Message() != limit.Message() {
		t.Errorf("lower-priority pod on a16 = %v, want %v", o.filter["a16"], limit)
	}
	if o := run(t, pl, snap, preemptor); o.filter["a15"] != nil || o.filter["a16"] != nil {
		t.Errorf("the preemptor must not count against itself: a15 = %v, a16 = %v", o.filter["a15"], o.filter["a16"])
	}
	high := makePod("high", "", "data")
	high.Spec.Priority = ptr.To[int32](1000)
	preemptor.Spec.Priority = ptr.To[int32](100)
	if o := run(t, pl, snap, high); o.filter["a16"] != nil {
		t.Errorf("a nominated pod of lower priority must not hold a slot against a higher one: a16 = %v", o.filter["a16"])
	}
}
