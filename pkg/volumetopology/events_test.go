package volumetopology

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// hintCluster: pod "p" uses shared claim "data" (bound to pv-1, disk d-1 in
// zone A) and zonal claim "zoned" (unbound, zoneId A).
func hintCluster() cluster {
	return cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		wffcClass("zoned", map[string]string{"type": "cloud_essd", "zoneId": zoneA}),
		boundTo(sharedClaim("data", "shared"), "pv-1"),
		diskPV("pv-1", "d-1", "data", true, disk.LabelDriverZone, zoneA),
		makeClaim("zoned", "zoned", v1.ReadWriteOnce),
		boundTo(sharedClaim("unrelated", "shared"), "pv-9"),
		diskPV("pv-9", "d-9", "unrelated", true, disk.LabelDriverZone, zoneA),
	}}
}

func hintPod() *v1.Pod { return makePod("p", "", "data", "zoned") }

func checkHint(t *testing.T, fn fwk.QueueingHintFn, pod *v1.Pod, oldObj, newObj interface{}, want fwk.QueueingHint) {
	t.Helper()
	logger, _ := ktesting.NewTestContext(t)
	got, err := fn(logger, pod, oldObj, newObj)
	if err != nil {
		t.Fatalf("hint error: %v", err)
	}
	if got != want {
		t.Errorf("hint = %v, want %v", got, want)
	}
}

func TestIsSchedulableAfterNodeChange(t *testing.T) {
	pl, _ := hintCluster().setup(t, nil)
	good := zoneNode("n", zoneA, nvmeType)
	tests := []struct {
		name     string
		old, new *v1.Node
		want     fwk.QueueingHint
	}{
		{name: "NVMe node added in the disk's zone", new: good, want: fwk.Queue},
		{name: "node added in another zone", new: zoneNode("n", zoneB, nvmeType), want: fwk.QueueSkip},
		{name: "non-NVMe node added in the zone", new: zoneNode("n", zoneA, plainType), want: fwk.QueueSkip},
		{name: "node becomes NVMe-capable by label", old: zoneNode("n", zoneA, plainType), new: zoneNode("n", zoneA, plainType, disk.LabelNVMeMultiAttach, "true"), want: fwk.Queue},
		{name: "unrelated label change", old: good, new: zoneNode("n", zoneA, nvmeType, "team", "x"), want: fwk.QueueSkip},
		{name: "disk type newly available", old: zoneNode("n", zoneA, nvmeType, disk.DiskTypeLabel("cloud_ssd"), "available"), new: zoneNode("n", zoneA, nvmeType, disk.DiskTypeLabel("cloud_ssd"), "available", disk.DiskTypeLabel("cloud_essd"), "available"), want: fwk.Queue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var old interface{}
			if tt.old != nil {
				old = tt.old
			}
			checkHint(t, pl.isSchedulableAfterNodeChange, hintPod(), old, tt.new, tt.want)
		})
	}
	t.Run("pod whose claim is missing", func(t *testing.T) {
		checkHint(t, pl.isSchedulableAfterNodeChange, makePod("q", "", "missing"), nil, good, fwk.QueueSkip)
	})
}

func TestIsSchedulableAfterClaimChange(t *testing.T) {
	pl, _ := hintCluster().setup(t, nil)
	zoned := makeClaim("zoned", "zoned", v1.ReadWriteOnce)
	tests := []struct {
		name     string
		old, new *v1.PersistentVolumeClaim
		want     fwk.QueueingHint
	}{
		{name: "claim of the pod added", new: zoned, want: fwk.Queue},
		{name: "other claim added", new: makeClaim("else", "zoned", v1.ReadWriteOnce), want: fwk.QueueSkip},
		{name: "claim of the pod bound", old: zoned, new: boundTo(zoned, "pv-2"), want: fwk.Queue},
		{name: "claim of the pod gets a selected node", old: zoned, new: selected(zoned, "n"), want: fwk.Queue},
		{name: "claim of the pod: label change only", old: zoned, new: func() *v1.PersistentVolumeClaim {
			c := zoned.DeepCopy()
			c.Labels = map[string]string{"x": "y"}
			return c
		}(), want: fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var old interface{}
			if tt.old != nil {
				old = tt.old
			}
			checkHint(t, pl.isSchedulableAfterClaimChange, hintPod(), old, tt.new, tt.want)
		})
	}
}

