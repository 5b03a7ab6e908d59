package explain

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/metrics"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

func TestMain(m *testing.M) {
	metrics.Register()
	os.Exit(m.Run())
}

// fleet is the demo's: 24 nodes per zone, 20, 10 and 0 of them NVMe-capable.
func fleet(t *testing.T) *audit.State {
	t.Helper()
	s := &audit.State{}
	for _, spec := range localcluster.PlanNodes("cn-beijing", []localcluster.ZonePlan{
		{Zone: "cn-beijing-a", Nodes: 24, NVMe: 20}, {Zone: "cn-beijing-b", Nodes: 24, NVMe: 10}, {Zone: "cn-beijing-c", Nodes: 24, NVMe: 0},
	}) {
		n, err := spec.Node()
		if err != nil {
			t.Fatal(err)
		}
		s.Nodes = append(s.Nodes, *n)
	}
	return s
}

func leaseManifest(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "manifests", "examples", "lease.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestPlaceLease: the lease example at 20 replicas on the demo's fleet: 16
// replicas on distinct NVMe nodes of the zone with the most of them, 4
// Pending at the attach limit, with the groups of every node.
func TestPlaceLease(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := fleet(t)
	w, err := ReadWorkload(leaseManifest(t), "lease", 20, state)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Pods) != 20 || len(w.Extra) != 2 {
		t.Fatalf("workload: %d pods, %d extra objects; want 20 and the class and claim", len(w.Pods), len(w.Extra))
	}
	x, err := New(ctx, state, volumetopology.DefaultArgs(), w.Extra...)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	reports, err := x.Place(ctx, w.Pods)
	if err != nil {
		t.Fatal(err)
	}
	nodes := sets.New[string]()
	var pending []*Report
	for _, r := range reports {
		if r.Node == "" {
			pending = append(pending, r)
			continue
		}
		if nodes.Has(r.Node) {
			t.Errorf("%s placed on %s, which already holds the disk", r.Pod, r.Node)
		}
		nodes.Insert(r.Node)
		if !strings.HasPrefix(r.Node, "cn-beijing-a-") {
			t.Errorf("%s placed on %s, want zone cn-beijing-a (the most NVMe nodes)", r.Pod, r.Node)
		}
	}
	if nodes.Len() != 16 || len(pending) != 4 {
		t.Fatalf("%d placed, %d pending; want 16 and 4", nodes.Len(), len(pending))
	}
	d := "of claim lease/data-disk"
	want := []ReasonCount{
		{fmt.Sprintf(volumetopology.ErrReasonHolder, d), 16},
		{fmt.Sprintf(volumetopology.ErrReasonAttachLimit, d, 16, "cn-beijing-a", 16), 4},
		{fmt.Sprintf(volumetopology.ErrReasonNotNVMe, d), 4},
		{fmt.Sprintf(volumetopology.ErrReasonSelectedNodeZone, "cn-beijing-a", reports[0].Node, "lease/data-disk"), 48},
	}
	got := map[string]int{}
	for _, rc := range pending[0].Reasons {
		got[rc.Reason] = rc.Nodes
	}
	for _, rc := range want {
		if got[rc.Reason] != rc.Nodes {
			t.Errorf("pending %s: %d node(s) %q, want %d (all: %v)", pending[0].Pod, got[rc.Reason], rc.Reason, rc.Nodes, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("pending %s: reasons %v, want exactly %v", pending[0].Pod, got, want)
	}
	if len(pending[0].Changes) == 0 || !strings.Contains(pending[0].Changes[0], "detaching from one of the 16 nodes of zone cn-beijing-a") {
		t.Errorf("changes = %q, want a detach in cn-beijing-a first", pending[0].Changes)
	}

	var out bytes.Buffer
	if err := Print(&out, reports, "table"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"lease/lease-test-0: fits 30 node(s), e.g. cn-beijing-a-",
		"lease/lease-test-16: would stay Pending: 0/72 nodes are available: ",
		"What would let it in:",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

// TestPodOfTheCluster: an existing pending pod, a running one, a pod without
// our claims and a pod whose claim is missing.
func TestPodOfTheCluster(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := fleet(t)
	w, err := ReadWorkload(leaseManifest(t), "lease", 1, state)
	if err != nil {
		t.Fatal(err)
	}
	// The claim bound to a disk in zone b; a replica running on b's first
	// NVMe node.
	claim := w.Extra[1].(*v1.PersistentVolumeClaim)
	claim.Spec.VolumeName = "pv-lease"
	state.Claims = append(state.Claims, *claim)
	state.Classes = append(state.Classes, *w.Extra[0].(*storagev1.StorageClass))
	state.Volumes = append(state.Volumes, v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-lease"},
		Spec: v1.PersistentVolumeSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			ClaimRef:    &v1.ObjectReference{Namespace: "lease", Name: "data-disk"},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: "d-lease", VolumeAttributes: map[string]string{"multiAttach": "true"},
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{"cn-beijing-b"}}},
			}}}},
		},
	})
	running := *w.Pods[0]
	running.Name, running.Spec.NodeName = "lease-test-0", firstNVMe(state, "cn-beijing-b")
	pending := *w.Pods[0]
	pending.Name = "lease-test-1"
	plain := v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "lease", Name: "plain"}}
	missing := *w.Pods[0]
	missing.Name, missing.Namespace = "orphan", "other"
	state.Pods = append(state.Pods, running, pending, plain, missing)

	x, err := New(ctx, state, volumetopology.DefaultArgs())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	explainPod := func(ns, name string) *Report {
		t.Helper()
		pod, err := FindPod(state, ns, name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := x.Pod(ctx, pod)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := explainPod("lease", "lease-test-1")
	if len(r.Fits) != 9 {
		t.Errorf("pending pod fits %d nodes (%v), want the 9 other NVMe nodes of zone b", len(r.Fits), r.Fits)
	}
	if len(r.Disks) != 1 || r.Disks[0].Name != "d-lease" || r.Disks[0].Attached["cn-beijing-b"] != 1 {
		t.Errorf("disks = %+v, want d-lease attached to 1 node of cn-beijing-b", r.Disks)
	}
	if len(r.Claims) != 1 || !r.Claims[0].Shared || r.Claims[0].Volume != "pv-lease" {
		t.Errorf("claims = %+v", r.Claims)
	}
	if r := explainPod("lease", "plain"); !r.NotOurs {
		t.Errorf("plain pod: %+v, want NotOurs", r)
	}
	if r := explainPod("other", "orphan"); !strings.Contains(r.Rejected, `persistentvolumeclaim "other/data-disk" not found`) {
		t.Errorf("pod with a missing claim: Rejected = %q", r.Rejected)
	}
	if _, err := FindPod(state, "lease", "nope"); err == nil {
		t.Error("FindPod found a pod that does not exist")
	}
}

func firstNVMe(s *audit.State, zone string) string {
	for _, n := range s.Nodes {
		if n.Labels[v1.LabelTopologyZone] == zone && strings.Contains(n.Labels[v1.LabelInstanceTypeStable], "g7se") {
			return n.Name
		}
	}
	return ""
}
