package volumetopology

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// singleAttachCluster: three nodes of zone A and one of zone B; claim "data"
// is bound to pv-1 (single-attach disk d-1, zone A), "alias" to pv-1b, a
// second static volume of d-1; "other" to pv-2 (disk d-2, zone A); "solo"
// is a ReadWriteOncePod claim on pv-3; "fresh" is an unbound
// WaitForFirstConsumer claim; "shared" is bound to a shared disk d-9.
func singleAttachCluster() cluster {
	rwop := boundTo(makeClaim("solo", "essd", v1.ReadWriteOncePod), "pv-3")
	return cluster{
		nodes: []*v1.Node{
			zoneNode("a1", zoneA, nvmeType),
			zoneNode("a2", zoneA, nvmeType),
			zoneNode("a3", zoneA, plainType),
			zoneNode("b1", zoneB, nvmeType),
		},
		objs: []runtime.Object{
			wffcClass("essd", map[string]string{"type": "cloud_essd"}),
			wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
			boundTo(makeClaim("data", "essd", v1.ReadWriteOnce), "pv-1"),
			diskPV("pv-1", "d-1", "data", false, disk.LabelDriverZone, zoneA),
			boundTo(makeClaim("alias", "", v1.ReadWriteOnce), "pv-1b"),
			diskPV("pv-1b", "d-1", "alias", false, disk.LabelDriverZone, zoneA),
			boundTo(makeClaim("other", "essd", v1.ReadWriteOnce), "pv-2"),
			diskPV("pv-2", "d-2", "other", false, disk.LabelDriverZone, zoneA),
			rwop,
			diskPV("pv-3", "d-3", "solo", false, disk.LabelDriverZone, zoneA),
			makeClaim("fresh", "essd", v1.ReadWriteOnce),
			boundTo(sharedClaim("shared", "shared"), "pv-9"),
			diskPV("pv-9", "d-9", "shared", true, disk.LabelDriverZone, zoneA),
		},
	}
}

func terminating(p *v1.Pod) *v1.Pod {
	p = p.DeepCopy()
	p.DeletionTimestamp = &metav1.Time{}
	return p
}

func inPhase(p *v1.Pod, phase v1.PodPhase) *v1.Pod {
	p = p.DeepCopy()
	p.Status.Phase = phase
	return p
}

