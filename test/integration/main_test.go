// Package integration tests volume-topology-scheduler against a real local
// control plane (etcd, kube-apiserver, Kubernetes' PersistentVolume and
// StatefulSet controllers) with the simulated Alibaba Cloud disk driver.
// Every scenario gets its own namespace and ends by checking the placement
// rules against the API state.
//
// etcd comes from bin/ (make etcd); the test puts bin/ on PATH.
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

// envRunScheduler makes the test binary run the scheduler command instead of
// the tests: scheduler replicas that may exit (leader election) run as child
// processes of the test, through the shipped binary's code (pkg/command).
const envRunScheduler = "VOLUME_TOPOLOGY_INTEGRATION_RUN_SCHEDULER"

// The shared environment, set up by TestMain.
var (
	cluster *localcluster.Cluster
	cloud   *simcloud.Cloud
	// detachDelay is how long the simulated cloud takes to detach a disk.
	detachDelay = 2 * time.Second
)

// Zones of the shared fleet: 24 nodes each, of which 20, 10 and 0 support
// NVMe multi-attach.
const (
	region = "cn-beijing"
	zoneA  = "cn-beijing-a"
	zoneB  = "cn-beijing-b"
	zoneC  = "cn-beijing-c"
)

var fleet = []localcluster.ZonePlan{
	{Zone: zoneA, Nodes: 24, NVMe: 20},
	{Zone: zoneB, Nodes: 24, NVMe: 10},
	{Zone: zoneC, Nodes: 24, NVMe: 0},
}

func TestMain(m *testing.M) {
	if os.Getenv(envRunScheduler) == "1" {
		os.Exit(cli.Run(command.New()))
	}
	// Quiet by default (importing the test API server raises it to 5);
	// -v on the command line still wins.
	_ = flag.Set("v", "0")
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := testutil.PutBinOnPath(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if _, err := localcluster.FindEtcd(""); err != nil {
		fmt.Fprintln(os.Stderr, "integration: cannot run the integration tests:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer cancel()
	start := time.Now()
	// The schedulers run as the manifests' ServiceAccount under RBAC, and
	// the API server logs their requests (see rbac_test.go).
	lpDir, err := os.MkdirTemp("", "volume-topology-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(lpDir)
	lp, err := newLeastPrivilege(lpDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if cluster, err = localcluster.Start(ctx, localcluster.Options{APIServerFlags: append(lp.apiServerFlags(), podGroupAPIServerFlags...)}); err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the local control plane:", err)
		return 1
	}
	defer cluster.Stop()
	// Stop every client of the API server before it stops (deferred last,
	// runs first).
	ctx, cancelClients := context.WithCancel(ctx)
	defer cancelClients()
	if err := localcluster.CreateNodes(ctx, cluster.Client, localcluster.PlanNodes(region, fleet)); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if cloud, err = simcloud.Start(ctx, cluster.Client, simcloud.Options{Seed: 42, DetachDelay: detachDelay, RetryInterval: time.Second}); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if schedulerKubeconfig, err = lp.setup(ctx, cluster); err != nil {
		fmt.Fprintln(os.Stderr, "integration: the scheduler's ServiceAccount:", err)
		return 1
	}
	cfg := filepath.Join(cluster.Dir, "scheduler.yaml")
	if err := localcluster.WriteSchedulerConfig(cfg, localcluster.SchedulerConfig{Kubeconfig: schedulerKubeconfig}); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	sched, err := localcluster.StartScheduler(ctx, schedulerKubeconfig, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: starting the scheduler:", err)
		return 1
	}
	defer sched.Stop()
	klog.Background().Info("Shared environment is up", "elapsed", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	var report strings.Builder
	problems, err := lp.check(ctx, cluster, allTestsRan(), &report)
	if err != nil {
		problems = append(problems, "checking the scheduler's permissions: "+err.Error())
	}
	if testing.Verbose() || len(problems) > 0 {
		fmt.Print("\nPermissions the schedulers used (API server audit log):\n" + report.String())
	}
	for _, p := range problems {
		fmt.Println("FAIL: least privilege:", p)
	}
	if len(problems) > 0 && code == 0 {
		code = 1
	}
	return code
}
