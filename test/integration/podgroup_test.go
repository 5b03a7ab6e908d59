//go:build !kube1.35 && !kube1.36

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// A pod group (scheduling.k8s.io/v1beta1, gang policy) of replicas sharing
// one disk is placed all or nothing. In a group cycle the scheduler assumes
// each member that fits before it tries the next, so the attach limit and the
// one-holder-per-node rule must count the members placed earlier in the same
// cycle: the group never puts more than maxNodesPerZone nodes of a zone, or
// two members on one node, on the disk. A group that cannot fit is
// TestPodGroupMemberReasons'.
func TestPodGroups(t *testing.T) {
	t.Parallel()
	t.Run("a group of 16 on a shared disk of zone a lands on 16 nodes of it", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		ns := newNamespace(ctx, t, "gang16")
		boundSharedDisk(ctx, t, ns, zoneA)
		createGroup(ctx, t, ns, "lease", 16, 16)
		c := waitPods(ctx, t, ns, "group=lease", 16, 0, 2*time.Minute)
		nodes := map[string]string{}
		for _, p := range c.running {
			if other, ok := nodes[p.Spec.NodeName]; ok {
				t.Errorf("%s and %s share node %s", p.Name, other, p.Spec.NodeName)
			}
			nodes[p.Spec.NodeName] = p.Name
			if z := zoneOfNode(node(ctx, t, p.Spec.NodeName)); z != zoneA {
				t.Errorf("%s runs in zone %s, outside its disk's zone %s", p.Name, z, zoneA)
			}
		}
		checkRules(ctx, t, ns)
	})
	// kube-scheduler's volume binder reserves an unbound WaitForFirstConsumer
	// claim for the node of the first member it assumes, so the next member
	// may go only there, where the first member already holds the disk. A
	// group whose members share a claim that is not bound yet can therefore
	// never be placed (README, "Pod groups"); what must hold is that it
	// binds no member and breaks no rule.
	t.Run("a group on a shared claim that is not bound yet binds no member", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		ns := newNamespace(ctx, t, "gangwffc")
		apply(ctx, t, ns,
			wffcClass("shared-"+ns, map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true"}),
			claim("data-disk", "shared-"+ns, v1.PersistentVolumeBlock, v1.ReadWriteMany))
		createGroup(ctx, t, ns, "lease", 2, 2)
		assertGroupPending(ctx, t, ns, "group=lease", 2, 30*time.Second, func(msg string) bool {
			return strings.Contains(msg, fmt.Sprintf(volumetopology.ErrReasonHolder, "of claim "+ns+"/data-disk"))
		})
		checkRules(ctx, t, ns)
	})
}

// boundSharedDisk creates a shared (multi-attach) disk in zone, as the driver
// provisions it, bound to the block claim data-disk, and returns its handle.
func boundSharedDisk(ctx context.Context, t *testing.T, ns, zone string) string {
	t.Helper()
	handle := diskID()
	pvName := "pv-" + ns
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			VolumeMode:                    ptr.To(v1.PersistentVolumeBlock),
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &v1.ObjectReference{Namespace: ns, Name: "data-disk"},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: handle,
				VolumeAttributes: map[string]string{disk.ParamMultiAttach: "true"},
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}},
			}}}},
		},
	}
	if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc := claim("data-disk", "", v1.PersistentVolumeBlock, v1.ReadWriteMany)
	pvc.Spec.VolumeName = pvName
	apply(ctx, t, ns, pvc)
	waitFor(ctx, t, 30*time.Second, "claim data-disk bound", func() (bool, string, error) {
		c, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-disk", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return c.Status.Phase == v1.ClaimBound, string(c.Status.Phase), nil
	})
	return handle
}

// createGroup creates a gang PodGroup of minCount and its members: pods of
// our scheduler using the claim data-disk as a block device.
func createGroup(ctx context.Context, t *testing.T, ns, name string, members, minCount int32) {
	t.Helper()
	pg := &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: minCount},
		}},
	}
	if _, err := cluster.Client.SchedulingV1beta1().PodGroups(ns).Create(ctx, pg, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod group: %v", err)
	}
	for i := range members {
		pod := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Labels: map[string]string{"group": name}},
			Spec: v1.PodSpec{
				SchedulerName:   localcluster.SchedulerName,
				SchedulingGroup: &v1.PodSchedulingGroup{PodGroupName: ptr.To(name)},
				Containers: []v1.Container{{
					Name: "app", Image: "registry.k8s.io/pause:3.10",
					VolumeDevices: []v1.VolumeDevice{{Name: "data", DevicePath: "/dev/data-disk"}},
				}},
				Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
					PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data-disk"},
				}}},
			},
		}
		if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s: %v", pod.Name, err)
		}
	}
}

// assertGroupPending waits until every member is unschedulable and exactly
// one of them (the member the group failed on) has a PodScheduled message
// that matches; no member may be bound meanwhile. It returns that member.
func assertGroupPending(ctx context.Context, t *testing.T, ns, selector string, members int, timeout time.Duration, match func(msg string) bool) (failed string) {
	t.Helper()
	var msgs []string
	waitFor(ctx, t, timeout, fmt.Sprintf("%d members unschedulable, exactly one with the group's reason", members), func() (bool, string, error) {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, "", err
		}
		msgs = msgs[:0]
		pending, withReason := 0, 0
		failed = ""
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				return false, "", fmt.Errorf("member %s was bound to %s: a group that cannot fit must bind none", p.Name, p.Spec.NodeName)
			}
			c := scheduledCondition(&p)
			switch {
			case c == nil:
				msgs = append(msgs, p.Name+": no PodScheduled condition")
			case c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable:
				pending++
				if match(c.Message) {
					withReason++
					failed = p.Name
				}
				msgs = append(msgs, p.Name+": "+c.Message)
			default:
				msgs = append(msgs, p.Name+": "+c.Reason+": "+c.Message)
			}
		}
		return pending == members && withReason == 1, strings.Join(msgs, "\n"), nil
	})
	return failed
}
