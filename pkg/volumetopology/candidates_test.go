package volumetopology

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"
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
