// Command volume-topology-scheduler is kube-scheduler with the VolumeTopology
// plugin registered. Pods opt in with schedulerName: volume-topology-scheduler.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
)

func main() {
	os.Exit(cli.Run(command.New()))
}
