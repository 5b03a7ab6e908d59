package volumetopology

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
)

func setOf(names ...string) sets.Set[string] { return sets.New(names...) }

// TestScore covers rule 5: an unbound shared claim prefers the zone with the
// most eligible nodes.
func TestScore(t *testing.T) {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		sharedClaim("data", "shared"),
	}}
	for i := 0; i < 5; i++ {
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("a%d", i), zoneA, nvmeType))
	}
	for i := 0; i < 2; i++ {
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("b%d", i), zoneB, nvmeType))
	}
	// Zone C has many nodes but none can attach shared disks.
	for i := 0; i < 8; i++ {
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("c%d", i), zoneC, plainType))
	}
	pl, snap := c.setup(t, nil)
	pod := makePod("p", "", "data")
	o := run(t, pl, snap, pod)
	if !o.preFilter.IsSuccess() {
		t.Fatal(o.preFilter)
	}
	_, ctx := ktesting.NewTestContext(t)
	nodes, _ := snap.NodeInfos().List()
	if st := pl.PreScore(ctx, o.state, pod, nodes); !st.IsSuccess() {
		t.Fatalf("PreScore = %v", st)
	}
	var scores fwk.NodeScoreList
	for _, ni := range nodes {
		if o.filter[ni.Node().Name] != nil {
			continue
		}
		s, st := pl.Score(ctx, o.state, pod, ni)
		if !st.IsSuccess() {
			t.Fatal(st)
		}
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: s})
	}
	if st := pl.NormalizeScore(ctx, o.state, pod, scores); !st.IsSuccess() {
		t.Fatal(st)
	}
	got := map[string]int64{}
	for _, s := range scores {
		got[s.Name] = s.Score
	}
	if got["a0"] != fwk.MaxNodeScore || got["b0"] != fwk.MaxNodeScore*2/5 {
		t.Errorf("scores = %v, want zone %s at %d and zone %s at %d", got, zoneA, fwk.MaxNodeScore, zoneB, fwk.MaxNodeScore*2/5)
	}
	if got["a0"] <= got["b0"] {
		t.Errorf("the zone with more eligible nodes must score higher: %v", got)
	}
}

// TestScoreSkipped: a pod whose shared disk is bound has no zone to choose.
func TestScoreSkipped(t *testing.T) {
	c := sharedDiskCluster(2)
	pl, snap := c.setup(t, nil)
	pod := makePod("p", "", "data")
	o := run(t, pl, snap, pod)
	_, ctx := ktesting.NewTestContext(t)
	if st := pl.PreScore(ctx, o.state, pod, nil); st.Code() != fwk.Skip {
		t.Errorf("PreScore = %v, want Skip", st)
	}
}

// TestPreFilterExtensions: preemption dry-runs that add or remove holders keep
// the attach counts right.
func TestPreFilterExtensions(t *testing.T) {
	c := sharedDiskCluster(17)
	var holders []*v1.Pod
	for i := 0; i < 16; i++ {
		p := makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data")
		holders = append(holders, p)
	}
	c.pods = holders
	pl, snap := c.setup(t, nil)
	pod := makePod("new", "", "data")
	o := run(t, pl, snap, pod)
	_, ctx := ktesting.NewTestContext(t)

	// Simulate evicting the holder on a00: its node is no longer attached, so
	// the zone has a free slot and a16 passes the cap.
	state := o.state.Clone()
	ni, _ := snap.Get("a00")
	ni = ni.Snapshot()
	if err := ni.RemovePod(klogger(t), holders[0]); err != nil {
		t.Fatal(err)
	}
	pi := mustNewPodInfo(t, holders[0])
	if st := pl.RemovePod(ctx, state, pod, pi, ni); !st.IsSuccess() {
		t.Fatal(st)
	}
	a16, _ := snap.Get("a16")
	if st := pl.Filter(ctx, state, pod, a16); st != nil {
		t.Errorf("after removing a holder, a16 must pass: %v", st)
	}
	if st := pl.Filter(ctx, state, pod, ni); st != nil {
		t.Errorf("a00 without its holder must pass: %v", st)
	}
	// The original state is untouched (Clone copied the counts).
	if st := pl.Filter(ctx, o.state, pod, a16); st == nil {
		t.Error("the original cycle state must still see 16 attached nodes")
	}

	// Adding the holder back fills the zone again.
	ni.AddPodInfo(pi)
	if st := pl.AddPod(ctx, state, pod, pi, ni); !st.IsSuccess() {
		t.Fatal(st)
	}
	if st := pl.Filter(ctx, state, pod, a16); st == nil {
		t.Error("after adding the holder back, a16 must be rejected by the cap")
	}
}

func klogger(t *testing.T) klogLogger {
	logger, _ := ktesting.NewTestContext(t)
	return logger
}

// TestPreFilterResultUnboundShared: an unbound shared claim's zoneId narrows
// the candidates to the NVMe-capable nodes of those zones.
func TestPreFilterResultUnboundShared(t *testing.T) {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true", "zoneId": "cn-a,cn-b"}),
		sharedClaim("data", "shared"),
	}}
	c.nodes = []*v1.Node{
		zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, plainType),
		zoneNode("b0", zoneB, nvmeType), zoneNode("c0", zoneC, nvmeType),
	}
	pl, snap := c.setup(t, nil)
	o := run(t, pl, snap, makePod("p", "", "data"))
	if o.result == nil || !o.result.NodeNames.Equal(setOf("a0", "b0")) {
		t.Errorf("PreFilterResult = %v, want the NVMe-capable nodes of zoneId", o.result)
	}
}

