package volumetopology

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestPreBindRechecksNodeLabels: a node relabelled while the pod waits in
// the binding cycle (VolumeBinding's PreBind waits for the disk to be
// provisioned) is checked again before the pod is bound to it.
func TestPreBindRechecksNodeLabels(t *testing.T) {
	c := cluster{
		nodes: []*v1.Node{zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("b0", zoneB, nvmeType)},
		objs: []runtime.Object{
			wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true", "zoneId": zoneA}),
			sharedClaim("data", "shared"),
		},
	}
	pl, snap := c.setup(t, nil)
	_, ctx := ktesting.NewTestContext(t)
	pod := makePod("p", "", "data")
	o := run(t, pl, snap, pod)
	if o.filter["a0"] != nil || o.filter["a1"] != nil {
		t.Fatalf("a0 and a1 must fit: %v", o.filter)
	}
	if !preBindNeeded(o.state) {
		t.Fatal("PreBind must run for a pod with claims of ours")
	}
	if st := pl.PreBind(ctx, o.state, pod, "a0"); st != nil {
		t.Fatalf("unchanged node: PreBind = %v", st)
	}

	// The informer's store, which the lister PreBind reads is built on.
	store := pl.handle.SharedInformerFactory().Core().V1().Nodes().Informer().GetStore()
	relabel := func(name, key, value string) {
		t.Helper()
		n, err := pl.nodeLister.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		n = n.DeepCopy()
		n.Labels[key] = value
		if err := store.Update(n); err != nil {
			t.Fatal(err)
		}
	}
	relabel("a0", disk.LabelNVMeMultiAttach, "false")
	want := fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(ErrReasonNodeChanged, "a0", fmt.Sprintf(ErrReasonNotNVMe, "of claim default/data")))
	if diff := cmp.Diff(want, pl.PreBind(ctx, o.state, pod, "a0")); diff != "" {
		t.Errorf("node no longer NVMe-capable (-want,+got):\n%s", diff)
	}
	relabel("a1", v1.LabelTopologyZone, zoneB)
	want = fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(ErrReasonNodeChanged, "a1", ErrReasonZoneConflict))
	if diff := cmp.Diff(want, pl.PreBind(ctx, o.state, pod, "a1")); diff != "" {
		t.Errorf("node whose zone labels now disagree (-want,+got):\n%s", diff)
	}
	b0, err := pl.nodeLister.Get("b0")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(b0); err != nil {
		t.Fatal(err)
	}
	want = fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node b0 was deleted after it was chosen")
	if diff := cmp.Diff(want, pl.PreBind(ctx, o.state, pod, "b0")); diff != "" {
		t.Errorf("deleted node (-want,+got):\n%s", diff)
	}

	// A pod PreFilter skipped has nothing to check.
	if preBindNeeded(framework.NewCycleState()) {
		t.Error("PreBind must skip a pod without claims of ours")
	}
}
