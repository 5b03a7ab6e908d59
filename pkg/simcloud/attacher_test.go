package simcloud

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// staticVolumeOf is a static volume of disk handle in zone, bound to claim.
func staticVolumeOf(name, handle, claim, zone string, mode v1.PersistentVolumeAccessMode) (*v1.PersistentVolume, *v1.PersistentVolumeClaim) {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{mode},
			ClaimRef:    &v1.ObjectReference{Namespace: "default", Name: claim},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: handle, VolumeAttributes: map[string]string{"type": disk.CategoryESSD},
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: zoneTerm(disk.LabelDriverZone, zone)}},
		},
	}
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: claim},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: name, AccessModes: []v1.PersistentVolumeAccessMode{mode}, StorageClassName: ptr.To("")},
	}
	return pv, pvc
}

func podOn(name, node, claim string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1.PodSpec{NodeName: node, Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}}}},
		Status: v1.PodStatus{Phase: v1.PodRunning},
	}
}

// TestAttachAfterTheOtherVolumeDetaches: two static volumes of one disk
// share its VolumeAttachment on a node (the name is per handle and node).
// A pod of the second volume lands on a node where the first volume's
// attachment is still being detached: the attachment cannot be created while
// the old one exists, and is created, and the disk attached, once the old one
// is gone, as the attach-detach controller retries until it can.
func TestAttachAfterTheOtherVolumeDetaches(t *testing.T) {
	node, csiNode := testNode("n1", "cn-beijing-a")
	pvA, claimA := staticVolumeOf("pv-a", "d-alias", "a", "cn-beijing-a", v1.ReadWriteMany)
	pvB, claimB := staticVolumeOf("pv-b", "d-alias", "b", "cn-beijing-a", v1.ReadWriteMany)
	name := AttachmentName("d-alias", "n1")
	detaching := &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Finalizers: []string{AttacherFinalizer},
			DeletionTimestamp: ptr.To(metav1.Now()), // pod of pv-a gone: detaching
		},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: disk.DriverName, NodeName: "n1",
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-a")},
		},
		Status: storagev1.VolumeAttachmentStatus{Attached: true},
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	client := fake.NewClientset(node, csiNode, pvA, claimA, pvB, claimB, detaching, podOn("b-0", "n1", "b"))
	cloud, err := Start(ctx, client, Options{Seed: 1, DetachDelay: 200 * time.Millisecond, RetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	// The API server removes the object once its finalizer is gone; the
	// fake client does not, so the test does.
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		va, err := client.StorageV1().VolumeAttachments().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if va.DeletionTimestamp == nil || slices.Contains(va.Finalizers, AttacherFinalizer) {
			return false, nil
		}
		return true, client.StorageV1().VolumeAttachments().Delete(ctx, name, metav1.DeleteOptions{})
	})
	if err != nil {
		t.Fatalf("the old attachment was not detached: %v", err)
	}

	var va *storagev1.VolumeAttachment
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		va, err = client.StorageV1().VolumeAttachments().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return va.DeletionTimestamp == nil && va.Status.Attached, nil
	})
	if err != nil {
		t.Fatalf("disk d-alias was not attached again to n1 for the pod of pv-b; attachment: %+v", va)
	}
	if got := *va.Spec.Source.PersistentVolumeName; got != "pv-b" {
		t.Errorf("the new attachment names %s, want pv-b, the volume of the pod on the node", got)
	}
	if d, ok := cloud.Disk("d-alias"); !ok || !slices.Equal(d.Instances, []string{"n1"}) {
		t.Errorf("cloud disk d-alias = %+v (found %v), want attached to n1", d, ok)
	}
}
