package integration

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// staticBlockVolume returns a static block PV of disk handle in zone,
// pre-bound to claim, and the claim.
func staticBlockVolume(name, handle, zone, ns, claimName string, mode v1.PersistentVolumeAccessMode, attrs map[string]string) (*v1.PersistentVolume, *v1.PersistentVolumeClaim) {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{mode},
			VolumeMode:                    ptr.To(v1.PersistentVolumeBlock),
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: ns, Name: claimName},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: handle, VolumeAttributes: attrs,
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}},
			}}}},
		},
	}
	pvc := claim(claimName, "", v1.PersistentVolumeBlock, mode)
	pvc.Spec.VolumeName = name
	return pv, pvc
}

// One disk, two static volumes: the readers' ReadWriteMany volume and the
// writer's ReadWriteOnce one, the usual writer/readers pattern. The disk is
// shared, so the writer's pod gets the shared-disk rules too: with a reader
// on each of the 10 NVMe nodes of zone b it waits (one holder per node; the
// 14 other nodes of the zone are not NVMe-capable); when a reader goes it
// takes that reader's node, whose
// attachment of the disk (named per disk and node) is still detaching, and
// starts once the detach is done.
func TestWriterAndReadersOfOneDisk(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "writer")
	handle := diskID()
	readersPV, readers := staticBlockVolume("readers-"+ns, handle, zoneB, ns, "readers", v1.ReadWriteMany, map[string]string{disk.ParamMultiAttach: "true"})
	writerPV, writer := staticBlockVolume("writer-"+ns, handle, zoneB, ns, "writer", v1.ReadWriteOnce, nil)
	for _, pv := range []*v1.PersistentVolume{readersPV, writerPV} {
		if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	readers.TypeMeta, writer.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
	apply(ctx, t, ns, readers, writer, withSharedBlockClaim(statefulSet("readers", localcluster.SchedulerName, 10), "readers"))
	waitPods(ctx, t, ns, "app=readers", 10, 0, 60*time.Second)

	// PreFilter narrows a shared-disk pod to the NVMe-capable nodes of the
	// disk's zone, so the other nodes are not reported one by one.
	apply(ctx, t, ns, withSharedBlockClaim(statefulSet("writer", localcluster.SchedulerName, 1), "writer"))
	waitPendingWith(ctx, t, ns, "app=writer", 1, "10 "+fmt.Sprintf(volumetopology.ErrReasonHolder, handle))
	checkRules(ctx, t, ns)

	scale(ctx, t, ns, "readers", 9)
	c := waitPods(ctx, t, ns, "app=writer", 1, 0, 60*time.Second)
	w := node(ctx, t, c.running[0].Spec.NodeName)
	if zoneOfNode(w) != zoneB || !nvmeCapable(w) {
		t.Errorf("writer runs on %s (zone %s, %s), want an NVMe-capable node of zone %s", w.Name, zoneOfNode(w), w.Labels[v1.LabelInstanceTypeStable], zoneB)
	}
	if d, ok := cloud.Disk(handle); !ok || !d.MultiAttach {
		t.Errorf("cloud disk %s = %+v (found %v), want a multi-attach disk", handle, d, ok)
	}
	waitPods(ctx, t, ns, "app=readers", 9, 0, 30*time.Second)
	checkRules(ctx, t, ns)
}
