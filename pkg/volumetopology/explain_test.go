package volumetopology

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

var explainSeeds = flag.Int("explain-seeds", 40, "random cluster states TestExplainAgreesWithFilter tries")

// TestExplain: every rule's verdict on every node, the disk's counts and the
// candidates, for a shared disk bound in zone a at the limit of a 2-node cap.
func TestExplain(t *testing.T) {
	args := DefaultArgs()
	args.MaxNodesPerZone = 2
	c := cluster{
		nodes: []*v1.Node{
			zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("a2", zoneA, nvmeType),
			zoneNode("a3", zoneA, plainType), zoneNode("b0", zoneB, nvmeType),
		},
		objs: []runtime.Object{
			boundTo(sharedClaim("data", "shared"), "pv-1"),
			diskPV("pv-1", "d-1", "data", true, disk.LabelDriverZone, zoneA),
		},
		pods: []*v1.Pod{makePod("h0", "a0", "data"), makePod("h1", "a1", "data")},
	}
	pl, snap := c.setup(t, args)
	_, ctx := ktesting.NewTestContext(t)
	nodes, _ := snap.NodeInfos().List()
	e := pl.Explain(ctx, makePod("p", "", "data"), nodes)
	if e.Skipped || e.Rejected != nil {
		t.Fatalf("Explain = %+v", e)
	}
	if diff := cmp.Diff([]DiskExplanation{{Name: "d-1", AttachedInZone: map[string]int{zoneA: 2}, Limit: 2}}, e.Disks); diff != "" {
		t.Errorf("disks (-want,+got):\n%s", diff)
	}
	// Zone a is full: of its NVMe nodes only those the disk is attached to
	// can take the pod (here after preemption of their holder).
	if !e.Candidates.Equal(setOf("a0", "a1")) {
		t.Errorf("candidates = %v, want the NVMe nodes of zone a the disk is attached to", e.Candidates)
	}
	zone := Verdict{Rule: RuleZone, Claim: "default/data", Code: fwk.UnschedulableAndUnresolvable}
	nvme := Verdict{Rule: RuleNVMe, Disk: "d-1", Code: fwk.UnschedulableAndUnresolvable}
	holder := Verdict{Rule: RuleHolder, Disk: "d-1", Code: fwk.Unschedulable}
	limit := Verdict{Rule: RuleAttachLimit, Disk: "d-1", Code: fwk.UnschedulableAndUnresolvable}
	failing := func(v Verdict, reason string) Verdict { v.Reason = reason; return v }
	full := fmt.Sprintf(ErrReasonAttachLimit, "d-1", 2, zoneA, 2)
	want := map[string][]Verdict{
		// Holders pass the cap (their node is in the attached set) but not the holder rule.
		"a0": {zone, nvme, failing(holder, fmt.Sprintf(ErrReasonHolder, "d-1")), limit},
		"a1": {zone, nvme, failing(holder, fmt.Sprintf(ErrReasonHolder, "d-1")), limit},
		"a2": {zone, nvme, holder, failing(limit, full)},
		// Every rule is evaluated, not only the first failing one.
		"a3": {zone, failing(nvme, fmt.Sprintf(ErrReasonNotNVMe, "d-1")), holder, failing(limit, full)},
		"b0": {failing(zone, fmt.Sprintf(ErrReasonDiskZone, zoneA, "d-1")), nvme, holder, limit},
	}
	got := map[string][]Verdict{}
	for _, n := range e.Nodes {
		got[n.Node] = n.Verdicts
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want,+got):\n%s", diff)
	}

	if e := pl.Explain(ctx, makePod("plain", ""), nodes); !e.Skipped {
		t.Errorf("a pod without claims: Explain = %+v, want Skipped", e)
	}
	if e := pl.Explain(ctx, makePod("missing", "", "nope"), nodes); e.Rejected == nil || e.Rejected.Code() != fwk.UnschedulableAndUnresolvable {
		t.Errorf("a pod with a missing claim: Explain = %+v, want Rejected", e)
	}
}

