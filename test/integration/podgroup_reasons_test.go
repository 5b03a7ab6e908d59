//go:build !kube1.35 && !kube1.36

package integration

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/volumebinding"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// TestPodGroupMemberReasons: a gang that cannot fit stays Pending and binds
// no member, and the member the group failed on says why for every node of
// the fleet: in a group cycle the scheduler runs no PostFilter, so the
// plugin does not narrow the nodes there and Filter names each node's rule.
// Nodes outside the disk's zone carry VolumeBinding's reason, whose filter
// runs before ours once they are filtered. The other members carry the
// GangScheduling plugin's reason. Not parallel: it compares whole-cluster
// messages, which other tests' cordons would change.
func TestPodGroupMemberReasons(t *testing.T) {
	total := 0
	for _, z := range fleet {
		total += z.Nodes
	}
	for _, tc := range []struct {
		name    string
		zone    string
		members int32
		groups  func(handle string) []string
		// events are the Warning events, by reason, the failing member gets.
		events func(handle string) map[string]string
	}{{
		name: "a group of 17 on one disk cannot fit in its zone", zone: zoneA, members: 17,
		groups: func(d string) []string {
			return []string{
				fmt.Sprintf("%d %s", maxNodesPerZone, fmt.Sprintf(volumetopology.ErrReasonHolder, d)),
				fmt.Sprintf("%d %s", 20-maxNodesPerZone, fmt.Sprintf(volumetopology.ErrReasonAttachLimit, d, maxNodesPerZone, zoneA, maxNodesPerZone)),
				fmt.Sprintf("%d %s", 24-20, fmt.Sprintf(volumetopology.ErrReasonNotNVMe, d)),
				fmt.Sprintf("%d %s", total-24, volumebinding.ErrReasonNodeConflict),
			}
		},
		events: func(d string) map[string]string {
			return map[string]string{
				volumetopology.EventAttachLimit: fmt.Sprintf("Shared disk %s is attached to %d nodes in zone %s, the limit (%d): no other node of the zone can take the pod until the disk detaches from one", d, maxNodesPerZone, zoneA, maxNodesPerZone),
				volumetopology.EventHolderOnly:  fmt.Sprintf("%d node(s) in zone %s would take the pod but already run a pod using shared disk %s (one NVMe reservation holder per node)", maxNodesPerZone, zoneA, d),
			}
		},
	}, {
		name: "a group of 11 on a disk of a zone with 10 NVMe nodes", zone: zoneB, members: 11,
		groups: func(d string) []string {
			return []string{
				fmt.Sprintf("%d %s", 10, fmt.Sprintf(volumetopology.ErrReasonHolder, d)),
				fmt.Sprintf("%d %s", 24-10, fmt.Sprintf(volumetopology.ErrReasonNotNVMe, d)),
				fmt.Sprintf("%d %s", total-24, volumebinding.ErrReasonNodeConflict),
			}
		},
		events: func(d string) map[string]string {
			return map[string]string{
				volumetopology.EventHolderOnly: fmt.Sprintf("%d node(s) in zone %s would take the pod but already run a pod using shared disk %s (one NVMe reservation holder per node)", 10, zoneB, d),
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			ns := newNamespace(ctx, t, "gangmsg")
			handle := boundSharedDisk(ctx, t, ns, tc.zone)
			createGroup(ctx, t, ns, "lease", tc.members, tc.members)
			groups := tc.groups(handle)
			sort.Strings(groups)
			want := fmt.Sprintf("0/%d nodes are available: %s.", total, strings.Join(groups, ", "))
			failed := assertGroupPending(ctx, t, ns, "group=lease", int(tc.members), 30*time.Second, func(msg string) bool { return msg == want })
			t.Logf("member %s: %s", failed, want)
			assertMemberEvents(ctx, t, ns, tc.events(handle))
			checkRules(ctx, t, ns)
		})
	}
}

// assertMemberEvents waits until members of the namespace's group have the
// Warning events, by reason and exact note, that PostFilter records for a
// pod outside a group, and checks that no other reason of ours shows up.
func assertMemberEvents(ctx context.Context, t *testing.T, ns string, want map[string]string) {
	t.Helper()
	ours := []string{volumetopology.EventAttachLimit, volumetopology.EventHolderOnly}
	waitFor(ctx, t, 30*time.Second, fmt.Sprintf("Warning events %v for a member", want), func() (bool, string, error) {
		events, err := cluster.Client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		got := map[string]string{}
		var seen []string
		for _, e := range events.Items {
			if e.Type != v1.EventTypeWarning || !slices.Contains(ours, e.Reason) {
				continue
			}
			seen = append(seen, e.Regarding.Name+" "+e.Reason+": "+e.Note)
			if w, ok := want[e.Reason]; !ok {
				return false, "", fmt.Errorf("unexpected event %s on %s: %s", e.Reason, e.Regarding.Name, e.Note)
			} else if e.Note == w {
				got[e.Reason] = e.Note
			}
		}
		return len(got) == len(want), strings.Join(seen, "\n"), nil
	})
}

// TestPodGroupPreemptionEvictsOnlyTheGroup: a preemptor that needs one
// attach slot of a shared disk at its zone's cap may evict a pod group of
// disruptionMode All, whose members hold the disk on three nodes, but nothing
// else. DefaultPreemption removes and re-adds the members on the other nodes
// with those nodes' unchanged NodeInfos; had the plugin's attach counts read
// them, the re-added group would have left the zone one slot over its cap,
// and the pod without a disk next to the member on the chosen node, of lower
// priority than the group and so tried after it, could not be reprieved.
//
// The replica scheduling the preemptor does not count VolumeAttachments
// (countVolumeAttachments: false), so the slots follow the pods alone: with
// them, a holder's node stays attached until the disk detaches, whatever
// preemption simulates. Not parallel: it uses 16 NVMe nodes of zone a, which
// other tests cordon.
func TestPodGroupPreemptionEvictsOnlyTheGroup(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "gangpreempt")
	cfg := localcluster.SchedulerConfig{
		SchedulerName: "volume-topology-scheduler-gangpreempt",
		PluginArgs:    map[string]any{"countVolumeAttachments": false},
	}
	startReplica(ctx, t, "gangpreempt", cfg)
	classes := map[string]int32{"above": 2000, "preemptor": 1000, "group": 100, "below": 50}
	for name, value := range classes {
		pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name}, Value: value}
		if _, err := cluster.Client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cluster.Client.SchedulingV1().PriorityClasses().Delete(context.Background(), pc.Name, metav1.DeleteOptions{})
		})
	}
	boundSharedDisk(ctx, t, ns, zoneA)

	nodes, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: v1.LabelTopologyZone + "=" + zoneA})
	if err != nil {
		t.Fatal(err)
	}
	var nvme []string
	for i := range nodes.Items {
		if nvmeCapable(&nodes.Items[i]) && !nodes.Items[i].Spec.Unschedulable {
			nvme = append(nvme, nodes.Items[i].Name)
		}
	}
	sort.Strings(nvme)
	if len(nvme) < maxNodesPerZone+1 {
		t.Fatalf("zone %s has %d schedulable NVMe nodes, want at least %d", zoneA, len(nvme), maxNodesPerZone+1)
	}

	// The group: three members on three nodes, each next to a pod of lower
	// priority that uses no disk. The disk's 13 other holders are of higher
	// priority than the preemptor: only the group's nodes can be freed.
	pg := &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "gang"},
		Spec: schedulingv1beta1.PodGroupSpec{
			SchedulingPolicy:  schedulingv1beta1.PodGroupSchedulingPolicy{Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: 3}},
			DisruptionMode:    &schedulingv1beta1.DisruptionMode{All: &schedulingv1beta1.AllDisruptionMode{}},
			PriorityClassName: ns + "-group",
		},
	}
	if _, err := cluster.Client.SchedulingV1beta1().PodGroups(ns).Create(ctx, pg, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod group: %v", err)
	}
	var members, others []string
	for i := range 3 {
		m := sharedDiskPod(fmt.Sprintf("member-%d", i), cfg.SchedulerName, ns+"-group", nvme[i])
		m.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To("gang")}
		createPrioritizedPod(ctx, t, ns, m)
		members = append(members, m.Name)
		b := sharedDiskPod(fmt.Sprintf("below-%d", i), cfg.SchedulerName, ns+"-below", nvme[i])
		b.Spec.Volumes, b.Spec.Containers[0].VolumeDevices = nil, nil
		createPrioritizedPod(ctx, t, ns, b)
		others = append(others, b.Name)
	}
	for i := 3; i < maxNodesPerZone; i++ {
		h := sharedDiskPod(fmt.Sprintf("above-%d", i), cfg.SchedulerName, ns+"-above", nvme[i])
		createPrioritizedPod(ctx, t, ns, h)
		others = append(others, h.Name)
	}
	waitFor(ctx, t, 60*time.Second, "the 19 pods running", func() (bool, string, error) {
		c, err := countPods(ctx, ns, "")
		if err != nil {
			return false, "", err
		}
		return len(c.running) == 19, c.String(), nil
	})

	preemptor := sharedDiskPod("preemptor", cfg.SchedulerName, ns+"-preemptor", "")
	createPrioritizedPod(ctx, t, ns, preemptor)
	// Preemption deletes its victims one by one, and the preemptor binds
	// once they are gone: wait for the group's eviction and then for the
	// preemptor to bind or another pod to be evicted.
	evicted := func(name string) (bool, error) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, err
	}
	var on string
	var wrong []string
	waitFor(ctx, t, 60*time.Second, "the group evicted, then the preemptor bound or another pod evicted", func() (bool, string, error) {
		var state []string
		for _, name := range members {
			gone, err := evicted(name)
			if err != nil {
				return false, "", err
			}
			if !gone {
				state = append(state, name+" not evicted yet")
			}
		}
		wrong = wrong[:0]
		for _, name := range others {
			gone, err := evicted(name)
			if err != nil {
				return false, "", err
			}
			if gone {
				wrong = append(wrong, name)
			}
		}
		p, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "preemptor", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		on = p.Spec.NodeName
		msg := "preemptor nominated to " + p.Status.NominatedNodeName + ", bound to " + on
		if c := scheduledCondition(p); c != nil {
			msg += "; " + c.Reason + ": " + c.Message
		}
		state = append(state, msg)
		return len(state) == 1 && (on != "" || len(wrong) > 0), strings.Join(state, "\n"), nil
	})
	for _, name := range wrong {
		t.Errorf("pod %s was evicted, but evicting the group was enough", name)
	}
	if on != "" && on != nvme[0] && on != nvme[1] && on != nvme[2] {
		t.Errorf("the preemptor runs on %s, not on a node of the group (%s)", on, strings.Join(nvme[:3], ", "))
	}
	checkRules(ctx, t, ns)
}

// sharedDiskPod is a pod of schedulerName and priorityClass using the claim
// data-disk as a block device; bound to node when node is set.
func sharedDiskPod(name, schedulerName, priorityClass, node string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			SchedulerName:     schedulerName,
			PriorityClassName: priorityClass,
			NodeName:          node,
			Containers: []v1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				VolumeDevices: []v1.VolumeDevice{{Name: "data", DevicePath: "/dev/data-disk"}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data-disk"},
			}}},
		},
	}
}

// createPrioritizedPod creates the pod and checks that admission gave it
// its class's priority.
func createPrioritizedPod(ctx context.Context, t *testing.T, ns string, p *v1.Pod) {
	t.Helper()
	created, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating %s: %v", p.Name, err)
	}
	if created.Spec.Priority == nil {
		t.Fatalf("pod %s has no priority: is the Priority admission plugin on?", p.Name)
	}
}
