// Command volume-topology-scheduler is kube-scheduler with the VolumeTopology
// plugin registered. Pods opt in with schedulerName: volume-topology-scheduler.
// Its explain and audit commands are also a kubectl plugin: run as
// kubectl-volume_topology, it is "kubectl volume-topology".
package main

import (
	"os"

	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
)

func main() {
	os.Exit(command.Main(os.Args, os.Stdout, os.Stderr))
}
