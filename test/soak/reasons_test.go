package soak

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	vt "github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

func TestParseFitError(t *testing.T) {
	limit := fmt.Sprintf(vt.ErrReasonAttachLimit, "d-1", 16, ZoneA, 16)
	tests := []struct {
		name    string
		msg     string
		nodes   int
		reasons []Reason
		ok      bool
	}{{
		name: "filter reasons, DRA and preemption after them",
		msg: "0/178 nodes are available: 142 node(s) didn't satisfy plugin(s) [VolumeTopology], 16 " +
			fmt.Sprintf(vt.ErrReasonHolder, "d-1") + ", 20 " + limit +
			". no new claims to deallocate, preemption: 0/178 nodes are available: 16 No preemption victims found for incoming pod, 162 Preemption is not helpful for scheduling.",
		nodes: 178,
		reasons: []Reason{
			{142, "node(s) didn't satisfy plugin(s) [VolumeTopology]"},
			{16, fmt.Sprintf(vt.ErrReasonHolder, "d-1")},
			{20, limit},
		},
		ok: true,
	}, {
		name:    "zone lists keep their commas",
		msg:     "0/3 nodes are available: 3 " + fmt.Sprintf(vt.ErrReasonClassZone, ZoneA+","+ZoneB, "sc") + ". preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
		nodes:   3,
		reasons: []Reason{{3, fmt.Sprintf(vt.ErrReasonClassZone, ZoneA+","+ZoneB, "sc")}},
		ok:      true,
	}, {
		name:    "a PreFilter rejection names no nodes",
		msg:     `0/180 nodes are available: persistentvolumeclaim "soak/x" not found. preemption: 0/180 nodes are available: 180 Preemption is not helpful for scheduling.`,
		nodes:   180,
		reasons: []Reason{{-1, `persistentvolumeclaim "soak/x" not found`}},
		ok:      true,
	}, {
		name: "not a FitError",
		msg:  "running PreBind plugin \"VolumeBinding\": binding volumes: context deadline exceeded",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes, reasons, ok := ParseFitError(tc.msg)
			if ok != tc.ok || nodes != tc.nodes {
				t.Errorf("got %d nodes, ok %v; want %d, %v", nodes, ok, tc.nodes, tc.ok)
			}
			if diff := cmp.Diff(tc.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// A small cluster: zone a has three NVMe nodes and one plain node; disk d-1
// is attached to two NVMe nodes (one through a pod, one through a detaching
// VolumeAttachment); a pending pod of that disk is checked against what
// reasons say.
func reasonState(t *testing.T) *audit.State {
	t.Helper()
	var s audit.State
	for _, spec := range []localcluster.NodeSpec{
		{Name: "a-1", Zone: ZoneA, Region: Region, InstanceType: localcluster.InstanceTypeNVMe},
		{Name: "a-2", Zone: ZoneA, Region: Region, InstanceType: localcluster.InstanceTypeNVMe},
		{Name: "a-3", Zone: ZoneA, Region: Region, InstanceType: localcluster.InstanceTypePlain, DiskTypes: []string{disk.CategorySSD}},
		{Name: "a-4", Zone: ZoneA, Region: Region, InstanceType: localcluster.InstanceTypeNVMe},
	} {
		n, err := spec.Node()
		if err != nil {
			t.Fatal(err)
		}
		s.Nodes = append(s.Nodes, *n)
	}
	class := storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "zoned"},
		Provisioner:       disk.DriverName,
		Parameters:        map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneID: ZoneB + " , " + ZoneC},
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	s.Classes = []storagev1.StorageClass{class}
	set := &Set{Name: "st", Kind: SharedStatic, Claim: "shared", PV: "pv-1", Handle: "d-1", Zone: ZoneA}
	pv := staticVolume(set)
	pvc := sharedClaim(set)
	pvc.Spec.VolumeName = pv.Name
	unbound := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "single", Namespace: Namespace},
		Spec: v1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("zoned"), AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}}},
	}
	s.Volumes = []v1.PersistentVolume{*pv}
	s.Claims = []v1.PersistentVolumeClaim{*pvc, *unbound}
	running := groupPod(set, "st-0")
	running.Spec.NodeName = "a-1"
	running.Status.Phase = v1.PodRunning
	s.VolumeAttachments = []storagev1.VolumeAttachment{{
		ObjectMeta: metav1.ObjectMeta{Name: "va-a-2", DeletionTimestamp: ptr.To(metav1.Now())},
		Spec: storagev1.VolumeAttachmentSpec{Attacher: disk.DriverName, NodeName: "a-2",
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv.Name)}},
	}}
	s.Pods = []v1.Pod{*running}
	return &s
}

