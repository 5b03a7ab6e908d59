package simcloud

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

func testNode(name, zone string, diskTypes ...string) (*v1.Node, *storagev1.CSINode) {
	labels := map[string]string{
		disk.LabelDriverZone:   zone,
		v1.LabelTopologyZone:   zone,
		v1.LabelTopologyRegion: "cn-beijing",
	}
	for _, t := range diskTypes {
		labels[disk.DiskTypeLabel(t)] = disk.DiskTypeAvailable
	}
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}},
		&storagev1.CSINode{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
				Name: disk.DriverName, NodeID: "i-" + name, TopologyKeys: []string{disk.LabelDriverZone},
			}}},
		}
}

func testClass(name string, params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       disk.DriverName,
		Parameters:        params,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

// handedOverClaim is a claim the PersistentVolume controller has handed to
// the driver after the scheduler selected node.
func handedOverClaim(name, class, node string, mode v1.PersistentVolumeMode, access v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			Annotations: map[string]string{AnnStorageProvisioner: disk.DriverName, disk.AnnSelectedNode: node},
		},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{access},
			StorageClassName: ptr.To(class),
			VolumeMode:       ptr.To(mode),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		},
	}
}

func startFakeCloud(t *testing.T, objs ...runtime.Object) (kubernetes.Interface, context.Context, *Cloud) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	client := fake.NewClientset(objs...)
	cloud, err := Start(ctx, client, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return client, ctx, cloud
}

// waitForPV waits for the PV provisioned for the claim.
func waitForPV(ctx context.Context, t *testing.T, client kubernetes.Interface, claim string) *v1.PersistentVolume {
	t.Helper()
	var found *v1.PersistentVolume
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		pvs, err := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for i := range pvs.Items {
			if ref := pvs.Items[i].Spec.ClaimRef; ref != nil && ref.Name == claim {
				found = &pvs.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no persistentvolume for claim %s: %v", claim, err)
	}
	return found
}

// eventReasons returns the reasons of the events recorded on an object.
func eventReasons(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) []string {
	t.Helper()
	events, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range events.Items {
		if e.InvolvedObject.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	slices.Sort(reasons)
	return reasons
}

func zoneTerm(key, value string) []v1.NodeSelectorTerm {
	return []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: v1.NodeSelectorOpIn, Values: []string{value}}}}}
}

func TestProvisionSharedDiskInTheNodesZone(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-b", disk.CategoryESSD)
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("shared", map[string]string{disk.ParamType: "cloud_ssd,cloud_essd", disk.ParamMultiAttach: "true", disk.ParamZoneID: "cn-beijing-a,cn-beijing-b"}),
		handedOverClaim("data", "shared", "n1", v1.PersistentVolumeBlock, v1.ReadWriteMany))
	pv := waitForPV(ctx, t, client, "data")

	if !diskIDPattern.MatchString(pv.Name) || pv.Spec.CSI.VolumeHandle != pv.Name {
		t.Errorf("pv %s has volume handle %s, want a disk ID used as the PV name", pv.Name, pv.Spec.CSI.VolumeHandle)
	}
	want := map[string]string{"type": disk.CategoryESSD, disk.ParamMultiAttach: "true"}
	got := map[string]string{"type": pv.Spec.CSI.VolumeAttributes["type"], disk.ParamMultiAttach: pv.Spec.CSI.VolumeAttributes[disk.ParamMultiAttach]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("volume attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(zoneTerm(disk.LabelDriverZone, "cn-beijing-b"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	if pv.Spec.ClaimRef.UID == "" || pv.Spec.StorageClassName != "shared" || *pv.Spec.VolumeMode != v1.PersistentVolumeBlock ||
		!slices.Equal(pv.Spec.AccessModes, []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}) {
		t.Errorf("pv spec does not follow the claim: %+v", pv.Spec)
	}
	if got := pv.Spec.Capacity[v1.ResourceStorage]; got.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Errorf("capacity %s, want 20Gi", got.String())
	}
	if pv.Annotations[AnnProvisionedBy] != disk.DriverName {
		t.Errorf("pv annotations %v lack %s", pv.Annotations, AnnProvisionedBy)
	}
}

