package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
)

// Messages of explain's usage errors.
const (
	// ErrExplainArgs: the arguments name neither a pod nor a manifest.
	ErrExplainArgs = "want 'pod NAME' (with -n NAMESPACE, or NAMESPACE/NAME) or -f MANIFEST"
	// ErrNamespaceConflict: NAMESPACE/NAME and -n disagree. Args: the
	// argument, -n.
	ErrNamespaceConflict = "pod %s names another namespace than -n %s"
	// ErrConfigFlags: --config and the ConfigMap flags together.
	ErrConfigFlags = "--config reads a local file: it cannot be combined with --scheduler-config-map or --scheduler-namespace"
	// ErrPodNotFound: the pod does not exist. Args: namespace, name.
	ErrPodNotFound = "pod %s/%s not found"
)

// explainOptions are explain's flags.
type explainOptions struct {
	kubeconfig, context, namespace string
	output, file                   string
	replicas                       int
	configFile                     string
	configMap, configNamespace     string
}

// newExplainCommand returns "explain", under the name the program was run
// as (volume-topology-scheduler explain, kubectl volume-topology explain).
func newExplainCommand() *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain (pod NAME [-n NAMESPACE] | -f MANIFEST [--replicas N])",
		Short: "Explain, node by node, where a pod using cloud disks can go and why not elsewhere",
		Long: `explain reads a cluster and runs the VolumeTopology plugin's own rules for a
pod on every node, with the configuration the deployed scheduler runs with.
For each node it prints the zone, NVMe capability and why, the disk types,
the shared disks' attach counts in the node's zone, and the verdict of each
rule; then where the pod can go now, what the scheduler said about it, and
what would have to change for it to fit.

  explain pod NAME -n NAMESPACE       a pod of the cluster (Pending, or running;
                                      NAMESPACE/NAME works too)
  explain -f lease.yaml --replicas 20 what-if: the pods of a Pod, StatefulSet,
                                      Deployment or ReplicaSet manifest, placed
                                      one after the other as the scheduler would

The configuration is read from the ConfigMap the Helm chart and the kustomize
install create (--scheduler-namespace/--scheduler-config-map), or from a local
KubeSchedulerConfiguration file (--config); the output names the one used.
A missing or unreadable ConfigMap is an error: explain never guesses the
scheduler's configuration.

Only VolumeTopology's rules are evaluated: resources, taints and the other
plugins decide among the nodes that fit them. Every failure is one line on
standard error and a non-zero exit status.`,
		Example: `  kubectl volume-topology explain pod lease-test-16 -n default
  kubectl volume-topology explain -f manifests/examples/lease.yaml --replicas 20 -n whatif
  volume-topology-scheduler explain pod default/lease-test-16 -o json`,
		Args: func(c *cobra.Command, a []string) error {
			switch {
			case o.file != "" && len(a) == 0:
			case o.file == "" && len(a) == 2 && a[0] == "pod":
			default:
				return errors.New(ErrExplainArgs)
			}
			if o.configFile != "" && (c.Flags().Changed("scheduler-config-map") || c.Flags().Changed("scheduler-namespace")) {
				return errors.New(ErrConfigFlags)
			}
			switch o.output {
			case "table", "json":
			default:
				return fmt.Errorf("unknown output format %q (want table or json)", o.output)
			}
			return nil
		},
		RunE: func(c *cobra.Command, a []string) error {
			return o.run(c.Context(), c, a, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, clientcmd.RecommendedConfigPathFlag, "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.context, "context", "", "the kubeconfig context to use (default: its current context)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the pod, and of the manifest's objects that name none (default: the context's namespace, or default)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	f.StringVarP(&o.file, "filename", "f", "", "manifest of pods that do not exist yet (what-if)")
	f.IntVar(&o.replicas, "replicas", -1, "replicas of the manifest's StatefulSets, Deployments and ReplicaSets (default: their own)")
	f.StringVar(&o.configFile, "config", "", "read the scheduler's KubeSchedulerConfiguration from this file instead of the cluster")
	f.StringVar(&o.configMap, "scheduler-config-map", explain.DefaultConfigMap, "the ConfigMap holding the deployed scheduler's configuration (key "+explain.ConfigMapKey+")")
	f.StringVar(&o.configNamespace, "scheduler-namespace", explain.DefaultConfigMapNamespace, "the namespace of that ConfigMap")
	return cmd
}

