package soak

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

// envRunScheduler makes the test binary run the scheduler command instead of
// the tests: the soak's scheduler replicas are child processes of the test
// running the shipped command (pkg/command), so they can be SIGKILLed.
const envRunScheduler = "VOLUME_TOPOLOGY_SOAK_RUN_SCHEDULER"

// Flags, after -args: go test ./test/soak -run TestSoak -args -seed=7 -duration=10m.
// SOAK_SEED and SOAK_DURATION set the defaults.
var (
	seed       = flag.Uint64("seed", envUint("SOAK_SEED", 1), "seed of the workload and plan (env SOAK_SEED)")
	duration   = flag.Duration("duration", envDuration("SOAK_DURATION", 2*time.Minute), "how long the plan runs, before the settle period (env SOAK_DURATION)")
	settle     = flag.Duration("settle", 90*time.Second, "longest wait for the cluster to come to rest after the plan")
	opEvery    = flag.Duration("op-every", 500*time.Millisecond, "mean time between operations")
	faultEvery = flag.Duration("fault-every", 25*time.Second, "mean time between scheduler kills")
	detach     = flag.Duration("detach-delay", 3*time.Second, "how long the simulated cloud takes to detach a disk")
	unmount    = flag.Duration("unmount-delay", 2*time.Second, "how long after a disk's last pod leaves a node its detach starts")
	noNodeLoss = flag.Bool("no-node-loss", false, "leave out nodes deleted under running pods")
	noRBAC     = flag.Bool("no-rbac", false, "run the schedulers as the cluster admin instead of the manifests' service account")
	dir        = flag.String("dir", "", "directory for logs, the plan and the cluster's files (default: a temporary one, kept when the soak fails)")
)

func envUint(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	if os.Getenv(envRunScheduler) == "1" {
		os.Exit(cli.Run(command.New()))
	}
	// Quiet by default (importing the test API server raises it to 5); -v
	// on the command line still wins.
	_ = flag.Set("v", "0")
	flag.Parse()
	os.Exit(m.Run())
}

// TestSoak runs the seeded workload with faults and fails on any violation
// sampled while it runs, on any violation after it settles, on a pending
// pod's reason that is false, and on any attach the cloud refused that the
// scheduler should have prevented.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak takes minutes")
	}
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("PATH", filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := localcluster.FindEtcd(""); err != nil {
		t.Fatalf("the soak needs etcd: %v", err)
	}
	workDir := *dir
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "volume-topology-soak-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The control plane's and the replicas' logs go to files; the test's
	// output is the soak's progress and report.
	flush, err := localcluster.LogToFile(filepath.Join(workDir, "cluster.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer flush()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Seed:             *seed,
		Duration:         *duration,
		Settle:           *settle,
		OpEvery:          *opEvery,
		FaultEvery:       *faultEvery,
		DetachDelay:      *detach,
		UnmountDelay:     *unmount,
		NoNodeLoss:       *noNodeLoss,
		SchedulerCommand: []string{self},
		SchedulerEnv:     []string{envRunScheduler + "=1"},
		Dir:              workDir,
		Out:              os.Stdout,
	}
	if !*noRBAC {
		cfg.ManifestsDir = filepath.Join(root, "manifests")
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("soak could not run (files in %s): %v", workDir, err)
	}
	res.Print(os.Stdout)
	failures := res.Failures()
	for _, f := range failures {
		t.Error(f)
	}
	fmt.Printf("reproduce: go test ./test/soak -run '^TestSoak$' -timeout 0 -v -args%s\n", soakFlags())
	if len(failures) > 0 || *dir != "" {
		fmt.Printf("logs, plan and scheduler logs: %s\n", workDir)
		return
	}
	os.RemoveAll(workDir)
}

// soakFlags renders the seed, the duration and every other soak flag that
// was set, to reproduce the run.
func soakFlags() string {
	set := map[string]string{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	out := fmt.Sprintf(" -seed=%d -duration=%s", *seed, *duration)
	for _, name := range []string{"settle", "op-every", "fault-every", "detach-delay", "unmount-delay", "no-node-loss", "no-rbac"} {
		if v, ok := set[name]; ok {
			out += " -" + name + "=" + v
		}
	}
	return out
}
