// Package perf runs Kubernetes' scheduler_perf harness
// (k8s.io/kubernetes/test/integration/scheduler_perf) on the scheduler with
// the VolumeTopology plugin, next to kube-scheduler's default profile and the
// seed's affinity recipe, in one run on one machine. See README.md.
//
// The harness starts etcd (from bin/, built by `make etcd`) and a kube-apiserver
// per workload, runs the test cases of performance-config.yaml whose labels
// match -perf-scheduling-label-filter, and writes its results to
// -data-items-dir; the violation check writes its counts next to them.
// cmd/perf-summary prints both as one table.
package perf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "k8s.io/component-base/logs/json/register"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"

	// Lets the harness decode the VolumeTopologyArgs in config/volume-topology.yaml.
	_ "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

func TestMain(m *testing.M) {
	if err := etcdOnPath(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
	if err := perf.InitTests(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// etcdOnPath puts the module's bin/ on PATH: the harness starts the etcd it
// finds there for every workload.
func etcdOnPath() error {
	root, err := testutil.PutBinOnPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "etcd")); err != nil {
		return fmt.Errorf("%s/bin/etcd not found: build it with `make etcd`", root)
	}
	return nil
}

// BenchmarkPerfScheduling runs performance-config.yaml with VolumeTopology
// and DiskLocality registered (timed, see timed_test.go); test cases enable
// them through their schedulerConfigPath.
func BenchmarkPerfScheduling(b *testing.B) {
	registry := frameworkruntime.Registry{volumetopology.Name: newTimedVolumeTopology, volumetopology.LocalityName: newTimedDiskLocality}
	perf.RunBenchmarkPerfScheduling(b, "performance-config.yaml", "volumetopology", registry, perfOptions()...)
}