func TestIsSchedulableAfterVolumeChange(t *testing.T) {
	pl, _ := hintCluster().setup(t, nil)
	pv := diskPV("pv-2", "d-2", "zoned", false, disk.LabelDriverZone, zoneA)
	tests := []struct {
		name     string
		old, new *v1.PersistentVolume
		want     fwk.QueueingHint
	}{
		{name: "PV for a claim of the pod added", new: pv, want: fwk.Queue},
		{name: "PV for another claim added", new: diskPV("pv-3", "d-3", "else", false, "", ""), want: fwk.QueueSkip},
		{name: "unbound PV added", new: diskPV("pv-3", "d-3", "", false, "", ""), want: fwk.QueueSkip},
		{name: "PV of the pod: status only", old: pv, new: func() *v1.PersistentVolume {
			p := pv.DeepCopy()
			p.Status.Phase = v1.VolumeBound
			return p
		}(), want: fwk.QueueSkip},
		{name: "PV of the pod: zone label changed", old: pv, new: func() *v1.PersistentVolume {
			p := pv.DeepCopy()
			p.Labels = map[string]string{v1.LabelTopologyZone: zoneA}
			return p
		}(), want: fwk.Queue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var old interface{}
			if tt.old != nil {
				old = tt.old
			}
			checkHint(t, pl.isSchedulableAfterVolumeChange, hintPod(), old, tt.new, tt.want)
		})
	}
}

func TestIsSchedulableAfterStorageClassAdd(t *testing.T) {
	c := hintCluster()
	c.objs = append(c.objs, makeClaim("late", "not-yet", v1.ReadWriteOnce))
	pl, _ := c.setup(t, nil)
	pod := makePod("q", "", "late")
	checkHint(t, pl.isSchedulableAfterStorageClassAdd, pod, nil, wffcClass("not-yet", nil), fwk.Queue)
	checkHint(t, pl.isSchedulableAfterStorageClassAdd, pod, nil, wffcClass("other", nil), fwk.QueueSkip)
}

func TestIsSchedulableAfterPodDelete(t *testing.T) {
	c := hintCluster()
	c.objs = append(c.objs,
		boundTo(sharedClaim("alias", ""), "pv-1b"),
		diskPV("pv-1b", "d-1", "alias", true, disk.LabelDriverZone, zoneA))
	pl, _ := c.setup(t, nil)
	tests := []struct {
		name    string
		deleted *v1.Pod
		want    fwk.QueueingHint
	}{
		{name: "assigned pod of the same shared claim", deleted: makePod("h", "n1", "data"), want: fwk.Queue},
		{name: "assigned pod of another claim of the same disk", deleted: makePod("h", "n1", "alias"), want: fwk.Queue},
		{name: "assigned pod of an unrelated disk", deleted: makePod("h", "n1", "unrelated"), want: fwk.QueueSkip},
		{name: "unassigned pod of the same claim", deleted: makePod("h", "", "data"), want: fwk.QueueSkip},
		{name: "assigned pod without volumes", deleted: makePod("h", "n1"), want: fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkHint(t, pl.isSchedulableAfterPodDelete, hintPod(), tt.deleted, nil, tt.want)
		})
	}
	t.Run("pending pod without shared claims", func(t *testing.T) {
		checkHint(t, pl.isSchedulableAfterPodDelete, makePod("q", "", "zoned"), makePod("h", "n1", "data"), nil, fwk.QueueSkip)
	})
}

func TestIsSchedulableAfterVolumeAttachmentDelete(t *testing.T) {
	pl, _ := hintCluster().setup(t, nil)
	other := volumeAttachment("pv-9", "n1")
	inline := &storagev1.VolumeAttachment{Spec: storagev1.VolumeAttachmentSpec{NodeName: "n1"}}
	checkHint(t, pl.isSchedulableAfterVolumeAttachmentDelete, hintPod(), volumeAttachment("pv-1", "n1"), nil, fwk.Queue)
	checkHint(t, pl.isSchedulableAfterVolumeAttachmentDelete, hintPod(), other, nil, fwk.QueueSkip)
	checkHint(t, pl.isSchedulableAfterVolumeAttachmentDelete, hintPod(), inline, nil, fwk.QueueSkip)
	checkHint(t, pl.isSchedulableAfterVolumeAttachmentDelete, hintPod(), volumeAttachment("pv-gone", "n1"), nil, fwk.QueueSkip)
}

