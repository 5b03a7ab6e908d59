package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

func node(name, zone, instanceType string) v1.Node {
	return v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		disk.LabelDriverZone: zone, v1.LabelInstanceTypeStable: instanceType,
	}}}
}

func pod(name, on string, claims ...string) v1.Pod {
	p := v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: v1.PodSpec{NodeName: on}}
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprint("v", i), VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c},
		}})
	}
	return p
}

// sharedDisk is claim "data" bound to pv-1, disk d-1 in zone a.
func sharedDisk(s *State) {
	s.Claims = append(s.Claims, v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data"},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: "pv-1", AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}},
	})
	s.Volumes = append(s.Volumes, v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: disk.DriverName, VolumeHandle: "d-1", VolumeAttributes: map[string]string{"multiAttach": "true"}}},
			AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			ClaimRef:               &v1.ObjectReference{Namespace: "default", Name: "data"},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}},
			}}}},
		},
	})
}

func TestCheck(t *testing.T) {
	args := volumetopology.DefaultArgs()
	args.MaxNodesPerZone = 2

	clean := &State{Nodes: []v1.Node{node("a1", "a", "ecs.g7se.xlarge"), node("a2", "a", "ecs.g7se.xlarge")}}
	sharedDisk(clean)
	clean.Pods = []v1.Pod{pod("p1", "a1", "data"), pod("p2", "a2", "data"), pod("pending", "", "data")}
	if r := Check(clean, args); len(r.Violations) != 0 || r.Pods != 2 || r.SharedDisks != 1 || r.MostNodesInZone != 2 {
		t.Errorf("clean state: %+v", r)
	}

	bad := &State{Nodes: []v1.Node{
		node("a1", "a", "ecs.g7se.xlarge"), node("a2", "a", "ecs.g7se.xlarge"), node("a3", "a", "ecs.g6.large"),
		node("b1", "b", "ecs.g7se.xlarge"),
	}}
	sharedDisk(bad)
	bad.Pods = []v1.Pod{
		pod("p1", "a1", "data"), pod("p1b", "a1", "data"), // two holders on a1
		pod("p3", "a3", "data"), // not NVMe; third node of zone a with the VA below
		pod("p4", "b1", "data"), // outside the disk's zone
	}
	bad.VolumeAttachments = []storagev1.VolumeAttachment{{
		ObjectMeta: metav1.ObjectMeta{Name: "va"},
		Spec:       storagev1.VolumeAttachmentSpec{NodeName: "a2", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}},
	}}
	r := Check(bad, args)
	if r.MostNodesInZone != 3 {
		t.Errorf("MostNodesInZone = %d, want 3 (a1, a2 by its VolumeAttachment, a3)", r.MostNodesInZone)
	}
	var got []string
	for _, v := range r.Violations {
		got = append(got, v.Rule+" "+v.Node+" "+strings.Join(v.Nodes, ",")+": "+v.Detail)
	}
	want := []string{
		"attach-limit  a1,a2,a3: disk d-1 is attached to 3 nodes in zone a (limit 2)",
		"holder a1 : 2 pods on one node use shared disk d-1 (NVMe reservations are per node)",
		"nvme a3 : shared disk on a node that cannot attach it: instance type ecs.g6.large (family g6) does not support NVMe multi-attach",
		"zone b1 : pod runs in zone b, outside the topology of persistentvolume pv-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}

	// An attachment to an instance whose Node is gone still takes a slot in
	// the disk's zone.
	gone := &State{Nodes: []v1.Node{node("a1", "a", "ecs.g7se.xlarge"), node("a2", "a", "ecs.g7se.xlarge")}}
	sharedDisk(gone)
	gone.Pods = []v1.Pod{pod("p1", "a1", "data"), pod("p2", "a2", "data")}
	gone.VolumeAttachments = []storagev1.VolumeAttachment{{
		ObjectMeta: metav1.ObjectMeta{Name: "va-lost"},
		Spec:       storagev1.VolumeAttachmentSpec{NodeName: "lost", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}},
	}}
	if r := Check(gone, args); len(r.Violations) != 1 || r.Violations[0].Detail != "disk d-1 is attached to 3 nodes in zone a (limit 2)" {
		t.Errorf("attachment to a node that is gone: %+v", r.Violations)
	}

	var buf bytes.Buffer
	if err := Print(&buf, r, "json"); err != nil {
		t.Fatal(err)
	}
	var decoded Report
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil || len(decoded.Violations) != 4 {
		t.Errorf("JSON output does not round-trip: %v\n%s", err, buf.String())
	}
	buf.Reset()
	if err := Print(&buf, r, "table"); err != nil || !strings.Contains(buf.String(), "4 violation(s)") {
		t.Errorf("table output: %v\n%s", err, buf.String())
	}
	if err := Print(&buf, r, "yaml"); err == nil {
		t.Error("unknown format must be an error")
	}
}