func TestProvisionConflictingZone(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-c", disk.CategoryESSD)
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("zoned", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneID: "cn-beijing-a,cn-beijing-b"}),
		handedOverClaim("data", "zoned", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce))
	pv := waitForPV(ctx, t, client, "data")
	// Like the driver: the disk goes to a zoneId zone the pod cannot reach.
	if diff := cmp.Diff(zoneTerm(disk.LabelDriverZone, "cn-beijing-a"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return slices.Contains(eventReasons(ctx, t, client, "data"), ReasonConflictingZone), nil
	})
	if err != nil {
		t.Errorf("no %s event on the claim; events: %v", ReasonConflictingZone, eventReasons(ctx, t, client, "data"))
	}
}

// The driver compares zoneId entries with the node's zone verbatim: the
// entry " cn-beijing-b" does not match zone cn-beijing-b.
func TestProvisionConflictingZoneSpaces(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-b", disk.CategoryESSD)
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("zoned", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneID: "cn-beijing-a, cn-beijing-b"}),
		handedOverClaim("data", "zoned", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce))
	pv := waitForPV(ctx, t, client, "data")
	if diff := cmp.Diff(zoneTerm(disk.LabelDriverZone, "cn-beijing-a"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return slices.Contains(eventReasons(ctx, t, client, "data"), ReasonConflictingZone), nil
	})
	if err != nil {
		t.Errorf("no %s event on the claim; events: %v", ReasonConflictingZone, eventReasons(ctx, t, client, "data"))
	}
}

// The driver reads zoneid when zoneId is absent.
func TestProvisionConflictingZoneLowercaseKey(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-c", disk.CategoryESSD)
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("zoned", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneIDLower: "cn-beijing-b"}),
		handedOverClaim("data", "zoned", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce))
	pv := waitForPV(ctx, t, client, "data")
	if diff := cmp.Diff(zoneTerm(disk.LabelDriverZone, "cn-beijing-b"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return slices.Contains(eventReasons(ctx, t, client, "data"), ReasonConflictingZone), nil
	})
	if err != nil {
		t.Errorf("no %s event on the claim; events: %v", ReasonConflictingZone, eventReasons(ctx, t, client, "data"))
	}
}

// A class without a type, or with type "available", gets the driver's
// default types: cloud_ssd, then cloud_efficiency.
func TestProvisionDefaultTypes(t *testing.T) {
	n1, csi1 := testNode("n1", "cn-beijing-a", disk.CategoryEfficiency)
	n2, csi2 := testNode("n2", "cn-beijing-a", disk.CategoryEfficiency, disk.CategorySSD)
	client, ctx, _ := startFakeCloud(t, n1, csi1, n2, csi2,
		testClass("notype", nil),
		testClass("available", map[string]string{disk.ParamType: "available"}),
		handedOverClaim("efficiency", "notype", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce),
		handedOverClaim("ssd", "available", "n2", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce))
	for claim, want := range map[string]string{"efficiency": disk.CategoryEfficiency, "ssd": disk.CategorySSD} {
		if got := waitForPV(ctx, t, client, claim).Spec.CSI.VolumeAttributes["type"]; got != want {
			t.Errorf("claim %s: disk of type %q, want %q", claim, got, want)
		}
	}
}

// The driver skips the types whose smallest disk is larger than the claim.
func TestProvisionSkipsTypesTooLarge(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-a", disk.CategoryESSD, disk.CategoryESSDAuto)
	small := handedOverClaim("small", "essd-auto", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce)
	small.Spec.Resources.Requests[v1.ResourceStorage] = resource.MustParse("10Gi")
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("essd-auto", map[string]string{disk.ParamType: "cloud_essd,cloud_auto"}), small)
	if got := waitForPV(ctx, t, client, "small").Spec.CSI.VolumeAttributes["type"]; got != disk.CategoryESSDAuto {
		t.Errorf("10GiB claim got a disk of type %q, want %s (cloud_essd starts at 20GiB)", got, disk.CategoryESSDAuto)
	}
}

