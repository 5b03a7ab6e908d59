//go:build !kube1.35 && !kube1.36

package volumetopology

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// TestPodGroupMemberReasons: in a pod-group cycle (1.37) the scheduler runs no
// PostFilter for a member no node fits, so nothing would explain the nodes a
// PreFilterResult left out. A member gets no narrowing, and Filter gives
// every node the exact reason; outside a group the same pod is narrowed to
// the nodes of its disk's full zone that the disk is attached to, as before.
func TestPodGroupMemberReasons(t *testing.T) {
	c := sharedDiskCluster(18)
	c.nodes = append(c.nodes, zoneNode("a-plain", zoneA, plainType), zoneNode("b00", zoneB, nvmeType))
	for i := 0; i < 16; i++ {
		c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
	}
	pl, snap := c.setup(t, nil)
	_, ctx := ktesting.NewTestContext(t)
	nodes, err := snap.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	pod := makePod("member", "", "data")

	single := framework.NewCycleState()
	res, st := pl.PreFilter(ctx, single, pod, nodes)
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	if res.AllNodes() || res.NodeNames.Len() != 16 {
		t.Fatalf("outside a group, PreFilter must narrow to the 16 nodes of full zone a the disk is attached to, got %v", res)
	}

	group := framework.NewCycleState()
	group.SetPodGroupSchedulingCycle(framework.NewCycleState())
	res, st = pl.PreFilter(ctx, group, pod, nodes)
	if !st.IsSuccess() {
		t.Fatal(st)
	}
	if !res.AllNodes() {
		t.Fatalf("in a pod-group cycle, PreFilter must not narrow, got %d nodes", res.NodeNames.Len())
	}
	want := map[string]*fwk.Status{
		"a-plain": unresolvable(ErrReasonNotNVMe, "d-1"),
		"b00":     unresolvable(ErrReasonDiskZone, zoneA, "d-1"),
		"a16":     unresolvable(ErrReasonAttachLimit, "d-1", 16, zoneA, 16),
		"a17":     unresolvable(ErrReasonAttachLimit, "d-1", 16, zoneA, 16),
	}
	for i := 0; i < 16; i++ {
		want[c.nodes[i].Name] = unschedulable(ErrReasonHolder, "d-1")
	}
	for _, ni := range nodes {
		name := ni.Node().Name
		if diff := cmp.Diff(want[name], pl.Filter(ctx, group, pod, ni)); diff != "" {
			t.Errorf("node %s (-want +got):\n%s", name, diff)
		}
	}
}

// TestPodGroupMemberEvents: the scheduler runs no PostFilter for a member of
// a pod group (1.37), so PreFilter records its Warning events when our rules
// alone leave it no node; a member some node can take gets none, and
// outside a group PreFilter records none (PostFilter does).
func TestPodGroupMemberEvents(t *testing.T) {
	setup := func(holders int) (*VolumeTopology, []fwk.NodeInfo, *fakeRecorder) {
		c := sharedDiskCluster(18)
		for i := 0; i < holders; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		pl, snap := c.setup(t, nil)
		rec := &fakeRecorder{}
		pl.events = rec
		nodes, err := snap.NodeInfos().List()
		if err != nil {
			t.Fatal(err)
		}
		return pl, nodes, rec
	}
	_, ctx := ktesting.NewTestContext(t)
	groupCycle := func() fwk.CycleState {
		cs := framework.NewCycleState()
		cs.SetPodGroupSchedulingCycle(framework.NewCycleState())
		return cs
	}

	pl, nodes, rec := setup(16)
	if _, st := pl.PreFilter(ctx, framework.NewCycleState(), makePod("single", "", "data"), nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	if len(rec.events) != 0 {
		t.Errorf("outside a group PreFilter recorded %v, want none", rec.events)
	}
	if _, st := pl.PreFilter(ctx, groupCycle(), makePod("member", "", "data"), nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	want := []recordedEvent{
		{"member", v1.EventTypeWarning, EventAttachLimit, "Shared disk d-1 is attached to 16 nodes in zone cn-a, the limit (16): no other node of the zone can take the pod until the disk detaches from one"},
		{"member", v1.EventTypeWarning, EventHolderOnly, "16 node(s) in zone cn-a would take the pod but already run a pod using shared disk d-1 (one NVMe reservation holder per node)"},
	}
	got := slices.Clone(rec.events)
	slices.SortFunc(got, func(a, b recordedEvent) int { return cmpString(a.reason, b.reason) })
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(recordedEvent{})); diff != "" {
		t.Errorf("group member's events (-want +got):\n%s", diff)
	}

	// With a slot left in the zone, a node passes our rules: no event.
	pl, nodes, rec = setup(15)
	if _, st := pl.PreFilter(ctx, groupCycle(), makePod("member", "", "data"), nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	if len(rec.events) != 0 {
		t.Errorf("a member a node can take got %v, want no event", rec.events)
	}
}
