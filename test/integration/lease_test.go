package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

const leaseSelector = "app=lease-test"

// leaseObjects returns the lease workload: manifests/examples/lease.yaml, or
// the same objects built here when the file is missing. Its StatefulSet is
// switched to Parallel pod management: with OrderedReady the StatefulSet
// controller creates replica N+1 only once replica N is Ready, so past the cap
// only the first extra replica would exist.
func leaseObjects(t *testing.T) []runtime.Object {
	objs, ok := example(t, "lease.yaml")
	if !ok {
		sts := withSharedBlockClaim(statefulSet("lease-test", localcluster.SchedulerName, 2), "data-disk")
		sts.Spec.Template.Spec.Containers[0].Name = "lease"
		objs = []runtime.Object{
			wffcClass("alicloud-disk-shared", map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true"}),
			claim("data-disk", "alicloud-disk-shared", v1.PersistentVolumeBlock, v1.ReadWriteMany),
			sts,
		}
	}
	for _, o := range objs {
		if sts, ok := o.(*appsv1.StatefulSet); ok {
			sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
			if sts.Spec.Template.Spec.SchedulerName != localcluster.SchedulerName {
				t.Fatalf("lease-test uses scheduler %q, want %q", sts.Spec.Template.Spec.SchedulerName, localcluster.SchedulerName)
			}
		}
	}
	return objs
}

// The canonical workload, with no affinity: scaled from 2 to 20 it runs 16
// replicas on distinct NVMe nodes of the zone with the most NVMe nodes; the
// other 4 wait with the plugin's reason. Deleting 2 running pods lets 2 in,
// and the disk is never attached to more than 16 nodes of a zone meanwhile,
// VolumeAttachments being detached included.
func TestLeaseWorkloadScalesToTheAttachLimit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "lease")
	apply(ctx, t, ns, leaseObjects(t)...)

	c := waitPods(ctx, t, ns, leaseSelector, 2, 0, 30*time.Second)
	firstZone := zoneOfNode(node(ctx, t, c.running[0].Spec.NodeName))
	if firstZone != zoneA {
		t.Errorf("the first replicas went to zone %s, want %s, the zone with the most NVMe nodes (%s)", firstZone, zoneA, placements(c.running))
	}

	scale(ctx, t, ns, "lease-test", 20)
	c = waitPods(ctx, t, ns, leaseSelector, 16, 4, 60*time.Second)
	assertLeasePlacement(ctx, t, ns, leaseSelector, c, firstZone)

	// Nothing else gets in once the placements settled.
	time.Sleep(2 * time.Second)
	c = waitPods(ctx, t, ns, leaseSelector, 16, 4, time.Second)
	checkRules(ctx, t, ns)
	assertAttachLimitWarnings(ctx, t, ns, c, firstZone)

	// Delete two running pods, their nodes cordoned so that the places they
	// free are on other nodes. Their disk's VolumeAttachments stay while the
	// cloud detaches it (detachDelay) and count against the cap until they
	// are gone: only then may 2 of the 6 waiting pods (the 2 recreated by the
	// StatefulSet controller and the 4 pending) go to other nodes.
	watch := watchAttachedSet(ctx, t, ns)
	gone := c.running[:2]
	for _, p := range gone {
		setUnschedulable(ctx, t, p.Spec.NodeName, true)
		t.Cleanup(func() { setUnschedulable(context.WithoutCancel(ctx), t, p.Spec.NodeName, false) })
	}
	for _, p := range gone {
		if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(ctx, t, 30*time.Second, "the deleted pods to go", func() (bool, string, error) {
		c, err := countPods(ctx, ns, leaseSelector)
		return err == nil && len(c.running) == 14, c.String(), err
	})
	detached := waitDetached(ctx, t, leasePV(ctx, t, ns), gone)
	c = waitPods(ctx, t, ns, leaseSelector, 16, 4, 30*time.Second)
	most, where := watch()
	t.Logf("deleted %s, detached after %s; now running: %s; largest attached set %d (%s)",
		placements(gone), detached.Round(time.Millisecond), placements(c.running), most, where)
	if most > maxNodesPerZone {
		t.Errorf("while pods came and went, disk %s was attached to %d nodes (limit %d)", where, most, maxNodesPerZone)
	}
	for _, p := range c.running {
		for _, g := range gone {
			if p.Spec.NodeName == g.Spec.NodeName {
				t.Errorf("pod %s runs on cordoned node %s", p.Name, p.Spec.NodeName)
			}
		}
	}
	assertLeasePlacement(ctx, t, ns, leaseSelector, c, firstZone)
	checkRules(ctx, t, ns)
}