func TestEventsToRegister(t *testing.T) {
	pl, _ := hintCluster().setup(t, nil)
	_, ctx := ktesting.NewTestContext(t)
	events, err := pl.EventsToRegister(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[fwk.EventResource]fwk.ActionType{}
	for _, e := range events {
		if e.QueueingHintFn == nil {
			t.Errorf("event %v has no queueing hint", e.Event)
		}
		got[e.Event.Resource] |= e.Event.ActionType
	}
	want := map[fwk.EventResource]fwk.ActionType{
		fwk.Node:                  fwk.Add | fwk.UpdateNodeLabel,
		fwk.PersistentVolumeClaim: fwk.Add | fwk.Update,
		fwk.PersistentVolume:      fwk.Add | fwk.Update,
		fwk.StorageClass:          fwk.Add,
		fwk.Pod:                   fwk.Delete | fwk.Update,
		fwk.VolumeAttachment:      fwk.Delete,
	}
	if len(got) != len(want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	for r, a := range want {
		if got[r] != a {
			t.Errorf("%s: actions %v, want %v", r, got[r], a)
		}
	}

	// Without the ReadWriteOnce rule no pod update can help.
	pl.args.EnforceReadWriteOnce = false
	events, err = pl.EventsToRegister(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Event.Resource == fwk.Pod && e.Event.ActionType != fwk.Delete {
			t.Errorf("with enforceReadWriteOnce off: pod event %v registered, want Delete only", e.Event)
		}
	}
}

// selectedClaimCluster: pod "p" has claim "data" of a class without zone
// constraints, selected for node b1 (zone B) by an earlier cycle.
func selectedClaimCluster() cluster {
	return cluster{
		nodes: []*v1.Node{zoneNode("b1", zoneB, plainType)},
		objs: []runtime.Object{
			wffcClass("essd", map[string]string{"type": "cloud_essd"}),
			selected(makeClaim("data", "essd", v1.ReadWriteOnce), "b1"),
		},
	}
}

// TestNodeHintSelectedNodeFromIndex: the node hint reads the zone of a
// claim's selected node from the node index, not from the scheduler's
// snapshot, which only the scheduling loop may read. A selected node the
// informers know but the last snapshot does not still pins the claim.
func TestNodeHintSelectedNodeFromIndex(t *testing.T) {
	c := selectedClaimCluster()
	c.nodes = nil // the snapshot has no node yet
	pl, _ := c.setup(t, nil)
	pl.nodes.update(zoneNode("b1", zoneB, plainType)) // the informer's event
	checkHint(t, pl.isSchedulableAfterNodeChange, makePod("p", "", "data"), nil, zoneNode("a9", zoneA, plainType), fwk.QueueSkip)
	checkHint(t, pl.isSchedulableAfterNodeChange, makePod("p", "", "data"), nil, zoneNode("b9", zoneB, plainType), fwk.Queue)
}

// TestNodeHintWhileTheSnapshotChanges runs the node hint while the
// scheduling loop updates its snapshot, as informer goroutines do; with
// -race it fails if the hint reads the snapshot.
func TestNodeHintWhileTheSnapshotChanges(t *testing.T) {
	c := selectedClaimCluster()
	pl, snap := c.setup(t, nil)
	logger, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	schedCache := newSchedulerCache(ctx)
	for _, n := range c.nodes {
		schedCache.AddNode(logger, n)
	}
	extra := zoneNode("x1", zoneC, plainType)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			if i%2 == 0 {
				schedCache.AddNode(logger, extra)
			} else if err := schedCache.RemoveNode(logger, extra); err != nil {
				t.Error(err)
				return
			}
			if err := schedCache.UpdateSnapshot(logger, snap); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	pod := makePod("p", "", "data")
	for i := 0; i < 200; i++ {
		checkHint(t, pl.isSchedulableAfterNodeChange, pod, nil, zoneNode(fmt.Sprintf("a%d", i), zoneA, plainType), fwk.QueueSkip)
	}
	cancel()
	<-done
}
