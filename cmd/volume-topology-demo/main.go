// Command volume-topology-demo shows volume-topology-scheduler at work on a
// machine with no cluster: it starts a local control plane (etcd,
// kube-apiserver, the PersistentVolume and StatefulSet controllers) with three
// zones of nodes, a simulated Alibaba Cloud disk driver and the scheduler,
// applies the examples, scales the lease StatefulSet to 20 and prints where
// every pod went and why the others wait.
//
//	make etcd && go run ./cmd/volume-topology-demo [--keep] [--examples DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

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
	// Importing the in-process API server raises klog's default verbosity
	// for tests; a command starts quiet.
	_ = flag.Set("v", "0")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, *logFile); err != nil {
		fmt.Fprintln(os.Stderr, "volume-topology-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o localcluster.DemoOptions, logFile string) (err error) {
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
	if err := localcluster.RunDemo(klog.NewContext(ctx, klog.Background()), o); err != nil {
		return fmt.Errorf("%w (logs: %s)", err, logFile)
	}
	return nil
}
