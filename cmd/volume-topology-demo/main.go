// Command volume-topology-demo shows volume-topology-scheduler at work on a
// machine with no cluster: it starts a local control plane (etcd,
// kube-apiserver, the PersistentVolume and StatefulSet controllers) with three
// zones of nodes, a simulated Alibaba Cloud disk driver and the scheduler,
// applies the examples, scales the lease StatefulSet to 20 and prints where
// every pod went and why the others wait.
//
// With --rollout it runs instead, on a local control plane with one scheduler
// of two profiles (kube-scheduler's default-scheduler and
// volume-topology-scheduler), a Deployment rollout and a StatefulSet rolling
// restart of pods with single-attach disks under each, and prints what each
// took (localcluster.RunRolloutDemo).
//
//	make etcd && go run ./cmd/volume-topology-demo [--keep] [--examples DIR]
//	make etcd && go run ./cmd/volume-topology-demo --rollout
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

func main() {
	var o localcluster.DemoOptions
	flag.BoolVar(&o.Keep, "keep", false, "leave the cluster running and print the KUBECONFIG to use with kubectl, until interrupted")
	flag.StringVar(&o.ExamplesDir, "examples", "manifests/examples", "directory of manifests to apply")
	flag.StringVar(&o.EtcdPath, "etcd", "", "etcd executable (default: etcd on PATH, else bin/etcd; build it with \"make etcd\")")
	flag.StringVar(&o.Dir, "dir", "", "keep the kubeconfig, scheduler configuration and log in this directory (default: a temporary directory, removed at exit unless the demo fails)")
	logFile := flag.String("log-file", "", "write logs here (default: demo.log in --dir)")
	rollout := flag.Bool("rollout", false, "run the rollout demo instead: single-attach disks under the default profile and ours, side by side")
	var ro localcluster.RolloutDemoOptions
	flag.IntVar(&ro.Deployments, "deployments", 3, "rollout demo: one-replica Deployments per profile")
	flag.DurationVar(&ro.RolloutTimeout, "rollout-timeout", 90*time.Second, "rollout demo: how long a Deployment rollout may take before it is reported as hung")
	flag.DurationVar(&ro.AttachDelay, "attach-delay", 0, "rollout demo: how long an attach takes (default simcloud.RealisticAttachDelay, 5s)")
	flag.DurationVar(&ro.DetachDelay, "detach-delay", 0, "rollout demo: how long a detach takes (default simcloud.RealisticDetachDelay, 10s)")
	flag.DurationVar(&ro.UnmountDelay, "unmount-delay", 0, "rollout demo: how long after a disk's last pod leaves a node its detach starts (default simcloud.RealisticUnmountDelay, 5s)")
	// Importing the in-process API server raises klog's default verbosity
	// for tests; a command starts quiet.
	_ = flag.Set("v", "0")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rolloutOpts *localcluster.RolloutDemoOptions
	if *rollout {
		rolloutOpts = &ro
	}
	if err := run(ctx, o, rolloutOpts, *logFile); err != nil {
		fmt.Fprintln(os.Stderr, "volume-topology-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o localcluster.DemoOptions, rollout *localcluster.RolloutDemoOptions, logFile string) (err error) {
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "volume-topology-demo-")
		if err != nil {
			return err
		}
		o.Dir = dir
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			}
		}()
	}
	if logFile == "" {
		logFile = filepath.Join(o.Dir, "demo.log")
	}
	closeLog, err := localcluster.LogToFile(logFile)
	if err != nil {
		return err
	}
	defer closeLog()
	fmt.Printf("Logs: %s\n", logFile)
	ctx = klog.NewContext(ctx, klog.Background())
	if rollout != nil {
		rollout.EtcdPath, rollout.Dir = o.EtcdPath, o.Dir
		err = localcluster.RunRolloutDemo(ctx, *rollout)
	} else {
		err = localcluster.RunDemo(ctx, o)
	}
	if err != nil {
		return fmt.Errorf("%w (logs: %s)", err, logFile)
	}
	return nil
}
