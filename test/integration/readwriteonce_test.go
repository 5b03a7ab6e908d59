package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// diskPod is a pause pod of our scheduler that uses the claim as a block
// device; avoid, when set, is a node it must not go to.
func diskPod(name, claimName, avoid string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "rwo"}},
		Spec: v1.PodSpec{
			SchedulerName: localcluster.SchedulerName,
			Containers: []v1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				VolumeDevices: []v1.VolumeDevice{{Name: "data", DevicePath: "/dev/data"}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claimName},
			}}},
		},
	}
	if avoid != "" {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
				Key: v1.LabelHostname, Operator: v1.NodeSelectorOpNotIn, Values: []string{avoid},
			}}}},
		}}}
	}
	return p
}

func createPod(ctx context.Context, t *testing.T, ns string, p *v1.Pod) {
	t.Helper()
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", p.Name, err)
	}
}

// waitRunningOn waits for the pod to run and returns its node.
func waitRunningOn(ctx context.Context, t *testing.T, ns, name string) string {
	t.Helper()
	var nodeName string
	waitFor(ctx, t, 60*time.Second, "pod "+name+" running", func() (bool, string, error) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		nodeName = p.Spec.NodeName
		return p.Status.Phase == v1.PodRunning, fmt.Sprintf("%s on %q", p.Status.Phase, p.Spec.NodeName), nil
	})
	return nodeName
}

// A ReadWriteOnce disk of zone b (24 nodes): a second pod of its claim goes
// to the first pod's node, where the disk is attached; a pod that cannot go
// there waits with the in-use reason for the other 23 nodes, and runs
// elsewhere once the users are deleted; a pod that comes while the last
// user terminates goes to the node the disk is still attached to. Each
// placement has a 1-in-24 chance without the rules.
func TestReadWriteOnceFollowsItsDisk(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "rwo")
	handle := diskID()
	pv, pvc := staticBlockVolume("rwo-"+ns, handle, zoneB, ns, "data", v1.ReadWriteOnce, nil)
	if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.TypeMeta = metav1.TypeMeta{}
	apply(ctx, t, ns, pvc)

	createPod(ctx, t, ns, diskPod("first", "data", ""))
	x := waitRunningOn(ctx, t, ns, "first")
	createPod(ctx, t, ns, diskPod("second", "data", ""))
	if got := waitRunningOn(ctx, t, ns, "second"); got != x {
		t.Errorf("second pod of the claim runs on %s, want %s, where the first uses the disk", got, x)
	}

	createPod(ctx, t, ns, diskPod("third", "data", x))
	want := "23 " + fmt.Sprintf(volumetopology.ErrReasonInUse, handle, ns+"/first", x)
	waitFor(ctx, t, 30*time.Second, "third pod pending with the in-use reason", func() (bool, string, error) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "third", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		c := scheduledCondition(p)
		if c == nil {
			return false, "no PodScheduled condition", nil
		}
		return c.Status == v1.ConditionFalse && strings.Contains(c.Message, want), c.Message, nil
	})

	// Deleting the users requeues the waiting pod (the pod-delete hint):
	// it goes to another node of the zone once the disk detaches.
	for _, name := range []string{"first", "second"} {
		if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	y := waitRunningOn(ctx, t, ns, "third")
	if y == x || zoneOfNode(node(ctx, t, y)) != zoneB {
		t.Errorf("third pod runs on %s, want a node of zone %s other than %s", y, zoneB, x)
	}

	// The third pod terminates slowly (a finalizer holds it), so the disk
	// stays attached to its node; a terminating user restricts nothing, and
	// DiskLocality sends the next pod to that node.
	hold := []byte(`{"metadata":{"finalizers":["volume-topology.scheduling.io/test-hold"]}}`)
	if _, err := cluster.Client.CoreV1().Pods(ns).Patch(ctx, "third", types.MergePatchType, hold, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, "third", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, 10*time.Second, "third pod terminating", func() (bool, string, error) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "third", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, "", err
	})
	createPod(ctx, t, ns, diskPod("fourth", "data", ""))
	waitFor(ctx, t, 30*time.Second, "fourth pod scheduled", func() (bool, string, error) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "fourth", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return p.Spec.NodeName != "", "pending", nil
	})
	release := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := cluster.Client.CoreV1().Pods(ns).Patch(ctx, "third", types.MergePatchType, release, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitRunningOn(ctx, t, ns, "fourth"); got != y {
		t.Errorf("fourth pod runs on %s, want %s, where the disk is still attached", got, y)
	}
	checkRules(ctx, t, ns)
}
