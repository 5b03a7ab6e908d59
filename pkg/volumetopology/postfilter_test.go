package volumetopology

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// leaseAtTheLimit: a shared disk bound in zone a with a cap of 2, held on
// a0 and a1; a2 is free but the zone is full; a3 is not NVMe-capable; b0 is
// in another zone.
func leaseAtTheLimit(t *testing.T) (*VolumeTopology, []fwk.NodeInfo) {
	args := DefaultArgs()
	args.MaxNodesPerZone = 2
	c := cluster{
		nodes: []*v1.Node{
			zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("a2", zoneA, nvmeType),
			zoneNode("a3", zoneA, plainType), zoneNode("b0", zoneB, nvmeType), zoneNode("b1", zoneB, plainType),
		},
		objs: []runtime.Object{
			boundTo(sharedClaim("data", "shared"), "pv-1"),
			diskPV("pv-1", "d-1", "data", true, disk.LabelDriverZone, zoneA),
		},
		pods: []*v1.Pod{makePod("h0", "a0", "data"), makePod("h1", "a1", "data")},
	}
	pl, snap := c.setup(t, args)
	nodes, _ := snap.NodeInfos().List()
	return pl, nodes
}

// schedule runs the plugin the way the scheduler does for a pod no node fits:
// PreFilter, Filter on the candidates only (the others get the status for
// absent nodes), then PostFilter; it returns the FitError message.
func schedule(t *testing.T, pl *VolumeTopology, nodes []fwk.NodeInfo, pod *v1.Pod) (*framework.NodeToStatus, string) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	cs := framework.NewCycleState()
	res, st := pl.PreFilter(ctx, cs, pod, nodes)
	if !st.IsSuccess() {
		t.Fatalf("PreFilter = %v", st)
	}
	m := framework.NewDefaultNodeToStatus()
	if res != nil {
		m.SetAbsentNodesStatus(fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) didn't satisfy plugin(s) [%s]", Name)))
	}
	for _, ni := range nodes {
		if res != nil && !res.NodeNames.Has(ni.Node().Name) {
			continue
		}
		if st := pl.Filter(ctx, cs, pod, ni); st != nil {
			m.Set(ni.Node().Name, st.WithPlugin(Name))
		} else {
			t.Fatalf("node %s fits; this test wants a pod no node fits", ni.Node().Name)
		}
	}
	if _, st := pl.PostFilter(ctx, cs, pod, m); st.Code() != fwk.Unschedulable {
		t.Fatalf("PostFilter = %v, want Unschedulable (it never nominates)", st)
	}
	fitErr := &framework.FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: framework.Diagnosis{NodeToStatus: m}}
	return m, fitErr.Error()
}

// TestPostFilterExplainsEveryNode: the nodes PreFilter's candidates left out
// get the status Filter would give them, so no "didn't satisfy plugin(s)"
// group remains in the pod's message.
func TestPostFilterExplainsEveryNode(t *testing.T) {
	pl, nodes := leaseAtTheLimit(t)
	m, msg := schedule(t, pl, nodes, makePod("p", "", "data"))
	want := map[string]*fwk.Status{
		"a0": unschedulable(ErrReasonHolder, "d-1").WithPlugin(Name),
		"a1": unschedulable(ErrReasonHolder, "d-1").WithPlugin(Name),
		"a2": unresolvable(ErrReasonAttachLimit, "d-1", 2, zoneA, 2).WithPlugin(Name),
		"a3": unresolvable(ErrReasonNotNVMe, "d-1").WithPlugin(Name),
		"b0": unresolvable(ErrReasonDiskZone, zoneA, "d-1").WithPlugin(Name),
		"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1").WithPlugin(Name),
	}
	checkStatuses(t, want, m, nodes)
	wantMsg := "0/6 nodes are available: " +
		"1 node(s) cannot take shared disk: disk d-1 is attached to 2 nodes in zone cn-a (limit 2), " +
		"1 node(s) do not support NVMe multi-attach, required by shared disk d-1, " +
		"2 node(s) already run a pod using shared disk d-1 (one reservation holder per node), " +
		"2 node(s) are outside zone(s) cn-a of disk d-1."
	if msg != wantMsg {
		t.Errorf("message\n  %s\nwant\n  %s", msg, wantMsg)
	}
}

