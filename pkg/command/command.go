// Package command builds the volume-topology-scheduler command line: the
// kube-scheduler command with the VolumeTopology plugin registered and its
// args scheme loaded.
package command

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	// Registers VolumeTopologyArgs so --config decodes them strictly.
	_ "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	"github.com/volume-topology/volume-topology-scheduler/pkg/version"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// Registry returns the options that register our plugins (VolumeTopology and
// DiskLocality) with kube-scheduler;
// anything that runs the scheduler (the binary, the local control plane, the
// tests) uses it, so they all run the same code.
func Registry() []app.Option {
	return []app.Option{
		app.WithPlugin(volumetopology.Name, volumetopology.New),
		app.WithPlugin(volumetopology.LocalityName, volumetopology.NewDiskLocality),
	}
}

// New returns the scheduler command.
func New(opts ...app.Option) *cobra.Command {
	opts = append(Registry(), opts...)
	cmd := app.NewSchedulerCommand(opts...)
	cmd.Use = "volume-topology-scheduler"
	cmd.Short = "kube-scheduler with the VolumeTopology and DiskLocality plugins for cloud block disks"
	cmd.Long = `volume-topology-scheduler is kube-scheduler with the VolumeTopology plugin,
which places pods using Alibaba Cloud block disks where the disks can follow
them: inside the disks' zones, on NVMe-capable nodes for shared disks, at most
one pod per node per shared disk, never past a shared disk's attach limit
per zone, and only on the node where a single-attach disk is in use; and the
DiskLocality plugin, which prefers the node a pod's disk is still attached
to. Pods opt in with schedulerName: volume-topology-scheduler.

Operators' commands, with their own flags (see their --help):
  volume-topology-scheduler explain   why a pod is Pending, and where it could go
  volume-topology-scheduler audit     placements that break the disks' rules
The same binary, run as kubectl-volume_topology (a link of that name on
PATH), is the kubectl plugin: kubectl volume-topology explain|audit.`
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		// kube-scheduler prints only its own version; say which product this is too.
		if f := c.Flags().Lookup("version"); f != nil && f.Value.String() != "false" {
			fmt.Fprintln(c.OutOrStdout(), version.String())
		}
		return run(c, args)
	}
	return cmd
}
