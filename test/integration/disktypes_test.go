package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// A class without a type, or with type "available", gets the driver's
// default types, cloud_ssd then cloud_efficiency. The fleet's NVMe nodes
// offer only ESSD categories: replicas go to the nodes that offer a default
// type and get cloud_ssd disks there, and a pod that may only use NVMe nodes
// waits with the plugin's reason instead of failing to provision.
func TestDefaultDiskTypes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "disktypes")
	noType, available := "notype-"+ns, "available-"+ns
	onNVMe := withClaimTemplate(statefulSet("on-nvme", localcluster.SchedulerName, 1), "data", available)
	onNVMe.Spec.Template.Spec.NodeSelector = map[string]string{v1.LabelInstanceTypeStable: localcluster.InstanceTypeNVMe}
	apply(ctx, t, ns,
		wffcClass(noType, nil),
		wffcClass(available, map[string]string{disk.ParamType: disk.TypeAvailable}),
		withClaimTemplate(statefulSet("anywhere", localcluster.SchedulerName, 6), "data", noType),
		onNVMe)

	c := waitPods(ctx, t, ns, "app=anywhere", 6, 0, 60*time.Second)
	for _, p := range c.running {
		n := node(ctx, t, p.Spec.NodeName)
		if n.Labels[disk.DiskTypeLabel(disk.CategorySSD)] == "" && n.Labels[disk.DiskTypeLabel(disk.CategoryEfficiency)] == "" {
			t.Errorf("pod %s runs on %s, which offers neither default type", p.Name, n.Name)
		}
		assertDiskCategory(ctx, t, ns, &p, disk.CategorySSD)
	}
	assertDisksNextToPods(ctx, t, ns, c.running)
	waitPendingWith(ctx, t, ns, "app=on-nvme", 1,
		fmt.Sprintf(volumetopology.ErrReasonDefaultDiskType, disk.CategorySSD+","+disk.CategoryEfficiency, available))
	checkRules(ctx, t, ns)
}

// assertDiskCategory checks the category the cloud created the pod's disks as.
func assertDiskCategory(ctx context.Context, t *testing.T, ns string, p *v1.Pod, want string) {
	t.Helper()
	for _, name := range disk.ClaimNames(p) {
		pvc, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := cloud.Disk(pv.Spec.CSI.VolumeHandle); !ok || d.Category != want {
			t.Errorf("pod %s: disk %s is %+v (found %v), want category %s", p.Name, pv.Spec.CSI.VolumeHandle, d, ok, want)
		}
	}
}