func pendingPod(name string, claims []string, msg string) v1.Pod {
	p := v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Status: v1.PodStatus{Phase: v1.PodPending, Conditions: []v1.PodCondition{{
			Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable, Message: msg,
		}}},
	}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: c, VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c},
		}})
	}
	return p
}

func fitError(reasons ...string) string {
	return "0/4 nodes are available: " + strings.Join(reasons, ", ") + ". preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
}

func TestCheckReasons(t *testing.T) {
	args := vt.DefaultArgs()
	args.MaxNodesPerZone = 2
	tests := []struct {
		name      string
		pod       v1.Pod
		wantTrue  map[string]int
		wantFalse string // substring of the only false finding
		wantStale bool
	}{{
		name: "attach limit with the named count",
		pod: pendingPod("p", []string{"shared"}, fitError(
			"1 "+fmt.Sprintf(vt.ErrReasonHolder, "d-1"),
			"1 "+fmt.Sprintf(vt.ErrReasonAttachLimit, "d-1", 2, ZoneA, 2),
			"1 "+fmt.Sprintf(vt.ErrReasonNotNVMe, "d-1"))),
		wantTrue: map[string]int{"Holder": 1, "AttachLimit": 1, "NotNVMe": 1},
	}, {
		name:      "attach limit with a wrong count",
		pod:       pendingPod("p", []string{"shared"}, fitError("3 "+fmt.Sprintf(vt.ErrReasonAttachLimit, "d-1", 3, ZoneA, 2))),
		wantTrue:  map[string]int{},
		wantFalse: "is attached to 2 nodes in zone " + ZoneA,
	}, {
		name:      "a disk the pod does not use",
		pod:       pendingPod("p", []string{"shared"}, fitError("3 "+fmt.Sprintf(vt.ErrReasonHolder, "d-2"))),
		wantTrue:  map[string]int{},
		wantFalse: "the pod has no shared disk d-2",
	}, {
		name:      "more holders than there are",
		pod:       pendingPod("p", []string{"shared"}, fitError("2 "+fmt.Sprintf(vt.ErrReasonHolder, "d-1"))),
		wantTrue:  map[string]int{"Holder": 1},
		wantStale: true,
	}, {
		name: "zoneId and disk types of the class, parsed as the driver does",
		pod: pendingPod("p", []string{"single"}, fitError(
			"2 "+fmt.Sprintf(vt.ErrReasonClassZone, ZoneB+" , "+ZoneC, "zoned"),
			"1 "+fmt.Sprintf(vt.ErrReasonDiskType, disk.CategoryESSD, "zoned"))),
		wantTrue: map[string]int{"ClassZone": 1, "DiskType": 1},
	}, {
		name:      "a zone the disk is not in",
		pod:       pendingPod("p", []string{"shared"}, fitError("3 "+fmt.Sprintf(vt.ErrReasonDiskZone, ZoneB, "d-1"))),
		wantTrue:  map[string]int{},
		wantFalse: "persistentvolume pv-1 is in zones [" + ZoneA + "]",
	}, {
		name:     "other plugins' reasons are counted, not checked",
		pod:      pendingPod("p", []string{"shared"}, fitError("3 node(s) were unschedulable")),
		wantTrue: map[string]int{},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := reasonState(t)
			s.Pods = append(s.Pods, tc.pod)
			r := CheckReasons(s, args)
			if r.Pending != 1 {
				t.Errorf("%d pending pods, want 1", r.Pending)
			}
			if diff := cmp.Diff(tc.wantTrue, r.True); diff != "" {
				t.Errorf("true reasons (-want +got):\n%s", diff)
			}
			switch {
			case tc.wantFalse == "" && len(r.False) > 0:
				t.Errorf("false reasons: %v", r.False)
			case tc.wantFalse != "" && (len(r.False) != 1 || !strings.Contains(r.False[0], tc.wantFalse)):
				t.Errorf("false reasons %v, want one containing %q", r.False, tc.wantFalse)
			}
			if got := len(r.Stale) > 0; got != tc.wantStale {
				t.Errorf("stale %v, want %v", r.Stale, tc.wantStale)
			}
		})
	}
}

