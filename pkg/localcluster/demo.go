package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

// DemoRegion and DemoZones are the demo fleet's region and zones (those the
// examples name): 24 nodes per zone, of which 20, 10 and 0 support NVMe
// multi-attach.
const DemoRegion = "cn-beijing"

// DemoZones is the demo fleet, zone by zone.
var DemoZones = []ZonePlan{
	{Zone: "cn-beijing-a", Nodes: 24, NVMe: 20},
	{Zone: "cn-beijing-b", Nodes: 24, NVMe: 10},
	{Zone: "cn-beijing-c", Nodes: 24, NVMe: 0},
}

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// EtcdPath is the etcd executable (see FindEtcd).
	EtcdPath string
	// Dir receives the kubeconfig, the scheduler configuration and the log;
	// it is made if missing.
	Dir string
	// ExamplesDir holds the manifests to apply (every *.yaml).
	ExamplesDir string
	// Namespace receives namespaced objects that name none; default "default".
	Namespace string
	// ScaleStatefulSet is scaled to Replicas once the examples are applied;
	// default "lease-test" to 20.
	ScaleStatefulSet string
	Replicas         int32
	// Seed makes the simulated disk IDs reproducible; default 1.
	Seed uint64
	// SettleTimeout bounds the wait for placements to settle; default 60s.
	SettleTimeout time.Duration
	// Keep leaves everything running, printing how to reach it, until ctx ends.
	Keep bool
	// Out receives the report; default os.Stdout.
	Out io.Writer
}