// run does the work in the order that fails fastest: the manifest and a
// local configuration file are read before the cluster is contacted; a pod
// is looked up before the cluster is listed.
func (o *explainOptions) run(ctx context.Context, c *cobra.Command, a []string, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.kubeconfig, Precedence: clientcmd.NewDefaultClientConfigLoadingRules().Precedence},
		&clientcmd.ConfigOverrides{CurrentContext: o.context})
	namespace := o.namespace
	var podName string
	if o.file == "" {
		podName = a[1]
		if ns, name, ok := strings.Cut(a[1], "/"); ok {
			if c.Flags().Changed("namespace") && ns != o.namespace {
				return fmt.Errorf(ErrNamespaceConflict, a[1], o.namespace)
			}
			namespace, podName = ns, name
		}
	}
	var workload *explain.Workload
	if o.file != "" {
		data, err := os.ReadFile(o.file)
		if err != nil {
			return err
		}
		// Objects that name no namespace go to -n, or to the kubeconfig
		// context's namespace (read from the file, not the cluster).
		if namespace == "" {
			if namespace, err = contextNamespace(loader); err != nil {
				return err
			}
		}
		if workload, err = explain.ParseWorkload(data, namespace, o.replicas); err != nil {
			return fmt.Errorf("%s: %w", o.file, err)
		}
		for _, n := range workload.Notes {
			fmt.Fprintf(stderr, "%s%s\n", explain.LineNote, n)
		}
	}
	var cfg *explain.Config
	if o.configFile != "" {
		var err error
		if cfg, err = explain.ReadConfigFile(o.configFile); err != nil {
			return err
		}
	}
	restConfig, err := loader.ClientConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	if namespace == "" {
		if namespace, err = contextNamespace(loader); err != nil {
			return err
		}
	}
	if cfg == nil {
		if cfg, err = explain.ReadConfigMap(ctx, client, o.configNamespace, o.configMap); err != nil {
			return err
		}
	}
	var pod *v1.Pod
	schedulerName := ""
	if workload != nil {
		schedulerName = workload.SchedulerName()
	} else {
		if pod, err = client.CoreV1().Pods(namespace).Get(ctx, podName, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf(ErrPodNotFound, namespace, podName)
			}
			return fmt.Errorf("reading pod %s/%s: %w", namespace, podName, err)
		}
		schedulerName = pod.Spec.SchedulerName
	}
	profile, err := cfg.Profile(schedulerName)
	if err != nil {
		return err
	}
	state, err := explain.ReadCluster(ctx, client)
	if err != nil {
		return err
	}
	reports, err := explainWith(ctx, state, profile.Args, pod, workload)
	if err != nil {
		return err
	}
	for _, r := range reports {
		r.Configuration = profile.Describe(cfg)
		if profile.Note != "" {
			r.Notes = append(r.Notes, profile.Note)
		}
	}
	return explain.Print(stdout, reports, o.output)
}

// explainWith explains a pod of the state, or places the pods of a
// workload.
func explainWith(ctx context.Context, state *audit.State, args *config.VolumeTopologyArgs, pod *v1.Pod, w *explain.Workload) ([]*explain.Report, error) {
	if w != nil {
		x, err := explain.New(ctx, state, args, w.Extra(state)...)
		if err != nil {
			return nil, err
		}
		defer x.Close()
		return x.Place(ctx, w.Pods)
	}
	r, err := explain.ExplainPod(ctx, state, args, pod)
	if err != nil {
		return nil, err
	}
	return []*explain.Report{r}, nil
}

// contextNamespace is the namespace of the kubeconfig's context, "default"
// when it names none (as kubectl's).
func contextNamespace(loader clientcmd.ClientConfig) (string, error) {
	ns, _, err := loader.Namespace()
	if err != nil {
		return "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	return ns, nil
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