// TestCheckReasonsNoZone: the reason for nodes without a zone label is true
// when such nodes exist and would get a zonal disk of the pod's class.
func TestCheckReasonsNoZone(t *testing.T) {
	s := reasonState(t)
	n, err := localcluster.NodeSpec{Name: "nozone", Region: Region, InstanceType: localcluster.InstanceTypeNVMe}.Node()
	if err != nil {
		t.Fatal(err)
	}
	s.Nodes = append(s.Nodes, *n)
	msg := "0/5 nodes are available: 1 " + fmt.Sprintf(vt.ErrReasonNoZone, "zoned") + ", 4 " + fmt.Sprintf(vt.ErrReasonClassZone, ZoneB+" , "+ZoneC, "zoned") + "."
	s.Pods = append(s.Pods, pendingPod("p", []string{"single"}, msg))
	r := CheckReasons(s, vt.DefaultArgs())
	if diff := cmp.Diff(map[string]int{"NoZone": 1, "ClassZone": 1}, r.True); diff != "" || len(r.False) > 0 || len(r.Stale) > 0 {
		t.Errorf("true reasons (-want +got):\n%s\nfalse: %v\nstale: %v", diff, r.False, r.Stale)
	}

	// No node lacks a zone: the reason is false.
	s.Nodes = s.Nodes[:4]
	s.Pods[len(s.Pods)-1] = pendingPod("p", []string{"single"}, fitError("1 "+fmt.Sprintf(vt.ErrReasonNoZone, "zoned")))
	r = CheckReasons(s, vt.DefaultArgs())
	if len(r.False) != 1 || !strings.Contains(r.False[0], "no node without a zone label") {
		t.Errorf("false reasons %v, want one saying no node lacks a zone", r.False)
	}
}

// TestCheckReasonsDefaultTypes: a class without a type gets the driver's
// default types; the reason for nodes offering none of them is checked
// against those.
func TestCheckReasonsDefaultTypes(t *testing.T) {
	s := reasonState(t)
	n, err := localcluster.NodeSpec{Name: "a-5", Zone: ZoneA, Region: Region, InstanceType: localcluster.InstanceTypeNVMe, DiskTypes: []string{disk.CategoryESSD}}.Node()
	if err != nil {
		t.Fatal(err)
	}
	s.Nodes = append(s.Nodes, *n)
	s.Classes = append(s.Classes, storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "notype"}, Provisioner: disk.DriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	})
	s.Claims = append(s.Claims, v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "notype", Namespace: Namespace},
		Spec: v1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("notype"), AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}}},
	})
	defaults := disk.CategorySSD + "," + disk.CategoryEfficiency
	for _, tc := range []struct {
		reason    string
		wantTrue  map[string]int
		wantFalse string
	}{
		{reason: fmt.Sprintf(vt.ErrReasonDefaultDiskType, defaults, "notype"), wantTrue: map[string]int{"DefaultDiskType": 1}},
		{reason: fmt.Sprintf(vt.ErrReasonDiskType, defaults, "notype"), wantTrue: map[string]int{}, wantFalse: "storageclass notype names its types: false"},
	} {
		s.Pods = []v1.Pod{pendingPod("p", []string{"notype"}, "0/5 nodes are available: 1 "+tc.reason+".")}
		r := CheckReasons(s, vt.DefaultArgs())
		if diff := cmp.Diff(tc.wantTrue, r.True); diff != "" {
			t.Errorf("%s: true reasons (-want +got):\n%s", tc.reason, diff)
		}
		switch {
		case tc.wantFalse == "" && len(r.False) > 0:
			t.Errorf("%s: false reasons: %v", tc.reason, r.False)
		case tc.wantFalse != "" && (len(r.False) != 1 || !strings.Contains(r.False[0], tc.wantFalse)):
			t.Errorf("%s: false reasons %v, want one containing %q", tc.reason, r.False, tc.wantFalse)
		}
	}
}
