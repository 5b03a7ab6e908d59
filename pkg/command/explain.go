package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// newExplainCommand returns "volume-topology-scheduler explain".
func newExplainCommand() *cobra.Command {
	var kubeconfig, output, file, namespace string
	var replicas int
	args := volumetopology.DefaultArgs()
	cmd := &cobra.Command{
		Use:   "explain (pod NAMESPACE/NAME | -f MANIFEST [--replicas N])",
		Short: "Explain, node by node, where a pod using cloud disks can go and why not elsewhere",
		Long: `explain reads a cluster through a kubeconfig and runs the VolumeTopology
plugin's own rules for a pod on every node. For each node it prints the zone,
NVMe capability and why, the disk types, the shared disks' attach counts in
the node's zone, and the verdict of each rule; then where the pod can go now
and what would have to change for it to fit.

  explain pod NAMESPACE/NAME          a pod of the cluster (Pending, or running)
  explain -f lease.yaml --replicas 20 what-if: the pods of a Pod, StatefulSet,
                                      Deployment or ReplicaSet manifest, placed
                                      one after the other as the scheduler would

Only VolumeTopology's rules are evaluated: resources, taints and the other
plugins decide among the nodes that fit them.`,
		SilenceUsage: true,
		Args: func(_ *cobra.Command, a []string) error {
			switch {
			case file != "" && len(a) == 0:
				return nil
			case file == "" && len(a) == 2 && a[0] == "pod":
				return nil
			}
			return errors.New("want 'pod NAMESPACE/NAME' or -f MANIFEST")
		},
		RunE: func(c *cobra.Command, a []string) error {
			ctx := context.Background()
			client, err := clientFor(kubeconfig)
			if err != nil {
				return err
			}
			state, err := audit.Read(ctx, client)
			if err != nil {
				return err
			}
			reports, err := runExplain(ctx, state, args, a, file, namespace, replicas)
			if err != nil {
				return err
			}
			return explain.Print(c.OutOrStdout(), reports, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVarP(&file, "filename", "f", "", "manifest of pods that do not exist yet (what-if)")
	f.StringVarP(&namespace, "namespace", "n", "default", "namespace of the manifest's objects that name none")
	f.IntVar(&replicas, "replicas", -1, "replicas of the manifest's StatefulSets, Deployments and ReplicaSets (default: their own)")
	addArgsFlags(cmd, args)
	return cmd
}

// runExplain explains a pod of the state, or places the pods of a manifest.
func runExplain(ctx context.Context, state *audit.State, args *config.VolumeTopologyArgs, a []string, file, namespace string, replicas int) ([]*explain.Report, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		w, err := explain.ReadWorkload(data, namespace, replicas, state)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		x, err := explain.New(ctx, state, args, w.Extra...)
		if err != nil {
			return nil, err
		}
		defer x.Close()
		return x.Place(ctx, w.Pods)
	}
	ns, name, ok := strings.Cut(a[1], "/")
	if !ok {
		ns, name = "default", a[1]
	}
	pod, err := explain.FindPod(state, ns, name)
	if err != nil {
		return nil, err
	}
	x, err := explain.New(ctx, state, args)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	r, err := x.Pod(ctx, pod)
	if err != nil {
		return nil, err
	}
	return []*explain.Report{r}, nil
}

// clientFor builds a client from a kubeconfig (the default loading rules when
// empty).
func clientFor(kubeconfig string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(cfg)
}

// addArgsFlags lets the commands that read a cluster use the scheduler's
// plugin args.
func addArgsFlags(cmd *cobra.Command, args *config.VolumeTopologyArgs) {
	f := cmd.Flags()
	f.Int32Var(&args.MaxNodesPerZone, "max-nodes-per-zone", args.MaxNodesPerZone, "attach limit of a shared disk per zone")
	f.StringSliceVar(&args.Drivers, "drivers", args.Drivers, "CSI drivers whose disks are checked")
	f.StringSliceVar(&args.NVMeInstanceFamilies, "nvme-instance-families", args.NVMeInstanceFamilies, "instance families with NVMe multi-attach")
	f.StringVar(&args.NVMeLabelKey, "nvme-label-key", args.NVMeLabelKey, "node label that overrides the family list")
	f.BoolVar(&args.CountVolumeAttachments, "count-volume-attachments", args.CountVolumeAttachments, "count VolumeAttachments as attached nodes")
}
