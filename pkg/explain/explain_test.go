package explain

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/metrics"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
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
	w, err := ParseWorkload(leaseManifest(t), "lease", 20)
	if err != nil {
		t.Fatal(err)
	}
	if extra := w.Extra(state); len(w.Pods) != 20 || len(extra) != 2 {
		t.Fatalf("workload: %d pods, %d extra objects; want 20 and the class and claim", len(w.Pods), len(extra))
	}
	x, err := New(ctx, state, volumetopology.DefaultArgs(), w.Extra(state)...)
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

// leaseCluster is the fleet with the lease example's class and claim, the
// claim bound to shared disk d-lease in zone b, and the replicas of the
// StatefulSet as pods: running on the first NVMe nodes of zone b, then
// pending.
func leaseCluster(t *testing.T, running, pending int) *audit.State {
	t.Helper()
	state := fleet(t)
	w, err := ParseWorkload(leaseManifest(t), "lease", running+pending)
	if err != nil {
		t.Fatal(err)
	}
	extra := w.Extra(state)
	claim := extra[1].(*v1.PersistentVolumeClaim)
	claim.Spec.VolumeName = "pv-lease"
	state.Claims = append(state.Claims, *claim)
	state.Classes = append(state.Classes, *extra[0].(*storagev1.StorageClass))
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
	nodes := nvmeNodes(state, "cn-beijing-b")
	for i, p := range w.Pods {
		p.Name = fmt.Sprintf("lease-test-%d", i)
		if i < running {
			p.Spec.NodeName = nodes[i]
			p.Status.Phase = v1.PodRunning
		}
		state.Pods = append(state.Pods, *p)
	}
	return state
}

func explainPod(ctx context.Context, t *testing.T, state *audit.State, args *config.VolumeTopologyArgs, ns, name string) *Report {
	t.Helper()
	pod, err := FindPod(state, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ExplainPod(ctx, state, args, pod)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPodOfTheCluster: an existing pending pod, a pod without our claims
// and a pod whose claim is missing.
func TestPodOfTheCluster(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := leaseCluster(t, 1, 1)
	plain := v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "lease", Name: "plain"}}
	missing := *state.Pods[1].DeepCopy()
	missing.Name, missing.Namespace = "orphan", "other"
	state.Pods = append(state.Pods, plain, missing)
	args := volumetopology.DefaultArgs()

	r := explainPod(ctx, t, state, args, "lease", "lease-test-1")
	if len(r.Fits) != 9 {
		t.Errorf("pending pod fits %d nodes (%v), want the 9 other NVMe nodes of zone b", len(r.Fits), r.Fits)
	}
	if len(r.Disks) != 1 || r.Disks[0].Name != "d-lease" || r.Disks[0].Attached["cn-beijing-b"] != 1 {
		t.Errorf("disks = %+v, want d-lease attached to 1 node of cn-beijing-b", r.Disks)
	}
	if len(r.Claims) != 1 || !r.Claims[0].Shared || r.Claims[0].Volume != "pv-lease" {
		t.Errorf("claims = %+v", r.Claims)
	}
	if r := explainPod(ctx, t, state, args, "lease", "plain"); !r.NotOurs {
		t.Errorf("plain pod: %+v, want NotOurs", r)
	}
	if r := explainPod(ctx, t, state, args, "other", "orphan"); !strings.Contains(r.Rejected, `persistentvolumeclaim "other/data-disk" not found`) {
		t.Errorf("pod with a missing claim: Rejected = %q", r.Rejected)
	}
	if _, err := FindPod(state, "lease", "nope"); err == nil {
		t.Error("FindPod found a pod that does not exist")
	}
}

