package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// startReplica runs a scheduler replica in a child process: this test binary
// running the shipped command (pkg/command), as the real binary would. The
// replica is killed when the test ends; its log is printed if the test failed.
func startReplica(ctx context.Context, t *testing.T, name string, cfg localcluster.SchedulerConfig) *localcluster.SchedulerProcess {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Replicas list, where the in-process scheduler streams (the
	// WatchListClient default since 1.35): they behave like a scheduler
	// whose API server lacks watch-list, so the suite exercises the LIST
	// fallback and the permission it needs.
	command := []string{self, "--feature-gates=" + strings.Join(append([]string{"WatchListClient=false"}, podGroupGates...), ",")}
	return startReplicaCommand(ctx, t, name, cfg, command, []string{envRunScheduler + "=1"})
}

// startReplicaCommand runs a scheduler replica in a child process with the
// given command and environment (flags are appended), as startReplica does.
func startReplicaCommand(ctx context.Context, t *testing.T, name string, cfg localcluster.SchedulerConfig, command, env []string) *localcluster.SchedulerProcess {
	t.Helper()
	dir := t.TempDir()
	cfg.Kubeconfig = schedulerKubeconfig
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := localcluster.WriteSchedulerConfig(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "scheduler.log")
	p, err := localcluster.StartSchedulerProcess(ctx, localcluster.ProcessOptions{
		Command:    command,
		Env:        env,
		Kubeconfig: schedulerKubeconfig,
		ConfigPath: cfgPath,
		LogPath:    logPath,
		Verbosity:  2,
	})
	if err != nil {
		t.Fatalf("starting scheduler replica %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			if data, err := os.ReadFile(logPath); err == nil {
				if len(data) > 20000 {
					data = data[len(data)-20000:]
				}
				t.Logf("log of scheduler replica %s (pid %d), last 20kB:\n%s", name, p.Pid(), bytes.TrimSpace(data))
			}
		}
	})
	return p
}

// sharedDiskSet creates the lease workload's objects for a scheduler: a
// multi-attach claim and a Parallel StatefulSet of replicas using it.
func sharedDiskSet(ctx context.Context, t *testing.T, ns, schedulerName string, replicas int32) {
	t.Helper()
	class := "shared-" + ns
	apply(ctx, t, ns,
		wffcClass(class, map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true"}),
		claim("data-disk", class, v1.PersistentVolumeBlock, v1.ReadWriteMany),
		withSharedBlockClaim(statefulSet("shared", schedulerName, replicas), "data-disk"))
}

// boundPods returns the namespace's pods that have a node.
func boundPods(ctx context.Context, ns string) (map[string]string, error) {
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			out[p.Name] = p.Spec.NodeName
		}
	}
	return out, nil
}

// waitBound waits until at least n pods are bound, polling quickly so the
// caller can act in the middle of a scale-up.
func waitBound(ctx context.Context, t *testing.T, ns string, n int, timeout time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		bound, err := boundPods(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(bound) >= n {
			return bound
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d bound pods; %d are: %v", n, len(bound), bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertKeptNodes checks that pods bound before keep their nodes.
func assertKeptNodes(ctx context.Context, t *testing.T, ns string, before map[string]string) {
	t.Helper()
	now, err := boundPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for pod, node := range before {
		if now[pod] != node {
			t.Errorf("pod %s was bound to %s and is now on %q", pod, node, now[pod])
		}
	}
}

// A scheduler killed in the middle of a scale-up and started again places
// nothing twice and nothing over the cap.
func TestSchedulerRestartMidScaleUp(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "restart")
	cfg := localcluster.SchedulerConfig{SchedulerName: "volume-topology-scheduler-restart"}
	first := startReplica(ctx, t, "first", cfg)
	sharedDiskSet(ctx, t, ns, cfg.SchedulerName, 20)

	// Killed as soon as the first pod is bound: its claim was just given a
	// selected node and the disk is being provisioned, the other replicas
	// waiting for it.
	before := waitBound(ctx, t, ns, 1, 60*time.Second)
	first.Kill()
	before, err := boundPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the scheduler with %d of 20 pods bound", len(before))
	if len(before) > maxNodesPerZone {
		t.Errorf("%d pods bound before the restart, over the cap %d", len(before), maxNodesPerZone)
	}
	// Nobody schedules while it is down.
	time.Sleep(time.Second)
	assertKeptNodes(ctx, t, ns, before)
	if now, _ := boundPods(ctx, ns); len(now) != len(before) {
		t.Errorf("%d pods bound while no scheduler ran, %d before", len(now), len(before))
	}

	startReplica(ctx, t, "second", cfg)
	c := waitPods(ctx, t, ns, "app=shared", 16, 4, 60*time.Second)
	assertKeptNodes(ctx, t, ns, before)
	assertOneZoneOneHolder(ctx, t, c)
	checkRules(ctx, t, ns)
}

// Two replicas with leader election: the leader is killed in the middle of a
// scale-up; the other takes the lease and finishes, within the cap.
func TestLeaderElectionFailover(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "failover")
	cfg := localcluster.SchedulerConfig{
		SchedulerName: "volume-topology-scheduler-ha",
		LeaderElect:   true,
		LeaseDuration: 4 * time.Second,
		RenewDeadline: 3 * time.Second,
		RetryPeriod:   500 * time.Millisecond,
	}
	leaseName := localcluster.SchedulerName
	leader := startReplica(ctx, t, "a", cfg)
	holder := waitLeaseHolder(ctx, t, leaseName, "")
	startReplica(ctx, t, "b", cfg)
	sharedDiskSet(ctx, t, ns, cfg.SchedulerName, 20)

	before := waitBound(ctx, t, ns, 6, 60*time.Second)
	leader.Kill()
	before, err := boundPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the leader %s with %d of 20 pods bound", holder, len(before))
	next := waitLeaseHolder(ctx, t, leaseName, holder)
	t.Logf("replica %s took over", next)
	c := waitPods(ctx, t, ns, "app=shared", 16, 4, 60*time.Second)
	assertKeptNodes(ctx, t, ns, before)
	assertOneZoneOneHolder(ctx, t, c)
	checkRules(ctx, t, ns)
}

// waitLeaseHolder waits until the lease has a holder other than not.
func waitLeaseHolder(ctx context.Context, t *testing.T, lease, not string) string {
	t.Helper()
	var holder string
	waitFor(ctx, t, 30*time.Second, fmt.Sprintf("a holder of lease %s other than %q", lease, not), func() (bool, string, error) {
		l, err := cluster.Client.CoordinationV1().Leases("kube-system").Get(ctx, lease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		holder = ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return holder != "" && holder != not, "holder " + holder, nil
	})
	return holder
}

// assertOneZoneOneHolder checks that running pods of one shared disk are in
// one zone on distinct NVMe nodes.
func assertOneZoneOneHolder(ctx context.Context, t *testing.T, c podCounts) {
	t.Helper()
	zones := map[string]int{}
	nodes := map[string]string{}
	for _, p := range c.running {
		n := node(ctx, t, p.Spec.NodeName)
		zones[zoneOfNode(n)]++
		if other, ok := nodes[n.Name]; ok {
			t.Errorf("pods %s and %s share node %s", other, p.Name, n.Name)
		}
		nodes[n.Name] = p.Name
		if !nvmeCapable(n) {
			t.Errorf("pod %s runs on non-NVMe node %s", p.Name, n.Name)
		}
	}
	if len(zones) != 1 {
		t.Errorf("the replicas of one disk run in several zones: %v", zones)
	}
}