// TestReadWriteOnceInUse covers rule 6: a single-attach disk in use on a
// node serves other pods only there.
func TestReadWriteOnceInUse(t *testing.T) {
	onlyA2 := func(disk, user string) map[string]*fwk.Status {
		return map[string]*fwk.Status{
			"a1": unresolvable(ErrReasonInUse, disk, user, "a2"),
			"a3": unresolvable(ErrReasonInUse, disk, user, "a2"),
			// b1 fails the disk's zone first.
			"b1": unresolvable(ErrReasonDiskZone, zoneA, disk),
		}
	}
	tests := []struct {
		name       string
		pods       []*v1.Pod
		assumed    []*v1.Pod
		pod        *v1.Pod
		args       func(*VolumeTopology)
		want       map[string]*fwk.Status
		candidates []string // the PreFilterResult; nil when it does not narrow
	}{
		{
			name:       "in use by a running pod: only its node",
			pods:       []*v1.Pod{makePod("old", "a2", "data")},
			pod:        makePod("new", "", "data"),
			want:       onlyA2("d-1", "default/old"),
			candidates: []string{"a2"},
		},
		{
			name:       "in use by a pod the scheduler assumed: only its node",
			assumed:    []*v1.Pod{makePod("first", "a2", "data")},
			pod:        makePod("second", "", "data"),
			want:       onlyA2("d-1", "default/first"),
			candidates: []string{"a2"},
		},
		{
			name:       "unbound claim assumed on a node: the second pod of the claim follows",
			assumed:    []*v1.Pod{makePod("first", "a2", "fresh")},
			pod:        makePod("second", "", "fresh"),
			want:       map[string]*fwk.Status{"a1": unresolvable(ErrReasonInUse, "of claim default/fresh", "default/first", "a2"), "a3": unresolvable(ErrReasonInUse, "of claim default/fresh", "default/first", "a2"), "b1": unresolvable(ErrReasonInUse, "of claim default/fresh", "default/first", "a2")},
			candidates: []string{"a2"},
		},
		{
			name:       "in use through another static volume of the same disk",
			pods:       []*v1.Pod{makePod("writer", "a2", "alias")},
			pod:        makePod("new", "", "data"),
			want:       onlyA2("d-1", "default/writer"),
			candidates: []string{"a2"},
		},
		{
			name: "the only user is terminating: the disk will be freed",
			pods: []*v1.Pod{terminating(makePod("old", "a2", "data"))},
			pod:  makePod("new", "", "data"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
		{
			name: "the only user has terminated",
			pods: []*v1.Pod{inPhase(makePod("job", "a2", "data"), v1.PodSucceeded)},
			pod:  makePod("new", "", "data"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
		{
			name:       "a terminating user and a running one: the running one counts",
			pods:       []*v1.Pod{terminating(makePod("going", "a1", "data")), makePod("staying", "a2", "data")},
			pod:        makePod("new", "", "data"),
			want:       onlyA2("d-1", "default/staying"),
			candidates: []string{"a2"},
		},
		{
			name: "another disk in use elsewhere does not restrict",
			pods: []*v1.Pod{makePod("old", "a2", "other")},
			pod:  makePod("new", "", "data"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
		{
			name: "ReadWriteOncePod is VolumeRestrictions' business",
			pods: []*v1.Pod{makePod("old", "a2", "solo")},
			pod:  makePod("new", "", "solo"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-3")},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
		{
			name: "the rule turned off",
			pods: []*v1.Pod{makePod("old", "a2", "data")},
			pod:  makePod("new", "", "data"),
			args: func(pl *VolumeTopology) { pl.args.EnforceReadWriteOnce = false },
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
		{
			name: "a shared disk's users are the holder rule's, not this one's",
			pods: []*v1.Pod{makePod("reader", "a2", "shared")},
			pod:  makePod("new", "", "shared"),
			want: map[string]*fwk.Status{
				"a2": unschedulable(ErrReasonHolder, "d-9"),
				"a3": unresolvable(ErrReasonNotNVMe, "d-9"),
				"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-9"),
			},
			candidates: []string{"a1", "a2"},
		},
		{
			name: "two disks in use on two nodes: no node fits, and every node says why",
			pods: []*v1.Pod{makePod("x", "a1", "data"), makePod("y", "a2", "other")},
			pod:  makePod("new", "", "data", "other"),
			want: map[string]*fwk.Status{
				"a1": unresolvable(ErrReasonInUse, "d-2", "default/y", "a2"),
				"a2": unresolvable(ErrReasonInUse, "d-1", "default/x", "a1"),
				"a3": unresolvable(ErrReasonInUse, "d-1", "default/x", "a1"),
				"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1"),
			},
			// Nodes of the disk's zone: the others fail its zone rule.
			candidates: []string{"a1", "a2", "a3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := singleAttachCluster()
			c.pods, c.assumed = tt.pods, tt.assumed
			pl, snap := c.setup(t, nil)
			if tt.args != nil {
				tt.args(pl)
			}
			o := run(t, pl, snap, tt.pod)
			if !o.preFilter.IsSuccess() {
				t.Fatalf("PreFilter = %v", o.preFilter)
			}
			for _, n := range c.nodes {
				if diff := cmp.Diff(tt.want[n.Name], o.filter[n.Name]); diff != "" {
					t.Errorf("Filter on %s (-want +got):\n%s", n.Name, diff)
				}
			}
			var got []string
			if o.result != nil && o.result.NodeNames != nil {
				got = sets.List(o.result.NodeNames)
			}
			if diff := cmp.Diff(tt.candidates, got); diff != "" {
				t.Errorf("PreFilterResult (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsSchedulableAfterPodTerminating(t *testing.T) {
	c := singleAttachCluster()
	pl, _ := c.setup(t, nil)
	running := makePod("old", "a2", "data")
	tests := []struct {
		name     string
		pod      *v1.Pod
		old, new *v1.Pod
		want     fwk.QueueingHint
	}{
		{name: "user of the disk starts terminating", pod: makePod("new", "", "data"), old: running, new: terminating(running), want: fwk.Queue},
		{name: "user of the disk succeeded", pod: makePod("new", "", "data"), old: running, new: inPhase(running, v1.PodSucceeded), want: fwk.Queue},
		{name: "user of the disk failed", pod: makePod("new", "", "data"), old: running, new: inPhase(running, v1.PodFailed), want: fwk.Queue},
		{name: "user through another volume of the disk", pod: makePod("new", "", "data"), old: makePod("w", "a2", "alias"), new: terminating(makePod("w", "a2", "alias")), want: fwk.Queue},
		{name: "user of the disk only relabelled", pod: makePod("new", "", "data"), old: running, new: func() *v1.Pod { p := running.DeepCopy(); p.Labels = map[string]string{"x": "y"}; return p }(), want: fwk.QueueSkip},
		{name: "already terminating", pod: makePod("new", "", "data"), old: terminating(running), new: inPhase(terminating(running), v1.PodSucceeded), want: fwk.QueueSkip},
		{name: "user of another disk", pod: makePod("new", "", "data"), old: makePod("o", "a2", "other"), new: terminating(makePod("o", "a2", "other")), want: fwk.QueueSkip},
		{name: "unassigned pod of the claim", pod: makePod("new", "", "data"), old: makePod("u", "", "data"), new: terminating(makePod("u", "", "data")), want: fwk.QueueSkip},
		{name: "pod added, not updated", pod: makePod("new", "", "data"), old: nil, new: running, want: fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var oldObj interface{}
			if tt.old != nil {
				oldObj = tt.old
			}
			checkHint(t, pl.isSchedulableAfterPodTerminating, tt.pod, oldObj, tt.new, tt.want)
		})
	}
	t.Run("rule off", func(t *testing.T) {
		off, _ := c.setup(t, nil)
		off.args.EnforceReadWriteOnce = false
		checkHint(t, off.isSchedulableAfterPodTerminating, makePod("new", "", "data"), running, terminating(running), fwk.QueueSkip)
	})
}

func TestIsSchedulableAfterPodDeleteSingleAttach(t *testing.T) {
	c := singleAttachCluster()
	pl, _ := c.setup(t, nil)
	checkHint(t, pl.isSchedulableAfterPodDelete, makePod("new", "", "data"), makePod("old", "a2", "data"), nil, fwk.Queue)
	checkHint(t, pl.isSchedulableAfterPodDelete, makePod("new", "", "data"), makePod("w", "a2", "alias"), nil, fwk.Queue)
	checkHint(t, pl.isSchedulableAfterPodDelete, makePod("new", "", "data"), makePod("o", "a2", "other"), nil, fwk.QueueSkip)
	pl.args.EnforceReadWriteOnce = false
	checkHint(t, pl.isSchedulableAfterPodDelete, makePod("new", "", "data"), makePod("old", "a2", "data"), nil, fwk.QueueSkip)
}

// vaDeleting is a VolumeAttachment being deleted: the disk is detaching.
func vaDeleting(pv, node string) *storagev1.VolumeAttachment {
	va := volumeAttachment(pv, node)
	va.DeletionTimestamp = &metav1.Time{}
	va.Finalizers = []string{"external-attacher/" + disk.DriverName}
	return va
}

func vaAttached(pv, node string) *storagev1.VolumeAttachment {
	va := volumeAttachment(pv, node)
	va.Status.Attached = true
	return va
}

// TestDiskLocality covers rule 7: among feasible nodes, prefer the node a
// disk of the pod is attached to.
func TestDiskLocality(t *testing.T) {
	tests := []struct {
		name    string
		objs    []runtime.Object
		pod     *v1.Pod
		want    map[string]int64 // nil: PreScore skips
		wantErr bool
	}{
		{name: "attached", objs: []runtime.Object{vaAttached("pv-1", "a2")}, pod: makePod("p", "", "data"),
			want: map[string]int64{"a1": 0, "a2": AttachedSingleAttachScore, "a3": 0}},
		{name: "still attaching", objs: []runtime.Object{volumeAttachment("pv-1", "a3")}, pod: makePod("p", "", "data"),
			want: map[string]int64{"a1": 0, "a2": 0, "a3": AttachedSingleAttachScore}},
		{name: "attached through another volume of the disk", objs: []runtime.Object{vaAttached("pv-1b", "a1")}, pod: makePod("p", "", "data"),
			want: map[string]int64{"a1": AttachedSingleAttachScore, "a2": 0, "a3": 0}},
		{name: "detaching: no preference", objs: []runtime.Object{vaDeleting("pv-1", "a2")}, pod: makePod("p", "", "data")},
		{name: "attached to a node that is gone: no node preferred", objs: []runtime.Object{vaAttached("pv-1", "gone")}, pod: makePod("p", "", "data"),
			want: map[string]int64{"a1": 0, "a2": 0, "a3": 0}},
		{name: "another disk attached", objs: []runtime.Object{vaAttached("pv-2", "a2")}, pod: makePod("p", "", "data")},
		{name: "shared disk attached", objs: []runtime.Object{vaAttached("pv-9", "a1")}, pod: makePod("p", "", "shared"),
			want: map[string]int64{"a1": AttachedSharedScore, "a2": 0}},
		{name: "two disks, each attached to another node: each node gets its share",
			objs: []runtime.Object{vaAttached("pv-1", "a1"), vaAttached("pv-2", "a2")}, pod: makePod("p", "", "data", "other"),
			want: map[string]int64{"a1": AttachedSingleAttachScore / 2, "a2": AttachedSingleAttachScore / 2, "a3": 0}},
		{name: "two disks attached to one node: it gets the whole score",
			objs: []runtime.Object{vaAttached("pv-1", "a1"), vaAttached("pv-2", "a1")}, pod: makePod("p", "", "data", "other"),
			want: map[string]int64{"a1": AttachedSingleAttachScore, "a2": 0, "a3": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := singleAttachCluster()
			c.objs = append(c.objs, tt.objs...)
			pl, snap := c.setup(t, nil)
			o := run(t, pl, snap, tt.pod)
			if !o.preFilter.IsSuccess() {
				t.Fatalf("PreFilter = %v", o.preFilter)
			}
			_, ctx := ktesting.NewTestContext(t)
			loc := &DiskLocality{}
			nodes, _ := snap.NodeInfos().List()
			st := loc.PreScore(ctx, o.state, tt.pod, nodes)
			if tt.want == nil {
				if !st.IsSkip() {
					t.Fatalf("PreScore = %v, want Skip", st)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreScore = %v", st)
			}
			got := map[string]int64{}
			for _, ni := range nodes {
				if o.filter[ni.Node().Name] != nil {
					continue // only feasible nodes are scored
				}
				s, st := loc.Score(ctx, o.state, tt.pod, ni)
				if !st.IsSuccess() {
					t.Fatal(st)
				}
				got[ni.Node().Name] = s
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scores (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiskLocalityWithoutVolumeTopology: without VolumeTopology's state the
// plugin scores nothing, and a pod without our claims costs nothing.
func TestDiskLocalityWithoutVolumeTopology(t *testing.T) {
	loc := &DiskLocality{}
	_, ctx := ktesting.NewTestContext(t)
	cs := framework.NewCycleState()
	if st := loc.PreScore(ctx, cs, makePod("p", ""), nil); !st.IsSkip() {
		t.Errorf("PreScore = %v, want Skip", st)
	}
	if f, st := loc.SignPod(context.Background(), makePod("p", "", "data")); f != nil || st != nil {
		t.Errorf("SignPod = %v, %v; want nothing", f, st)
	}
}

// TestSignPodAttached: a pod whose disk is attached somewhere is not batched
// (DiskLocality scores that node for it alone); one whose disk is attached
// nowhere, or only detaching, signs by its volumes.
func TestSignPodAttached(t *testing.T) {
	c := singleAttachCluster()
	c.objs = append(c.objs, vaAttached("pv-1", "a2"), vaDeleting("pv-2", "a1"))
	pl, _ := c.setup(t, nil)
	if _, st := pl.SignPod(context.Background(), makePod("p", "", "data")); !cmp.Equal(st, fwk.NewStatus(fwk.Unschedulable, signRefusedAttached)) {
		t.Errorf("attached disk: status %v, want refusal %q", st, signRefusedAttached)
	}
	p := makePod("q", "", "other")
	got, st := pl.SignPod(context.Background(), p)
	if st != nil {
		t.Fatalf("detaching disk: status %v", st)
	}
	if diff := cmp.Diff([]fwk.SignFragment{{Key: fwk.VolumesSignerName, Value: fwk.VolumesSigner(p)}}, got); diff != "" {
		t.Errorf("detaching disk: fragments (-want +got):\n%s", diff)
	}
}