// RunDemo starts a local control plane with the demo fleet, the simulated
// disk cloud and volume-topology-scheduler; applies the examples; scales the
// StatefulSet; waits until placements settle; and prints where every pod went
// and why the others wait.
func RunDemo(ctx context.Context, o DemoOptions) error {
	if o.Namespace == "" {
		o.Namespace = metav1.NamespaceDefault
	}
	if o.ScaleStatefulSet == "" {
		o.ScaleStatefulSet = "lease-test"
	}
	if o.Replicas == 0 {
		o.Replicas = 20
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.SettleTimeout == 0 {
		o.SettleTimeout = time.Minute
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	logger := klog.FromContext(ctx)
	start := time.Now()
	examples, err := ReadManifestDir(o.ExamplesDir)
	if err != nil {
		return err
	}

	cluster, err := Start(ctx, Options{EtcdPath: o.EtcdPath, Dir: o.Dir})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	// Everything that watches the API server stops before it does (the
	// deferred cancel runs first), so it shuts down at once.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := cluster.Client
	if err := CreateNodes(ctx, client, PlanNodes(DemoRegion, DemoZones)); err != nil {
		return err
	}
	cloud, err := simcloud.Start(ctx, client, simcloud.Options{Seed: o.Seed, DetachDelay: 2 * time.Second})
	if err != nil {
		return err
	}
	sched, err := cluster.startScheduler(ctx, SchedulerConfig{Kubeconfig: cluster.KubeconfigPath})
	if err != nil {
		return err
	}
	defer sched.Stop()
	fmt.Fprintf(o.Out, "Control plane, %d nodes, simulated disk cloud and %s up in %s.\n",
		totalNodes(DemoZones), SchedulerName, time.Since(start).Round(100*time.Millisecond))

	applier, err := NewApplier(cluster.Config)
	if err != nil {
		return err
	}
	applier.FieldManager = "volume-topology-demo"
	objs := make([]runtime.Object, 0, len(examples))
	for _, m := range examples {
		objs = append(objs, m.Object)
	}
	applied, err := applier.Apply(ctx, o.Namespace, objs...)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Applied %d objects from %s: %s\n", len(applied), o.ExamplesDir, strings.Join(applied, ", "))

	if err := scaleStatefulSet(ctx, client, o.Namespace, o.ScaleStatefulSet, o.Replicas); err != nil {
		if !errors.Is(err, errNoStatefulSet) {
			return err
		}
		fmt.Fprintf(o.Out, "No StatefulSet %s/%s in the examples: nothing scaled.\n", o.Namespace, o.ScaleStatefulSet)
	} else {
		fmt.Fprintf(o.Out, "Scaled StatefulSet %s/%s to %d replicas.\n", o.Namespace, o.ScaleStatefulSet, o.Replicas)
	}

	settleStart := time.Now()
	if err := WaitSettled(ctx, client, o.Namespace, 2*time.Second, o.SettleTimeout); err != nil {
		logger.Info("Placements did not settle; reporting the current state", "err", err)
		fmt.Fprintf(o.Out, "Warning: %v\n", err)
	} else {
		fmt.Fprintf(o.Out, "Placements settled in %s (%s after start).\n\n",
			time.Since(settleStart).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	}
	if err := PrintPlacements(ctx, o.Out, client, o.Namespace); err != nil {
		return err
	}
	PrintDisks(o.Out, cloud.Disks())

	if !o.Keep {
		return nil
	}
	fmt.Fprintf(o.Out, "\nEverything keeps running until interrupted (Ctrl-C). Use it with:\n\n  export KUBECONFIG=%s\n  kubectl get pods -o wide\n\n", cluster.KubeconfigPath)
	<-ctx.Done()
	return nil
}

func totalNodes(zones []ZonePlan) int {
	n := 0
	for _, z := range zones {
		n += z.Nodes
	}
	return n
}

var errNoStatefulSet = errors.New("no such StatefulSet")

func scaleStatefulSet(ctx context.Context, client kubernetes.Interface, ns, name string, replicas int32) error {
	sts := client.AppsV1().StatefulSets(ns)
	if _, err := sts.Get(ctx, name, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("%w: %v", errNoStatefulSet, err)
	}
	_, err := sts.UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("scaling statefulset %s/%s: %w", ns, name, err)
	}
	return nil
}

// WaitSettled waits until the namespace's placements stop changing for quiet:
// every pod has been scheduled or found unschedulable, every StatefulSet has
// created the pods it is going to, and nothing changed for quiet.
func WaitSettled(ctx context.Context, client kubernetes.Interface, ns string, quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	stableSince := time.Now()
	for {
		state, settled, err := placementState(ctx, client, ns)
		if err != nil {
			return err
		}
		if state != last {
			last, stableSince = state, time.Now()
		} else if settled && time.Since(stableSince) >= quiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("placements in namespace %s did not settle within %s", ns, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// placementState fingerprints the namespace's pods and says whether each has
// been decided.
func placementState(ctx context.Context, client kubernetes.Interface, ns string) (string, bool, error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", false, err
	}
	stss, err := client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", false, err
	}
	settled := true
	var b strings.Builder
	for _, p := range pods.Items {
		cond := podScheduledCondition(&p)
		fmt.Fprintf(&b, "%s@%s:%s:%v;", p.Name, p.Spec.NodeName, p.Status.Phase, cond != nil && cond.Status == v1.ConditionFalse)
		switch {
		case p.DeletionTimestamp != nil:
			settled = false
		case p.Spec.NodeName == "" && (cond == nil || cond.Status != v1.ConditionFalse):
			settled = false // not tried yet
		}
	}
	for _, s := range stss.Items {
		fmt.Fprintf(&b, "sts %s:%d/%d;", s.Name, s.Status.Replicas, s.Status.ReadyReplicas)
		if s.Status.ObservedGeneration < s.Generation {
			settled = false
		}
	}
	return b.String(), settled, nil
}

func podScheduledCondition(p *v1.Pod) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// PrintPlacements prints a table of zone, node, instance family and pod for
// the namespace's placed pods, then each pending pod with its PodScheduled
// reason, then the StatefulSets.
func PrintPlacements(ctx context.Context, w io.Writer, client kubernetes.Interface, ns string) error {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	byName := map[string]*v1.Node{}
	for i := range nodes.Items {
		byName[nodes.Items[i].Name] = &nodes.Items[i]
	}
	classifier := disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach)
	type row struct{ zone, node, family, nvme, pod, phase string }
	var placed []row
	var pending []*v1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Spec.NodeName == "" {
			pending = append(pending, p)
			continue
		}
		r := row{node: p.Spec.NodeName, pod: p.Name, phase: podPhase(p), zone: "?", family: "?", nvme: "?"}
		if n := byName[p.Spec.NodeName]; n != nil {
			f := classifier.Describe(n.Labels)
			r.zone = f.Zone
			r.family = disk.InstanceFamily(disk.InstanceTypeOf(n.Labels))
			r.nvme = map[bool]string{true: "yes", false: "no"}[f.NVMe]
		}
		placed = append(placed, r)
	}
	sort.Slice(placed, func(i, j int) bool {
		a, b := placed[i], placed[j]
		if a.zone != b.zone {
			return a.zone < b.zone
		}
		if a.node != b.node {
			return a.node < b.node
		}
		return a.pod < b.pod
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE\tNODE\tFAMILY\tNVME\tPOD\tSTATUS")
	for _, r := range placed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.zone, r.node, r.family, r.nvme, r.pod, r.phase)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d pod(s) placed, %d pending.\n", len(placed), len(pending))
	sort.Slice(pending, func(i, j int) bool { return pending[i].Name < pending[j].Name })
	for _, p := range pending {
		reason, msg := "NotTriedYet", ""
		if c := podScheduledCondition(p); c != nil {
			reason, msg = c.Reason, c.Message
		}
		fmt.Fprintf(w, "\nPending %s: %s\n  %s\n", p.Name, reason, msg)
	}
	stss, err := client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(stss.Items) > 0 {
		fmt.Fprintln(w)
	}
	for _, s := range stss.Items {
		fmt.Fprintf(w, "StatefulSet %s: %d/%d replicas ready, %d created%s\n", s.Name, s.Status.ReadyReplicas, ptrValue(s.Spec.Replicas), s.Status.Replicas, orderedNote(&s))
	}
	return nil
}

// podPhase is what kubectl shows in STATUS for the common cases.
func podPhase(p *v1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			return cs.State.Waiting.Reason
		}
	}
	return string(p.Status.Phase)
}

