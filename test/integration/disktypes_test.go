package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

// The driver skips the types whose smallest disk is larger than the claim:
// a 10GiB claim of a cloud_essd,cloud_auto class gets cloud_auto, so it goes
// only to nodes that offer cloud_auto, and a pod that may only use nodes
// without it waits with the plugin's reason.
func TestTypesTooLargeForTheClaim(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "small")
	class := "essd-auto-" + ns
	small := func(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
		sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[v1.ResourceStorage] = resource.MustParse("10Gi")
		return sts
	}
	noAuto := small(withClaimTemplate(statefulSet("no-auto", localcluster.SchedulerName, 1), "data", class))
	noAuto.Spec.Template.Spec.NodeSelector = map[string]string{v1.LabelInstanceTypeStable: localcluster.InstanceTypePlainLarge}
	apply(ctx, t, ns,
		wffcClass(class, map[string]string{disk.ParamType: disk.CategoryESSD + "," + disk.CategoryESSDAuto}),
		small(withClaimTemplate(statefulSet("anywhere", localcluster.SchedulerName, 4), "data", class)),
		noAuto)

	c := waitPods(ctx, t, ns, "app=anywhere", 4, 0, 60*time.Second)
	for _, p := range c.running {
		assertDiskCategory(ctx, t, ns, &p, disk.CategoryESSDAuto)
	}
	waitPendingWith(ctx, t, ns, "app=no-auto", 1, fmt.Sprintf(volumetopology.ErrReasonDiskType, disk.CategoryESSDAuto, class))
	checkRules(ctx, t, ns)
}