// TestPreFilterBeforeNodeIndexSync: until the node index has seen every node
// of the informer's first list, PreFilter must not narrow the nodes (the
// index may miss some), and Filter still decides every node from its labels.
func TestPreFilterBeforeNodeIndexSync(t *testing.T) {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true", "zoneId": "cn-a"}),
		sharedClaim("data", "shared"),
	}}
	c.nodes = []*v1.Node{zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, plainType), zoneNode("b0", zoneB, nvmeType)}
	pl, snap := c.setup(t, nil)
	pl.nodesSynced = func() bool { return false }
	o := run(t, pl, snap, makePod("p", "", "data"))
	if o.result != nil {
		t.Errorf("PreFilterResult = %v before the node index synced, want nil", o.result)
	}
	want := map[string]*fwk.Status{
		"a0": nil,
		"a1": unresolvable(ErrReasonNotNVMe, "of claim default/data"),
		"b0": unresolvable(ErrReasonClassZone, "cn-a", "shared"),
	}
	if diff := cmp.Diff(want, o.filter); diff != "" {
		t.Errorf("Filter (-want,+got):\n%s", diff)
	}
}

// TestScoreNoZone: nodes without a zone label are not a zone. Three
// zone-less NVMe nodes (which a regional shared disk may use) do not outrank
// a zone of two.
func TestScoreNoZone(t *testing.T) {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_regional_disk_auto", "multiAttach": "true"}),
		sharedClaim("data", "shared"),
	}}
	c.nodes = append(c.nodes, zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType))
	for i := 0; i < 3; i++ {
		c.nodes = append(c.nodes, noZoneNode(fmt.Sprintf("nozone-%d", i)))
	}
	pl, snap := c.setup(t, nil)
	pod := makePod("p", "", "data")
	o := run(t, pl, snap, pod)
	if !o.preFilter.IsSuccess() {
		t.Fatal(o.preFilter)
	}
	s, err := getState(o.state)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{zoneA: 2}, s.zoneScore); diff != "" {
		t.Errorf("zone scores (-want +got):\n%s", diff)
	}
	_, ctx := ktesting.NewTestContext(t)
	nodes, _ := snap.NodeInfos().List()
	var scores fwk.NodeScoreList
	for _, ni := range nodes {
		if o.filter[ni.Node().Name] != nil {
			t.Fatalf("node %s rejected: %v", ni.Node().Name, o.filter[ni.Node().Name])
		}
		sc, st := pl.Score(ctx, o.state, pod, ni)
		if !st.IsSuccess() {
			t.Fatal(st)
		}
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
	}
	if st := pl.NormalizeScore(ctx, o.state, pod, scores); !st.IsSuccess() {
		t.Fatal(st)
	}
	for _, s := range scores {
		want := int64(0)
		if s.Name == "a0" || s.Name == "a1" {
			want = fwk.MaxNodeScore
		}
		if s.Score != want {
			t.Errorf("node %s scores %d, want %d", s.Name, s.Score, want)
		}
	}
}

// TestZoneScoreNeverNegative: when the snapshot counts more holders in a zone
// than the node index counts NVMe nodes there (the index has not seen a node
// yet, or has dropped it), the zone scores 0, not a negative number that
// would fail the scheduling cycle.
func TestZoneScoreNeverNegative(t *testing.T) {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		sharedClaim("data", "shared"),
	}}
	c.nodes = []*v1.Node{zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("b0", zoneB, nvmeType)}
	c.assumed = []*v1.Pod{makePod("h0", "a0", "data"), makePod("h1", "a1", "data")}
	pl, snap := c.setup(t, nil)
	// The index lost a0: zone A counts 1 NVMe node and 2 holders.
	pl.nodes.remove("a0")
	pod := makePod("p", "", "data")
	o := run(t, pl, snap, pod)
	if !o.preFilter.IsSuccess() {
		t.Fatal(o.preFilter)
	}
	s, err := getState(o.state)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{zoneA: 0, zoneB: 1}, s.zoneScore); diff != "" {
		t.Errorf("zone scores (-want,+got):\n%s", diff)
	}
	_, ctx := ktesting.NewTestContext(t)
	nodes, _ := snap.NodeInfos().List()
	var scores fwk.NodeScoreList
	for _, ni := range nodes {
		sc, st := pl.Score(ctx, o.state, pod, ni)
		if !st.IsSuccess() {
			t.Fatal(st)
		}
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: sc})
	}
	if st := pl.NormalizeScore(ctx, o.state, pod, scores); !st.IsSuccess() {
		t.Fatal(st)
	}
	for _, sc := range scores {
		if sc.Score < 0 || sc.Score > fwk.MaxNodeScore {
			t.Errorf("node %s scores %d, outside [0, %d]", sc.Name, sc.Score, fwk.MaxNodeScore)
		}
	}
}