// assertLeasePlacement checks that the 16 running replicas are on distinct
// NVMe nodes of zone and that the 4 pending ones say why for every node of
// the fleet. The zone is full, so every NVMe node of it the disk is not
// attached to, cordoned or not, is left out of PreFilter's candidates and
// carries the attach limit, which preemption cannot change.
func assertLeasePlacement(ctx context.Context, t *testing.T, ns, selector string, c podCounts, zone string) {
	t.Helper()
	nodes := sets.New[string]()
	for _, p := range c.running {
		n := node(ctx, t, p.Spec.NodeName)
		if z := zoneOfNode(n); z != zone {
			t.Errorf("pod %s runs on %s in zone %s, want zone %s", p.Name, n.Name, z, zone)
		}
		if !nvmeCapable(n) {
			t.Errorf("pod %s runs on %s (%s), which does not support NVMe multi-attach", p.Name, n.Name, n.Labels[v1.LabelInstanceTypeStable])
		}
		if nodes.Has(n.Name) {
			t.Errorf("two replicas on node %s: %s", n.Name, placements(c.running))
		}
		nodes.Insert(n.Name)
	}
	pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(ctx, leasePV(ctx, t, ns), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Every node of the fleet is explained by the rule it fails, those the
	// plugin's PreFilter left out (not NVMe-capable, other zones) too.
	d := pv.Spec.CSI.VolumeHandle
	others := 0
	for _, z := range fleet {
		if z.Zone != zone {
			others += z.Nodes
		}
	}
	var plan localcluster.ZonePlan
	for _, z := range fleet {
		if z.Zone == zone {
			plan = z
		}
	}
	groups := []string{
		fmt.Sprintf("%d %s", maxNodesPerZone, fmt.Sprintf(volumetopology.ErrReasonHolder, d)),
		fmt.Sprintf("%d %s", plan.NVMe-maxNodesPerZone, fmt.Sprintf(volumetopology.ErrReasonAttachLimit, d, maxNodesPerZone, zone, maxNodesPerZone)),
		fmt.Sprintf("%d %s", plan.Nodes-plan.NVMe, fmt.Sprintf(volumetopology.ErrReasonNotNVMe, d)),
		fmt.Sprintf("%d %s", others, fmt.Sprintf(volumetopology.ErrReasonDiskZone, zone, d)),
	}
	sort.Strings(groups)
	want := fmt.Sprintf("0/%d nodes are available: %s.", plan.Nodes+others, strings.Join(groups, ", "))
	// A pending pod's message is of its last attempt, which may predate the
	// last detach: the scheduler retries it on the VolumeAttachment's
	// deletion.
	waitFor(ctx, t, 30*time.Second, "every pending pod's message to say why for every node, "+want, func() (bool, string, error) {
		now, err := countPods(ctx, ns, selector)
		if err != nil {
			return false, "", err
		}
		var wrong []string
		for _, p := range now.unschedulable {
			if msg := scheduledCondition(&p).Message; !strings.HasPrefix(msg, want) {
				wrong = append(wrong, p.Name+": "+msg)
			}
		}
		state := fmt.Sprintf("%d pending (want %d)\n%s", len(now.unschedulable), len(c.unschedulable), strings.Join(wrong, "\n"))
		return len(now.unschedulable) == len(c.unschedulable) && len(wrong) == 0, state, nil
	})
}

// assertAttachLimitWarnings checks that each pending replica got one
// Warning event naming the disk at its limit in zone, however often the
// scheduler retried it meanwhile.
func assertAttachLimitWarnings(ctx context.Context, t *testing.T, ns string, c podCounts, zone string) {
	t.Helper()
	pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(ctx, leasePV(ctx, t, ns), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	note := fmt.Sprintf("Shared disk %s is attached to %d nodes in zone %s", pv.Spec.CSI.VolumeHandle, maxNodesPerZone, zone)
	events, err := cluster.Client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.unschedulable {
		var got []string
		for _, e := range events.Items {
			if e.Regarding.Name == p.Name && e.Reason == volumetopology.EventAttachLimit {
				count := 1
				if e.Series != nil {
					count = int(e.Series.Count)
				}
				got = append(got, fmt.Sprintf("%s x%d: %s", e.Type, count, e.Note))
			}
		}
		if len(got) != 1 || !strings.HasPrefix(got[0], v1.EventTypeWarning+" x1: "+note) {
			t.Errorf("pending pod %s: %s events %q, want one Warning saying %q", p.Name, volumetopology.EventAttachLimit, got, note)
		}
	}
}

// watchAttachedSet samples the attached sets of the namespace's shared disks
// every 50ms until the returned function is called, which reports the
// largest set seen in any zone.
func watchAttachedSet(ctx context.Context, t *testing.T, ns string) func() (int, string) {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	most, where := 0, ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			n, w, err := maxAttachedInZone(ctx, ns)
			if err == nil {
				mu.Lock()
				if n > most {
					most, where = n, w
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	stop := func() (int, string) {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return most, where
	}
	t.Cleanup(func() { stop() })
	return stop
}

// setUnschedulable cordons or uncordons a node.
func setUnschedulable(ctx context.Context, t *testing.T, name string, on bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Errorf("setting unschedulable=%v on node %s: %v", on, name, err)
	}
}

// leasePV returns the name of the lease workload's PersistentVolume.
func leasePV(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	pvc, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-disk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pvc.Spec.VolumeName
}

// waitDetached waits until no VolumeAttachment of the PV names the nodes of
// the pods and returns how long that took.
func waitDetached(ctx context.Context, t *testing.T, pv string, pods []v1.Pod) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(ctx, t, 30*time.Second, "the disk to detach from "+placements(pods), func() (bool, string, error) {
		vas, err := cluster.Client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		var left []string
		for _, va := range vas.Items {
			if va.Spec.Source.PersistentVolumeName == nil || *va.Spec.Source.PersistentVolumeName != pv {
				continue
			}
			for _, p := range pods {
				if va.Spec.NodeName == p.Spec.NodeName {
					left = append(left, va.Name+"@"+va.Spec.NodeName)
				}
			}
		}
		return len(left) == 0, strings.Join(left, " "), nil
	})
	return time.Since(start)
}
