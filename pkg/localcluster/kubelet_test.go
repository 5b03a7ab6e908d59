package localcluster

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestVolumesAttachedPerDisk: the kubelet knows a CSI volume by driver and
// handle, so an attachment of the disk to the node that names the disk's
// other PersistentVolume serves the pod too; one being deleted does not.
func TestVolumesAttachedPerDisk(t *testing.T) {
	pv := func(name, handle string) *v1.PersistentVolume {
		return &v1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PersistentVolumeSpec{PersistentVolumeSource: v1.PersistentVolumeSource{
				CSI: &v1.CSIPersistentVolumeSource{Driver: disk.DriverName, VolumeHandle: handle},
			}},
		}
	}
	attachment := func(name, pv string, deleting bool) *storagev1.VolumeAttachment {
		va := &storagev1.VolumeAttachment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: storagev1.VolumeAttachmentSpec{Attacher: disk.DriverName, NodeName: "n1",
				Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv)}},
			Status: storagev1.VolumeAttachmentStatus{Attached: true},
		}
		if deleting {
			va.DeletionTimestamp = ptr.To(metav1.Now())
		}
		return va
	}
	claim := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}, Spec: v1.PersistentVolumeClaimSpec{VolumeName: "pv-b"}}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec: v1.PodSpec{NodeName: "n1", Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "b"},
		}}}},
	}
	for _, tt := range []struct {
		name string
		va   *storagev1.VolumeAttachment
		want string
	}{
		{name: "attachment of the other volume of the disk", va: attachment("va", "pv-a", false)},
		{name: "attachment of the other volume, being deleted", va: attachment("va", "pv-a", true), want: "attachment of persistentvolume pv-b"},
		{name: "attachment of another disk", va: attachment("va", "pv-c", false), want: "attachment of persistentvolume pv-b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := fake.NewClientset(pv("pv-a", "d-1"), pv("pv-b", "d-1"), pv("pv-c", "d-2"), claim, pod, tt.va)
			factory := informers.NewSharedInformerFactory(client, 0)
			k, err := newKubelets(client, factory)
			if err != nil {
				t.Fatal(err)
			}
			factory.Start(ctx.Done())
			factory.WaitForCacheSync(ctx.Done())
			got, err := k.volumesNotAttached(pod)
			if err != nil || got != tt.want {
				t.Errorf("volumesNotAttached = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
