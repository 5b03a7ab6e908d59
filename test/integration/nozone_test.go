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

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// addTaintedNode adds a node to the fleet for one test: a taint unique to
// the namespace keeps other tests' pods off it. It is deleted with the test.
func addTaintedNode(ctx context.Context, t *testing.T, ns string, spec localcluster.NodeSpec) v1.Toleration {
	t.Helper()
	taint := v1.Taint{Key: "volume-topology.scheduling.io/test", Value: ns, Effect: v1.TaintEffectNoSchedule}
	spec.Taints = append(spec.Taints, taint)
	if err := localcluster.CreateNodes(ctx, cluster.Client, []localcluster.NodeSpec{spec}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		_ = cluster.Client.CoreV1().Nodes().Delete(ctx, spec.Name, metav1.DeleteOptions{})
		_ = cluster.Client.StorageV1().CSINodes().Delete(ctx, spec.Name, metav1.DeleteOptions{})
	})
	return v1.Toleration{Key: taint.Key, Operator: v1.TolerationOpEqual, Value: taint.Value, Effect: taint.Effect}
}

// waitPendingWith waits until the pods matching selector are pending and
// each PodScheduled message contains every reason.
func waitPendingWith(ctx context.Context, t *testing.T, ns, selector string, n int, reasons ...string) {
	t.Helper()
	waitFor(ctx, t, 60*time.Second, fmt.Sprintf("%d pods (%s) pending with %q", n, selector, reasons), func() (bool, string, error) {
		c, err := countPods(ctx, ns, selector)
		if err != nil || len(c.unschedulable) != n || len(c.running)+len(c.other) > 0 {
			return false, c.String(), err
		}
		for _, p := range c.unschedulable {
			msg := scheduledCondition(&p).Message
			for _, r := range reasons {
				if !strings.Contains(msg, r) {
					return false, p.Name + ": " + msg, nil
				}
			}
		}
		return true, "", nil
	})
}

// A node without a zone label gives the provisioner no zone: the driver
// would create the disk of an unbound claim in a zone of its own choosing,
// unrelated to the node. The only node a pod may use has no zone label: the
// pod waits with the plugin's reason, and once the node is labelled with a
// zone it goes there and its disk is created in that zone. Not parallel: it
// adds a node to the fleet, which would change the whole-cluster messages
// other tests assert (the lease test counts every node).
func TestNodeWithoutZone(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "nozone")
	nodeName := "nozone-" + ns
	toleration := addTaintedNode(ctx, t, ns, localcluster.NodeSpec{
		Name: nodeName, Region: region, InstanceType: localcluster.InstanceTypeNVMe, MaxDiskVolumes: 16,
		DiskTypes: []string{disk.CategoryESSD, disk.CategoryESSDAuto},
	})
	class := "nozone-" + ns
	sts := withClaimTemplate(statefulSet("nozone", localcluster.SchedulerName, 1), "data", class)
	sts.Spec.Template.Spec.Tolerations = []v1.Toleration{toleration}
	sts.Spec.Template.Spec.NodeSelector = map[string]string{v1.LabelHostname: nodeName}
	apply(ctx, t, ns, wffcClass(class, map[string]string{disk.ParamType: disk.CategoryESSD}), sts)

	waitPendingWith(ctx, t, ns, "app=nozone", 1, fmt.Sprintf(volumetopology.ErrReasonNoZone, class))

	// The driver's node plugin registers; the node gets its zone.
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q,%q:%q}}}`, disk.LabelDriverZone, zoneB, v1.LabelTopologyZone, zoneB)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, nodeName, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	c := waitPods(ctx, t, ns, "app=nozone", 1, 0, 60*time.Second)
	if got := c.running[0].Spec.NodeName; got != nodeName {
		t.Errorf("pod runs on %s, want %s", got, nodeName)
	}
	assertDisksNextToPods(ctx, t, ns, c.running)
	checkRules(ctx, t, ns)
}