// TestPodNeverCountsAgainstItself: a running replica of a shared disk at its
// attach limit (2 in this test) is explained as if it were not there: not a
// holder on its own node, not one of the disk's attached nodes. Counting
// itself, it would fit no node and be told to go away.
func TestPodNeverCountsAgainstItself(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := leaseCluster(t, 2, 0)
	args := volumetopology.DefaultArgs()
	args.MaxNodesPerZone = 2
	nodes := nvmeNodes(state, "cn-beijing-b")
	r := explainPod(ctx, t, state, args, "lease", "lease-test-0")

	if r.Node != nodes[0] {
		t.Errorf("the pod runs on %q, want %s", r.Node, nodes[0])
	}
	if got := r.Disks[0].Attached["cn-beijing-b"]; got != 1 {
		t.Errorf("d-lease counts %d attached nodes in cn-beijing-b, want 1 (the other replica's node, not the pod's own)", got)
	}
	// Every NVMe node of zone b but the other replica's: its own node and
	// the 8 nodes the disk could still attach to.
	want := slices.Concat(nodes[:1], nodes[2:])
	if !slices.Equal(r.Fits, want) {
		t.Errorf("fits %v, want %v", r.Fits, want)
	}
	for _, n := range r.Nodes {
		if n.Name == nodes[0] && rule(n, volumetopology.RuleHolder) != "ok" {
			t.Errorf("the pod's own node %s: holder rule %s, want ok", n.Name, rule(n, volumetopology.RuleHolder))
		}
	}
	if len(r.Changes) != 0 {
		t.Errorf("a running pod that fits is told what would let it in: %q", r.Changes)
	}

	var out bytes.Buffer
	if err := Print(&out, []*Report{r}, "table"); err != nil {
		t.Fatal(err)
	}
	holder := fmt.Sprintf(volumetopology.ErrReasonHolder, "d-lease")
	wantLines := []string{
		"Pod lease/lease-test-0 (on " + nodes[0] + ")",
		"Shared disk d-lease attached to: cn-beijing-b 1/2",
		fmt.Sprintf("Fits now: 9 node(s): %s and 4 more", strings.Join(want[:5], ", ")),
		LinePrediction + fmt.Sprintf("9/72 nodes are available: 1 %s, 14 %s, 48 %s.",
			holder, fmt.Sprintf(volumetopology.ErrReasonNotNVMe, "d-lease"), fmt.Sprintf(volumetopology.ErrReasonDiskZone, "cn-beijing-b", "d-lease")),
	}
	for _, line := range wantLines {
		if !slices.Contains(strings.Split(out.String(), "\n"), line) {
			t.Errorf("output lacks the line %q:\n%s", line, out.String())
		}
	}
	if strings.Contains(out.String(), LineSchedulerSays) {
		t.Errorf("output quotes the scheduler for a pod without a PodScheduled message:\n%s", out.String())
	}
}

// TestSchedulerSays: a pending pod's PodScheduled message is what "The
// scheduler says" quotes, word for word; without one the line is labelled
// as a prediction.
func TestSchedulerSays(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := leaseCluster(t, 1, 1)
	const msg = "0/72 nodes are available: 3 Insufficient cpu, 69 node(s) had untolerated taint(s). preemption: 0/72 nodes are available."
	state.Pods[1].Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable, Message: msg}}
	r := explainPod(ctx, t, state, volumetopology.DefaultArgs(), "lease", "lease-test-1")
	if r.SchedulerMessage != msg {
		t.Errorf("SchedulerMessage = %q, want %q", r.SchedulerMessage, msg)
	}
	var out bytes.Buffer
	if err := Print(&out, []*Report{r}, "table"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !slices.Contains(lines, LineSchedulerSays+msg) {
		t.Errorf("output lacks %q:\n%s", LineSchedulerSays+msg, out.String())
	}
	if strings.Contains(out.String(), LinePrediction) {
		t.Errorf("output predicts although the scheduler said something:\n%s", out.String())
	}
}

func nvmeNodes(s *audit.State, zone string) []string {
	classifier := disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach)
	var out []string
	for _, n := range s.Nodes {
		if f := classifier.Describe(n.Labels); f.Zone == zone && f.NVMe {
			out = append(out, n.Name)
		}
	}
	slices.Sort(out)
	return out
}
