package volumetopology

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	schedulerapi "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestCandidatesWithoutFullZones: when a shared disk is attached to the
// limit of a zone's nodes, PreFilter's candidates keep, of that zone, only
// the nodes the disk is attached to (holders, which preemption may free,
// and nodes a VolumeAttachment names); zones with room keep every NVMe node.
func TestCandidatesWithoutFullZones(t *testing.T) {
	objs := []runtime.Object{
		// d-1: no zone in its volume, so every zone's nodes are candidates.
		boundTo(sharedClaim("data", "shared"), "pv-1"),
		diskPV("pv-1", "d-1", "data", true, "", ""),
	}
	nodes := []*v1.Node{
		zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("a2", zoneA, nvmeType), zoneNode("a3", zoneA, nvmeType),
		zoneNode("b0", zoneB, nvmeType), zoneNode("b1", zoneB, nvmeType), zoneNode("b2", zoneB, plainType),
	}
	tests := []struct {
		name string
		pods []*v1.Pod
		objs []runtime.Object
		want sets.Set[string] // nil: no narrowing
	}{
		{name: "room everywhere", pods: []*v1.Pod{makePod("h0", "a0", "data")}, want: setOf("a0", "a1", "a2", "a3", "b0", "b1")},
		{
			name: "zone a full through pods",
			pods: []*v1.Pod{makePod("h0", "a0", "data"), makePod("h1", "a1", "data")},
			want: setOf("a0", "a1", "b0", "b1"),
		},
		{
			name: "zone a full through a pod and a VolumeAttachment",
			pods: []*v1.Pod{makePod("h0", "a0", "data")},
			objs: []runtime.Object{volumeAttachment("pv-1", "a2")},
			want: setOf("a0", "a2", "b0", "b1"),
		},
		{
			name: "both zones full",
			pods: []*v1.Pod{makePod("h0", "a0", "data"), makePod("h1", "a1", "data"), makePod("h2", "b0", "data"), makePod("h3", "b1", "data")},
			want: setOf("a0", "a1", "b0", "b1"),
		},
		{
			// Two VolumeAttachments on nodes the scheduler does not know
			// count in every zone: every zone is full, and no known node is
			// attached, so nothing is narrowed and Filter explains every node.
			name: "full everywhere, attached nowhere known",
			objs: []runtime.Object{volumeAttachment("pv-1", "gone-1"), volumeAttachment("pv-1", "gone-2")},
			want: setOf("a0", "a1", "a2", "a3", "b0", "b1"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := DefaultArgs()
			args.MaxNodesPerZone = 2
			c := cluster{nodes: nodes, objs: append(append([]runtime.Object{}, objs...), tc.objs...), pods: tc.pods}
			pl, snap := c.setup(t, args)
			o := run(t, pl, snap, makePod("p", "", "data"))
			if !o.preFilter.IsSuccess() {
				t.Fatal(o.preFilter)
			}
			if o.result == nil || !o.result.NodeNames.Equal(tc.want) {
				t.Fatalf("candidates = %v, want %v", o.result, sets.List(tc.want))
			}
			// Every node left out is one Filter rejects with the attach
			// limit, which preemption cannot change.
			for name, st := range o.filter {
				if tc.want.Has(name) {
					continue
				}
				if st.IsSuccess() || st.Code().String() != "UnschedulableAndUnresolvable" {
					t.Errorf("%s was left out, but Filter says %v", name, st)
				}
			}
		})
	}
}

var candidateSeeds = flag.Int("candidate-seeds", 200, "random cluster states TestCandidatesKeepEveryNodeThatCanPass tries")

// TestCandidatesKeepEveryNodeThatCanPass: PreFilter's candidate list is a
// shortcut, never a rule. In random clusters (shared and single-attach
// disks, bound and unbound, classes with one or two zoneId zones, regional
// types and allowedTopologies, nodes without a zone or labelled with one
// key only, holders and VolumeAttachments), every node left out fails a
// rule of Filter's as UnschedulableAndUnresolvable, which evicting pods
// there cannot change; and a list is never empty. Run with -candidate-seeds for more.
func TestCandidatesKeepEveryNodeThatCanPass(t *testing.T) {
	narrowed := map[bool]int{} // by whether the pod has a shared disk
	for seed := range uint64(*candidateSeeds) {
		c, pod, args := randomCluster(rand.New(rand.NewPCG(seed, 11)))
		pl, snap := c.setup(t, args)
		o := run(t, pl, snap, pod)
		if !o.preFilter.IsSuccess() || o.result == nil {
			continue
		}
		s, err := getState(o.state)
		if err != nil {
			t.Fatal(err)
		}
		narrowed[len(s.disks) > 0]++
		if o.result.NodeNames.Len() == 0 {
			t.Errorf("seed %d: PreFilter narrowed to no node", seed)
		}
		nodes, _ := snap.NodeInfos().List()
		for _, ni := range nodes {
			name := ni.Node().Name
			if o.result.NodeNames.Has(name) {
				continue
			}
			// Some rule other than the holder's must reject the node:
			// Filter may name the holder first, but evicting it would not
			// make the node fit.
			var final []Verdict
			pl.evaluate(s, ni, func(v Verdict) bool {
				if v.Reason != "" && v.Code == fwk.UnschedulableAndUnresolvable {
					final = append(final, v)
				}
				return true
			})
			if len(final) == 0 {
				why := "it fits"
				if st := o.filter[name]; st != nil {
					why = fmt.Sprintf("%q, which evicting pods there can change", st.Message())
				}
				t.Errorf("seed %d: node %s was left out of the candidates, but Filter says %s", seed, name, why)
			}
		}
	}
	// The test must see both kinds of narrowing to mean anything.
	if *candidateSeeds >= 100 && (narrowed[true] == 0 || narrowed[false] == 0) {
		t.Errorf("narrowed lists: %d for pods with shared disks, %d for pods without; want some of each", narrowed[true], narrowed[false])
	}
}