func TestProvisionRegionalDisk(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-c", disk.CategoryRegional)
	client, ctx, cloud := startFakeCloud(t, node, csiNode,
		testClass("regional", map[string]string{disk.ParamType: disk.CategoryRegional, disk.ParamMultiAttach: "true", disk.ParamZoneID: "cn-beijing-a"}),
		handedOverClaim("data", "regional", "n1", v1.PersistentVolumeBlock, v1.ReadWriteMany))
	pv := waitForPV(ctx, t, client, "data")
	if diff := cmp.Diff(zoneTerm(v1.LabelTopologyRegion, "cn-beijing"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	if d, ok := cloud.Disk(pv.Spec.CSI.VolumeHandle); !ok || d.Zone != "" || d.Region != "cn-beijing" {
		t.Errorf("regional disk recorded as %+v (found %v), want no zone and region cn-beijing", d, ok)
	}
}

func TestProvisionRefusesWhatTheDriverRefuses(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-a", disk.CategoryESSD)
	client, ctx, _ := startFakeCloud(t, node, csiNode,
		testClass("single", map[string]string{disk.ParamType: disk.CategoryESSD}),
		testClass("shared", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true"}),
		testClass("ssd", map[string]string{disk.ParamType: disk.CategorySSD}),
		// Shared access needs multiAttach.
		handedOverClaim("rwx-single", "single", "n1", v1.PersistentVolumeBlock, v1.ReadWriteMany),
		// Multi-node writing needs a block volume.
		handedOverClaim("rwx-fs", "shared", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteMany),
		// The node does not offer the type.
		handedOverClaim("no-type", "ssd", "n1", v1.PersistentVolumeFilesystem, v1.ReadWriteOnce),
		// Not handed over by the PersistentVolume controller yet.
		&v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "waiting", Namespace: "default", Annotations: map[string]string{disk.AnnSelectedNode: "n1"}},
			Spec:       v1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("single"), AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}},
		})
	for _, claim := range []string{"rwx-single", "rwx-fs", "no-type"} {
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
			return slices.Contains(eventReasons(ctx, t, client, claim), ReasonProvisioningFailed), nil
		})
		if err != nil {
			t.Errorf("claim %s: no %s event; events: %v", claim, ReasonProvisioningFailed, eventReasons(ctx, t, client, claim))
		}
	}
	pvs, err := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pvs.Items) != 0 {
		t.Errorf("provisioned %d volumes, want none", len(pvs.Items))
	}
}

// Spellings the driver reads its own way: an empty zoneId entry does no
// harm, and multiAttach " true" (not trimmed) makes an ordinary disk.
func TestProvisionDriverSpellings(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-b", disk.CategoryESSD)
	client, ctx, cloud := startFakeCloud(t, node, csiNode,
		testClass("trailing", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneID: "cn-beijing-a,cn-beijing-b,", disk.ParamMultiAttach: " true"}),
		handedOverClaim("data", "trailing", "n1", v1.PersistentVolumeBlock, v1.ReadWriteOnce))
	pv := waitForPV(ctx, t, client, "data")
	if diff := cmp.Diff(zoneTerm(disk.LabelDriverZone, "cn-beijing-b"), pv.Spec.NodeAffinity.Required.NodeSelectorTerms); diff != "" {
		t.Errorf("node affinity (-want +got):\n%s", diff)
	}
	if d, ok := cloud.Disk(pv.Spec.CSI.VolumeHandle); !ok || d.MultiAttach || d.Zone != "cn-beijing-b" {
		t.Errorf("disk %+v (found %v), want a single-attach disk in cn-beijing-b", d, ok)
	}
	if _, ok := pv.Spec.CSI.VolumeAttributes[disk.ParamMultiAttach]; ok {
		t.Errorf("volume attributes %v say multiAttach for a single-attach disk", pv.Spec.CSI.VolumeAttributes)
	}
	if reasons := eventReasons(ctx, t, client, "data"); slices.Contains(reasons, ReasonConflictingZone) {
		t.Errorf("events %v: no ConflictingZone expected, the node's zone is in zoneId", reasons)
	}
}