func orderedNote(s *appsv1.StatefulSet) string {
	if s.Spec.PodManagementPolicy == appsv1.ParallelPodManagement || s.Status.Replicas >= ptrValue(s.Spec.Replicas) {
		return ""
	}
	return " (podManagementPolicy OrderedReady: the next pod is created once the previous one is Ready)"
}

func ptrValue(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// PrintDisks prints the simulated cloud's disks and where they are attached.
func PrintDisks(w io.Writer, disks []simcloud.Disk) {
	if len(disks) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DISK\tCATEGORY\tZONE\tMULTI-ATTACH\tATTACHED TO")
	for _, d := range disks {
		where := d.Zone
		if where == "" {
			where = d.Region + " (regional)"
		}
		attached := fmt.Sprintf("%d node(s)", len(d.Instances))
		if len(d.Instances) == 1 {
			attached = d.Instances[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", d.ID, d.Category, where, d.MultiAttach, attached)
	}
	tw.Flush()
}

// startScheduler writes the scheduler configuration into the cluster's
// directory and runs volume-topology-scheduler in this process with it, as
// the demos do.
func (c *Cluster) startScheduler(ctx context.Context, cfg SchedulerConfig) (*Scheduler, error) {
	path := filepath.Join(c.Dir, "scheduler-config.yaml")
	if err := WriteSchedulerConfig(path, cfg); err != nil {
		return nil, err
	}
	return StartScheduler(ctx, c.KubeconfigPath, path)
}