// TestCheckSharedPerDisk: a writer claim on a ReadWriteOnce volume of a disk
// whose readers use a ReadWriteMany volume uses a shared disk, as the plugin
// sees it: its pod counts as a holder and an attached node, needs NVMe, and
// the VolumeAttachments of its volume count toward the disk's limit.
func TestCheckSharedPerDisk(t *testing.T) {
	args := volumetopology.DefaultArgs()
	args.MaxNodesPerZone = 2
	s := &State{Nodes: []v1.Node{node("a1", "a", "ecs.g7se.xlarge"), node("a2", "a", "ecs.g6.large"), node("a3", "a", "ecs.g7se.xlarge")}}
	sharedDisk(s) // claim "data" on pv-1, disk d-1, ReadWriteMany
	s.Claims = append(s.Claims, v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "writer"},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: "pv-w", AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}},
	})
	writerPV := s.Volumes[0].DeepCopy()
	writerPV.Name = "pv-w"
	writerPV.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	writerPV.Spec.CSI.VolumeAttributes = nil
	writerPV.Spec.ClaimRef = &v1.ObjectReference{Namespace: "default", Name: "writer"}
	s.Volumes = append(s.Volumes, *writerPV)
	s.Pods = []v1.Pod{
		pod("reader", "a1", "data"), pod("writer", "a1", "writer"), // two holders on a1
		pod("writer-2", "a2", "writer"), // not NVMe
	}
	s.VolumeAttachments = []storagev1.VolumeAttachment{{
		ObjectMeta: metav1.ObjectMeta{Name: "va-w"},
		Spec:       storagev1.VolumeAttachmentSpec{NodeName: "a3", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-w")}},
	}}
	var got []string
	for _, v := range Check(s, args).Violations {
		got = append(got, v.Rule+" "+v.Node+" "+strings.Join(v.Nodes, ",")+" "+strings.Join(v.Pods, ","))
	}
	want := []string{
		"attach-limit  a1,a2,a3 ",
		"holder a1  default/reader,default/writer",
		"nvme a2  default/writer-2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

// TestCheckUnboundClaims: a pod on a node before its claim is provisioned
// (nodeName set by hand) breaks the zone rule when its class cannot create a
// disk the node can use, as the plugin's Filter would have said.
func TestCheckUnboundClaims(t *testing.T) {
	class := func(name string, params map[string]string) storagev1.StorageClass {
		return storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: disk.DriverName, Parameters: params,
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		}
	}
	claim := func(name, class string) v1.PersistentVolumeClaim {
		return v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: v1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To(class), AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
			},
		}
	}
	noZone := node("nozone", "", "ecs.g7se.xlarge")
	delete(noZone.Labels, disk.LabelDriverZone)
	essdOnly := node("essd-only", "a", "ecs.g7se.xlarge")
	essdOnly.Labels[disk.DiskTypeLabel(disk.CategoryESSD)] = disk.DiskTypeAvailable
	s := &State{
		Nodes: []v1.Node{node("a1", "a", "ecs.g7se.xlarge"), noZone, essdOnly},
		Classes: []storagev1.StorageClass{
			class("essd", map[string]string{disk.ParamType: disk.CategoryESSD}),
			class("regional", map[string]string{disk.ParamType: disk.CategoryRegional}),
			class("lower", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneIDLower: "b"}),
			class("notype", nil),
		},
		Claims: []v1.PersistentVolumeClaim{
			claim("zonal-ok", "essd"), claim("zonal", "essd"), claim("regional", "regional"), claim("lower", "lower"),
			claim("notype", "notype"),
			func() v1.PersistentVolumeClaim {
				c := claim("small", "essd")
				c.Spec.Resources.Requests[v1.ResourceStorage] = resource.MustParse("10Gi")
				return c
			}(),
		},
		Pods: []v1.Pod{
			pod("p-ok", "a1", "zonal-ok"),
			pod("p-nozone", "nozone", "zonal"),
			pod("p-regional", "nozone", "regional"), // a regional disk needs no zone
			pod("p-lower", "a1", "lower"),           // zoneid, read when zoneId is absent
			pod("p-notype", "essd-only", "notype"),  // the driver's default types are cloud_ssd, cloud_efficiency
			pod("p-small", "a1", "small"),           // cloud_essd starts at 20GiB
		},
	}
	var got []string
	for _, v := range Check(s, volumetopology.DefaultArgs()).Violations {
		got = append(got, v.Rule+" "+v.Node+" "+strings.Join(v.Pods, ",")+": "+v.Detail)
	}
	want := []string{
		"zone a1 default/p-lower: claim default/lower is not bound yet and storageclass lower cannot create a disk for the pod's node: " + disk.OutsideZoneID.String(),
		"zone a1 default/p-small: claim default/small is not bound yet and storageclass essd cannot create a disk for it: it requests 10GiB, less than the smallest disk of every type storageclass essd tries (cloud_essd: 20GiB)",
		"zone essd-only default/p-notype: claim default/notype is not bound yet and storageclass notype cannot create a disk for the pod's node: " + disk.NoOfferedType.String(),
		"zone nozone default/p-nozone: claim default/zonal is not bound yet and storageclass essd cannot create a disk for the pod's node: " + disk.NoZone.String(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

// TestCheckReadWriteOnce: a single-attach disk used on two nodes at once
// breaks the ReadWriteOnce rule; several pods on one node do not, nor a
// terminating pod on another node, nor a ReadWriteOncePod claim, nor a shared
// disk.
func TestCheckReadWriteOnce(t *testing.T) {
	single := func(s *State, claim, pvName, handle string, modes ...v1.PersistentVolumeAccessMode) {
		s.Claims = append(s.Claims, v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: claim},
			Spec:       v1.PersistentVolumeClaimSpec{VolumeName: pvName, AccessModes: modes},
		})
		s.Volumes = append(s.Volumes, v1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pvName},
			Spec: v1.PersistentVolumeSpec{
				PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: disk.DriverName, VolumeHandle: handle}},
				AccessModes:            modes,
				ClaimRef:               &v1.ObjectReference{Namespace: "default", Name: claim},
			},
		})
	}
	terminating := func(p v1.Pod) v1.Pod {
		p.DeletionTimestamp = ptr.To(metav1.Now())
		return p
	}
	s := &State{Nodes: []v1.Node{node("a1", "a", "ecs.g7se.xlarge"), node("a2", "a", "ecs.g7se.xlarge"), node("a3", "a", "ecs.g7se.xlarge")}}
	sharedDisk(s) // d-1, ReadWriteMany: used on two nodes below, fine
	single(s, "rwo", "pv-rwo", "d-rwo", v1.ReadWriteOnce)
	single(s, "same-node", "pv-same", "d-same", v1.ReadWriteOnce)
	single(s, "moving", "pv-moving", "d-moving", v1.ReadWriteOnce)
	single(s, "rwop", "pv-rwop", "d-rwop", v1.ReadWriteOncePod)
	s.Pods = []v1.Pod{
		pod("shared-1", "a1", "data"), pod("shared-2", "a2", "data"),
		pod("rwo-1", "a1", "rwo"), pod("rwo-2", "a2", "rwo"), pod("rwo-3", "a2", "rwo"), pod("rwo-pending", "", "rwo"),
		pod("same-1", "a3", "same-node"), pod("same-2", "a3", "same-node"),
		terminating(pod("moving-old", "a1", "moving")), pod("moving-new", "a2", "moving"),
		pod("rwop-1", "a1", "rwop"), pod("rwop-2", "a2", "rwop"),
	}
	done := pod("rwo-done", "a3", "rwo")
	done.Status.Phase = v1.PodSucceeded
	s.Pods = append(s.Pods, done)

	r := Check(s, volumetopology.DefaultArgs())
	want := []Violation{{
		Rule: RuleReadWriteOnce, Disk: "d-rwo", Nodes: []string{"a1", "a2"},
		Pods:   []string{"default/rwo-1", "default/rwo-2", "default/rwo-3"},
		Detail: "single-attach disk d-rwo is used on 2 nodes at once: a1 (default/rwo-1); a2 (default/rwo-2, default/rwo-3)",
	}}
	if diff := cmp.Diff(want, r.Violations); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if r.SingleAttachDisks != 3 || r.SharedDisks != 1 { // d-rwo, d-same, d-moving; not d-rwop
		t.Errorf("checked %d single-attach and %d shared disks, want 3 and 1", r.SingleAttachDisks, r.SharedDisks)
	}
	var buf bytes.Buffer
	if err := Print(&buf, r, "table"); err != nil || !strings.Contains(buf.String(), "1 violation(s); checked 11 pod(s) with disk claims, 1 shared disk(s) and 3 single-attach disk(s) in use") {
		t.Errorf("table output: %v\n%s", err, buf.String())
	}
}