func TestFeasibleToFind(t *testing.T) {
	pct := func(p int32) *int32 { return &p }
	tests := []struct {
		percentage *int32
		n, want    int
	}{
		{nil, 0, 0},
		{nil, 99, 99}, // fewer than 100: every node
		{nil, 100, 100},
		{nil, 167, 100}, // 48% is 80: at least 100
		{nil, 500, 230}, // 46%
		{nil, 1667, 616},
		{nil, 3333, 799},
		{nil, 5000, 500},  // 10%
		{nil, 15000, 750}, // at least 5%
		{pct(0), 5000, 500},
		{pct(100), 5000, 5000},
		{pct(30), 1667, 500},
		{pct(1), 5000, 100},
	}
	for _, tc := range tests {
		if got := feasibleToFind(tc.percentage, tc.n); got != tc.want {
			p := "nil"
			if tc.percentage != nil {
				p = fmt.Sprint(*tc.percentage)
			}
			t.Errorf("feasibleToFind(%s, %d) = %d, want %d", p, tc.n, got, tc.want)
		}
	}
}

// TestZonalNarrowingScoresNoFewerNodes: a single-attach disk in zone a. The
// list of zone a's nodes is handed over only when the scheduler, given it,
// still looks for at least as many feasible nodes as it finds without it:
// always when a zone has fewer than 100 nodes; not at 450 nodes in three
// zones (it would look for 100 of zone a's 150 instead of all 150); and
// always with percentageOfNodesToScore 100.
func TestZonalNarrowingScoresNoFewerNodes(t *testing.T) {
	pct := func(p int32) *int32 { return &p }
	tests := []struct {
		name       string
		perZone    int
		percentage *int32
		narrowed   bool
	}{
		{name: "30 nodes", perZone: 10, narrowed: true},
		{name: "450 nodes", perZone: 150, narrowed: false},
		{name: "450 nodes, percentageOfNodesToScore 100", perZone: 150, percentage: pct(100), narrowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster{objs: []runtime.Object{
				boundTo(makeClaim("data", "", v1.ReadWriteOnce), "pv-1"),
				diskPV("pv-1", "d-1", "data", false, disk.LabelDriverZone, zoneA),
			}}
			for _, z := range []string{zoneA, zoneB, zoneC} {
				for i := range tc.perZone {
					c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("%s-%d", z, i), z, plainType))
				}
			}
			pl, snap := c.setup(t, nil)
			pl.percentage = tc.percentage
			o := run(t, pl, snap, makePod("p", "", "data"))
			if !o.preFilter.IsSuccess() {
				t.Fatal(o.preFilter)
			}
			if got := o.result != nil; got != tc.narrowed {
				t.Fatalf("narrowed = %v (%v), want %v", got, o.result, tc.narrowed)
			}
			if tc.narrowed && o.result.NodeNames.Len() != tc.perZone {
				t.Errorf("candidates = %d nodes, want zone %s's %d", o.result.NodeNames.Len(), zoneA, tc.perZone)
			}
		})
	}
}

// TestPercentageFromProfile: the plugin reads the percentageOfNodesToScore
// of the profile it runs in.
func TestPercentageFromProfile(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, want := range []*int32{nil, ptr.To[int32](70)} {
		factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
		fh, err := frameworkruntime.NewFramework(ctx, nil, &schedulerapi.KubeSchedulerProfile{SchedulerName: "p", PercentageOfNodesToScore: want},
			frameworkruntime.WithSnapshotSharedLister(cache.NewEmptySnapshot()), frameworkruntime.WithInformerFactory(factory))
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(ctx, nil, fh)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.(*VolumeTopology).percentage; !reflect.DeepEqual(got, want) {
			t.Errorf("percentage = %v, want %v", got, want)
		}
	}
}