// TestExplainAgreesWithFilter: on random cluster states, the status Filter
// returns for a node is the first failing verdict of Explain, for every node
// (PreFilterResult ignored, as for a nominated or hinted node).
func TestExplainAgreesWithFilter(t *testing.T) {
	for seed := range uint64(*explainSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c, pod, args := randomCluster(rand.New(rand.NewPCG(seed, 7)))
			pl, snap := c.setup(t, args)
			_, ctx := ktesting.NewTestContext(t)
			nodes, _ := snap.NodeInfos().List()
			e := pl.Explain(ctx, pod, nodes)
			o := run(t, pl, snap, pod)
			if e.Rejected != nil || e.Skipped {
				if diff := cmp.Diff(o.preFilter, e.Rejected); !e.Skipped && diff != "" {
					t.Errorf("PreFilter status (-filter,+explain):\n%s", diff)
				}
				return
			}
			for _, n := range e.Nodes {
				var want *fwk.Status
				if v := n.FirstFailure(); v != nil {
					want = v.Status()
				}
				if diff := cmp.Diff(o.filter[n.Node], want); diff != "" {
					t.Errorf("node %s (-filter,+explain):\n%s", n.Node, diff)
				}
			}
		})
	}
}

// randomCluster builds a small cluster with shared and single-attach disks,
// bound and unbound (classes with one or two zoneId zones, a regional type or
// allowedTopologies), nodes with both zone labels, one or none, holders and
// VolumeAttachments, and a pod using some of its claims.
func randomCluster(r *rand.Rand) (cluster, *v1.Pod, *config.VolumeTopologyArgs) {
	args := DefaultArgs()
	args.MaxNodesPerZone = int32(1 + r.IntN(3))
	zones := []string{zoneA, zoneB, zoneC}
	var c cluster
	for i := range 4 + r.IntN(8) {
		zone := zones[r.IntN(len(zones))]
		typ := plainType
		if r.IntN(2) == 0 {
			typ = nvmeType
		}
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("n%d", i), zone, typ))
	}
	// Nodes without a zone, or with the standard zone label only.
	for i := range r.IntN(3) {
		typ := []string{plainType, nvmeType}[r.IntN(2)]
		name := fmt.Sprintf("x%d", i)
		if r.IntN(2) == 0 {
			c.nodes = append(c.nodes, makeNode(name, v1.LabelInstanceTypeStable, typ))
		} else {
			c.nodes = append(c.nodes, makeNode(name, v1.LabelTopologyZone, zones[r.IntN(3)], v1.LabelInstanceTypeStable, typ))
		}
	}
	topo := wffcClass("topo", map[string]string{"type": "cloud_essd"})
	topo.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{
		{Key: disk.LabelDriverZone, Values: []string{zones[r.IntN(3)], zones[r.IntN(3)]}},
	}}}
	c.objs = append(c.objs,
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		wffcClass("zoned", map[string]string{"type": "cloud_essd", "zoneId": zones[r.IntN(3)]}),
		wffcClass("two-zones", map[string]string{"type": "cloud_essd", "zoneId": zoneA + "," + zoneB}),
		wffcClass("regional", map[string]string{"type": disk.CategoryRegional + ",cloud_essd", "zoneId": zones[r.IntN(3)]}),
		topo)
	singleClasses := []string{"zoned", "two-zones", "regional", "topo"}
	var claims []string
	for i := range 1 + r.IntN(4) {
		name := fmt.Sprintf("c%d", i)
		shared := r.IntN(2) == 0
		class := singleClasses[r.IntN(len(singleClasses))]
		if shared {
			class = "shared"
		}
		pvc := makeClaim(name, class, v1.ReadWriteOnce)
		if shared {
			pvc = sharedClaim(name, class)
		}
		if r.IntN(2) == 0 { // bound
			pv := fmt.Sprintf("pv-%d", i)
			pvc = boundTo(pvc, pv)
			c.objs = append(c.objs, diskPV(pv, fmt.Sprintf("d-%d", i), name, shared, disk.LabelDriverZone, zones[r.IntN(3)]))
			for _, n := range c.nodes {
				if r.IntN(4) == 0 {
					c.objs = append(c.objs, volumeAttachment(pv, n.Name))
				}
			}
		} else if r.IntN(3) == 0 {
			pvc = selected(pvc, c.nodes[r.IntN(len(c.nodes))].Name)
		}
		c.objs = append(c.objs, pvc)
		claims = append(claims, name)
		for j, n := range c.nodes {
			switch r.IntN(5) {
			case 0:
				c.pods = append(c.pods, makePod(fmt.Sprintf("h-%s-%d", name, j), n.Name, name))
			case 1:
				c.assumed = append(c.assumed, makePod(fmt.Sprintf("a-%s-%d", name, j), n.Name, name))
			}
		}
	}
	var use []string
	for _, name := range claims {
		if r.IntN(2) == 0 {
			use = append(use, name)
		}
	}
	if len(use) == 0 {
		use = claims[:1]
	}
	return c, makePod("p", "", use...), args
}