// TestPostFilterLeavesOtherNodes: a node another plugin's PreFilterResult
// left out, which passes our rules, keeps the scheduler's status; nodes with
// a status of their own keep it; a pod without our claims is left alone.
func TestPostFilterLeavesOtherNodes(t *testing.T) {
	pl, nodes := leaseAtTheLimit(t)
	_, ctx := ktesting.NewTestContext(t)
	pod := makePod("p", "", "data")
	cs := framework.NewCycleState()
	if _, st := pl.PreFilter(ctx, cs, pod, nodes); !st.IsSuccess() {
		t.Fatal(st)
	}
	absent := fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [NodeAffinity VolumeTopology]")
	m := framework.NewNodeToStatus(map[string]*fwk.Status{"b0": fwk.NewStatus(fwk.Unschedulable, "Insufficient cpu")}, absent)
	pl.PostFilter(ctx, cs, pod, m)
	if got := m.Get("b0").Message(); got != "Insufficient cpu" {
		t.Errorf("b0 = %q, want its own status kept", got)
	}
	if got := m.Get("a3"); got.Message() != fmt.Sprintf(ErrReasonNotNVMe, "d-1") {
		t.Errorf("a3 = %v, want the NVMe reason", got)
	}
	// a0 is a candidate (a holder, which preemption may free): if it is
	// absent, another plugin left it out.
	if got := m.Get("a0"); got != absent {
		t.Errorf("a0 = %v, want the scheduler's status for absent nodes kept", got)
	}
	// a2 is not: the disk is attached to the limit of zone a's nodes, and
	// not to a2.
	if got, want := m.Get("a2").Message(), fmt.Sprintf(ErrReasonAttachLimit, "d-1", 2, zoneA, 2); got != want {
		t.Errorf("a2 = %q, want %q", got, want)
	}

	plain := framework.NewDefaultNodeToStatus()
	cs = framework.NewCycleState()
	if _, st := pl.PreFilter(ctx, cs, makePod("plain", ""), nodes); !st.IsSkip() {
		t.Fatal(st)
	}
	if _, st := pl.PostFilter(ctx, cs, makePod("plain", ""), plain); st.Code() != fwk.Unschedulable || plain.Len() != 0 {
		t.Errorf("pod without claims: PostFilter = %v, %d statuses set", st, plain.Len())
	}
}

type recordedEvent struct{ pod, kind, reason, note string }

type fakeRecorder struct {
	mu     sync.Mutex
	events []recordedEvent
}

func (r *fakeRecorder) Eventf(regarding runtime.Object, _ runtime.Object, eventtype, reason, _, note string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, recordedEvent{regarding.(*v1.Pod).Name, eventtype, reason, fmt.Sprintf(note, args...)})
}

// TestWarningEvents: a pod kept out by the attach limit and by holders gets
// one Warning event of each, naming disk, zone and count, not one per
// scheduling attempt; again once the interval has passed.
func TestWarningEvents(t *testing.T) {
	pl, nodes := leaseAtTheLimit(t)
	rec := &fakeRecorder{}
	pl.events = rec
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pl.warned.now = func() time.Time { return now }
	pod := makePod("p", "", "data")
	schedule(t, pl, nodes, pod)
	schedule(t, pl, nodes, pod)
	want := []recordedEvent{
		{"p", v1.EventTypeWarning, EventHolderOnly, "2 node(s) in zone cn-a would take the pod but already run a pod using shared disk d-1 (one NVMe reservation holder per node)"},
		{"p", v1.EventTypeWarning, EventAttachLimit, "Shared disk d-1 is attached to 2 nodes in zone cn-a, the limit (2): no other node of the zone can take the pod until the disk detaches from one"},
	}
	sorted := func(e []recordedEvent) []recordedEvent {
		e = slices.Clone(e)
		slices.SortFunc(e, func(a, b recordedEvent) int { return cmpString(a.reason, b.reason) })
		return e
	}
	if diff := cmp.Diff(sorted(want), sorted(rec.events), cmp.AllowUnexported(recordedEvent{})); diff != "" {
		t.Errorf("events after two attempts (-want,+got):\n%s", diff)
	}
	now = now.Add(warnInterval)
	schedule(t, pl, nodes, pod)
	if len(rec.events) != 4 {
		t.Errorf("after %s: %d events, want the two again (4)", warnInterval, len(rec.events))
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestPostFilterExplainsZoneNarrowing: a pod without shared disks whose
// single-attach disks are in zone a gets only zone a's nodes to evaluate;
// when none fits, the nodes of other zones are named with the disk's zone,
// not with the scheduler's "didn't satisfy plugin(s)".
func TestPostFilterExplainsZoneNarrowing(t *testing.T) {
	c := singleAttachCluster()
	c.nodes = append(c.nodes, zoneNode("b2", zoneB, plainType))
	c.pods = []*v1.Pod{makePod("x", "a1", "data"), makePod("y", "a2", "other")}
	pl, snap := c.setup(t, nil)
	nodes, _ := snap.NodeInfos().List()
	pod := makePod("new", "", "data", "other")
	if o := run(t, pl, snap, pod); o.result == nil || !o.result.NodeNames.Equal(setOf("a1", "a2", "a3")) {
		t.Fatalf("candidates = %v, want zone %s's nodes", o.result, zoneA)
	}
	m, msg := schedule(t, pl, nodes, pod)
	want := map[string]*fwk.Status{
		"a1": unresolvable(ErrReasonInUse, "d-2", "default/y", "a2").WithPlugin(Name),
		"a2": unresolvable(ErrReasonInUse, "d-1", "default/x", "a1").WithPlugin(Name),
		"a3": unresolvable(ErrReasonInUse, "d-1", "default/x", "a1").WithPlugin(Name),
		"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1").WithPlugin(Name),
		"b2": unresolvable(ErrReasonDiskZone, zoneA, "d-1").WithPlugin(Name),
	}
	checkStatuses(t, want, m, nodes)
	if strings.Contains(msg, "didn't satisfy") {
		t.Errorf("message %q still has the scheduler's generic reason", msg)
	}
}

// checkStatuses compares every node's status after PostFilter with want.
func checkStatuses(t *testing.T, want map[string]*fwk.Status, m *framework.NodeToStatus, nodes []fwk.NodeInfo) {
	t.Helper()
	got := map[string]*fwk.Status{}
	for _, ni := range nodes {
		got[ni.Node().Name] = m.Get(ni.Node().Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node statuses (-want,+got):\n%s", diff)
	}
}
