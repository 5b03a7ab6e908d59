package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

// RolloutZones is the fleet of the rollout demo: 60 nodes in 3 zones, enough
// that most are empty (the default profile sends a pod to the emptiest
// nodes, and its old node has just become one of them).
var RolloutZones = []ZonePlan{
	{Zone: "cn-beijing-a", Nodes: 20},
	{Zone: "cn-beijing-b", Nodes: 20},
	{Zone: "cn-beijing-c", Nodes: 20},
}

// RolloutInstanceType is the instance type of every node of the rollout
// demo: one node pool of one type, so that kube-scheduler's default scores
// tie between the nodes a pod's disk allows (a fleet of mixed sizes makes
// them prefer the largest nodes, and so often a pod's old node).
const RolloutInstanceType = InstanceTypePlainLarge

// rolloutNodes is the rollout demo's fleet.
func rolloutNodes() []NodeSpec {
	specs := PlanNodes(DemoRegion, RolloutZones)
	for i := range specs {
		specs[i].InstanceType = RolloutInstanceType
		specs[i].CPU, specs[i].Memory = "4", "8Gi"
		specs[i].DiskTypes = []string{disk.CategoryEfficiency, disk.CategorySSD, disk.CategoryESSD}
	}
	return specs
}

// RolloutClass is the rollout demo's StorageClass: single-attach ESSD,
// WaitForFirstConsumer.
const RolloutClass = "alicloud-disk-rwo"

// restartAnnotation is what the demo changes in a pod template, as
// kubectl rollout restart does.
const restartAnnotation = "kubectl.kubernetes.io/restartedAt"

// RolloutDemoOptions configure RunRolloutDemo.
type RolloutDemoOptions struct {
	// EtcdPath is the etcd executable (see FindEtcd).
	EtcdPath string
	// Dir receives the kubeconfig and the scheduler configuration.
	Dir string
	// Deployments is how many one-replica Deployments each profile rolls
	// out; default 3.
	Deployments int
	// Replicas of each profile's StatefulSet; default 10.
	Replicas int32
	// RolloutTimeout is how long a Deployment's rollout may take before it
	// is reported as hung; default 90s.
	RolloutTimeout time.Duration
	// RestartTimeout bounds each StatefulSet's rolling restart; default 10m.
	RestartTimeout time.Duration
	// AttachDelay, DetachDelay and UnmountDelay are the simulated cloud's
	// (simcloud.Options); zero means simcloud's Realistic* values.
	AttachDelay, DetachDelay, UnmountDelay time.Duration
	// Seed makes the simulated disk IDs reproducible; default 1.
	Seed uint64
	// Out receives the report; default os.Stdout.
	Out io.Writer
}

func (o *RolloutDemoOptions) defaults() {
	if o.Deployments <= 0 {
		o.Deployments = 3
	}
	if o.Replicas <= 0 {
		o.Replicas = 10
	}
	if o.RolloutTimeout <= 0 {
		o.RolloutTimeout = 90 * time.Second
	}
	if o.RestartTimeout <= 0 {
		o.RestartTimeout = 10 * time.Minute
	}
	if o.AttachDelay == 0 {
		o.AttachDelay = simcloud.RealisticAttachDelay
	}
	if o.DetachDelay == 0 {
		o.DetachDelay = simcloud.RealisticDetachDelay
	}
	if o.UnmountDelay == 0 {
		o.UnmountDelay = simcloud.RealisticUnmountDelay
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
}

// rolloutProfile is one scheduler profile of the demo and its namespaces.
type rolloutProfile struct {
	scheduler string
	// deployNS holds the Deployments, stsNS the StatefulSet: the simulated
	// cloud counts by namespace.
	deployNS, stsNS string
}

// DeploymentRollout is the outcome of one Deployment's rollout.
type DeploymentRollout struct {
	Profile, Name string
	OldNode       string
	// NewNodes are the nodes of the new ReplicaSet's pods.
	NewNodes []string
	// Took is the time to complete; Hung is true when it did not within
	// the timeout.
	Took time.Duration
	Hung bool
	// MultiAttach counts the attach-detach controller's Multi-Attach events
	// for the Deployment's disk.
	MultiAttach int
}

// StatefulSetRestart is the outcome of one StatefulSet's rolling restart.
type StatefulSetRestart struct {
	Profile string
	Took    time.Duration
	Done    bool
	// Moved counts the pods that came back on another node.
	Moved, Pods int
	// Counts are the simulated cloud's during the restart.
	Counts simcloud.Counts
}

// RunRolloutDemo runs, side by side on one local control plane, a Deployment
// rollout and a StatefulSet rolling restart of pods with single-attach
// WaitForFirstConsumer disks under kube-scheduler's default profile and under
// volume-topology-scheduler, and prints what each took.
func RunRolloutDemo(ctx context.Context, o RolloutDemoOptions) error {
	o.defaults()
	start := time.Now()
	cluster, err := Start(ctx, Options{EtcdPath: o.EtcdPath, Dir: o.Dir, DeploymentControllers: true})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := cluster.Client
	if err := CreateNodes(ctx, client, rolloutNodes()); err != nil {
		return err
	}
	cloud, err := simcloud.Start(ctx, client, simcloud.Options{
		Seed: o.Seed, AttachDelay: o.AttachDelay, DetachDelay: o.DetachDelay, UnmountDelay: o.UnmountDelay, RetryInterval: time.Second,
	})
	if err != nil {
		return err
	}
	sched, err := cluster.startScheduler(ctx, SchedulerConfig{Kubeconfig: cluster.KubeconfigPath, DefaultProfile: true})
	if err != nil {
		return err
	}
	defer sched.Stop()
	fmt.Fprintf(o.Out, "Control plane, %d nodes (%s) in %d zones, simulated disk cloud and one scheduler with the profiles %s and %s up in %s.\n",
		totalNodes(RolloutZones), RolloutInstanceType, len(RolloutZones), DefaultSchedulerName, SchedulerName, time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(o.Out, "Simulated timings: attach %s, detach %s, unmount reported %s after the last pod leaves a node.\n",
		o.AttachDelay, o.DetachDelay, o.UnmountDelay)

	profiles := []rolloutProfile{
		{scheduler: DefaultSchedulerName, deployNS: "rollout-default", stsNS: "restart-default"},
		{scheduler: SchedulerName, deployNS: "rollout-ours", stsNS: "restart-ours"},
	}
	if err := createRolloutWorkloads(ctx, client, profiles, o); err != nil {
		return err
	}
	setupStart := time.Now()
	if err := waitWorkloadsReady(ctx, client, profiles, o, 5*time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "Workloads ready in %s: per profile %d Deployment(s) of 1 replica and a StatefulSet of %d, each pod with its own %s disk.\n\n",
		time.Since(setupStart).Round(100*time.Millisecond), o.Deployments, o.Replicas, RolloutClass)

	// Both experiments of both profiles run at once: they share nothing but
	// the control plane (different disks, namespaces counted apart).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rollouts []DeploymentRollout
	var restarts []StatefulSetRestart
	var errs []error
	for _, p := range profiles {
		for i := range o.Deployments {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := rollDeployment(ctx, client, cloud, p, fmt.Sprintf("web-%d", i+1), o.RolloutTimeout)
				mu.Lock()
				defer mu.Unlock()
				rollouts = append(rollouts, r)
				errs = append(errs, err)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := restartStatefulSet(ctx, client, cloud, p, o.RestartTimeout)
			mu.Lock()
			defer mu.Unlock()
			restarts = append(restarts, r)
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	order := func(profile string) int {
		return slices.IndexFunc(profiles, func(p rolloutProfile) bool { return p.scheduler == profile })
	}
	slices.SortFunc(rollouts, func(a, b DeploymentRollout) int {
		if d := order(a.Profile) - order(b.Profile); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	slices.SortFunc(restarts, func(a, b StatefulSetRestart) int { return order(a.Profile) - order(b.Profile) })
	PrintRollouts(o.Out, rollouts, o.RolloutTimeout)
	fmt.Fprintln(o.Out)
	PrintRestarts(o.Out, restarts, totalNodes(RolloutZones), len(RolloutZones))
	fmt.Fprintf(o.Out, "\nDone in %s.\n", time.Since(start).Round(time.Second))
	return nil
}

func createRolloutWorkloads(ctx context.Context, client kubernetes.Interface, profiles []rolloutProfile, o RolloutDemoOptions) error {
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: RolloutClass},
		Provisioner:       disk.DriverName,
		Parameters:        map[string]string{disk.ParamType: disk.CategoryESSD},
		ReclaimPolicy:     ptr.To(v1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if _, err := client.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating storageclass: %w", err)
	}
	for _, p := range profiles {
		for _, ns := range []string{p.deployNS, p.stsNS} {
			if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating namespace %s: %w", ns, err)
			}
		}
		for i := range o.Deployments {
			name := fmt.Sprintf("web-%d", i+1)
			if _, err := client.CoreV1().PersistentVolumeClaims(p.deployNS).Create(ctx, rwoClaim(name), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating claim %s/%s: %w", p.deployNS, name, err)
			}
			if _, err := client.AppsV1().Deployments(p.deployNS).Create(ctx, rolloutDeployment(name, p.scheduler), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating deployment %s/%s: %w", p.deployNS, name, err)
			}
		}
		if _, err := client.AppsV1().StatefulSets(p.stsNS).Create(ctx, restartStatefulSetObject("db", p.scheduler, o.Replicas), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating statefulset %s/db: %w", p.stsNS, err)
		}
	}
	return nil
}

func rwoClaim(name string) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To(RolloutClass),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		},
	}
}

func demoPodSpec(scheduler string) v1.PodSpec {
	return v1.PodSpec{
		SchedulerName: scheduler,
		Containers: []v1.Container{{
			Name: "app", Image: "registry.example.com/app:1",
			VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}},
	}
}

// rolloutDeployment is a one-replica Deployment whose pod mounts the claim of
// its name, rolled out with maxSurge 1 and maxUnavailable 0 (the new pod
// must be Ready before the old one goes).
func rolloutDeployment(name, scheduler string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	spec := demoPodSpec(scheduler)
	spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name},
	}}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
				},
			},
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

// restartStatefulSetObject is a StatefulSet whose replicas each get a
// single-attach disk; its pods start in parallel, and roll one at a time.
func restartStatefulSetObject(name, scheduler string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	claim := rwoClaim("data")
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr.To(replicas),
			ServiceName:          name,
			PodManagementPolicy:  appsv1.ParallelPodManagement,
			Selector:             &metav1.LabelSelector{MatchLabels: labels},
			Template:             v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: demoPodSpec(scheduler)},
			VolumeClaimTemplates: []v1.PersistentVolumeClaim{*claim},
		},
	}
}

// waitWorkloadsReady waits until every Deployment and StatefulSet is ready.
func waitWorkloadsReady(ctx context.Context, client kubernetes.Interface, profiles []rolloutProfile, o RolloutDemoOptions, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		for _, p := range profiles {
			deps, err := client.AppsV1().Deployments(p.deployNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				ready = ready && d.Status.AvailableReplicas == 1
			}
			sts, err := client.AppsV1().StatefulSets(p.stsNS).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready = ready && sts.Status.ReadyReplicas == o.Replicas
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the demo's workloads were not ready within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// claimDisk is the volume handle of a bound claim.
func claimDisk(ctx context.Context, client kubernetes.Interface, ns, name string) (string, error) {
	pvc, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("volume of claim %s/%s: %w", ns, name, err)
	}
	if pv.Spec.CSI == nil {
		return "", fmt.Errorf("volume %s is not a CSI volume", pv.Name)
	}
	return pv.Spec.CSI.VolumeHandle, nil
}

// podNodes maps the names of the pods matching the selector to their nodes.
func podNodes(ctx context.Context, client kubernetes.Interface, ns, selector string) (map[string]string, error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.Spec.NodeName
		}
	}
	return out, nil
}

func templatePatch() []byte {
	return fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartAnnotation, time.Now().Format(time.RFC3339Nano))
}

// rollDeployment changes the Deployment's pod template and waits until the
// rollout completes or the timeout passes.
func rollDeployment(ctx context.Context, client kubernetes.Interface, cloud *simcloud.Cloud, p rolloutProfile, name string, timeout time.Duration) (DeploymentRollout, error) {
	r := DeploymentRollout{Profile: p.scheduler, Name: name}
	handle, err := claimDisk(ctx, client, p.deployNS, name)
	if err != nil {
		return r, err
	}
	before, err := podNodes(ctx, client, p.deployNS, "app="+name)
	if err != nil {
		return r, err
	}
	for _, n := range before {
		r.OldNode = n
	}
	seen := len(multiAttachOf(cloud, handle))
	deps := client.AppsV1().Deployments(p.deployNS)
	if _, err := deps.Patch(ctx, name, types.StrategicMergePatchType, templatePatch(), metav1.PatchOptions{}); err != nil {
		return r, fmt.Errorf("changing deployment %s/%s: %w", p.deployNS, name, err)
	}
	start := time.Now()
	for {
		d, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return r, err
		}
		if rolloutComplete(d) {
			r.Took = time.Since(start)
			break
		}
		if time.Since(start) > timeout {
			r.Took, r.Hung = time.Since(start), true
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	after, err := podNodes(ctx, client, p.deployNS, "app="+name)
	if err != nil {
		return r, err
	}
	for pod, n := range after {
		if _, old := before[pod]; !old {
			r.NewNodes = append(r.NewNodes, n)
		}
	}
	slices.Sort(r.NewNodes)
	r.MultiAttach = len(multiAttachOf(cloud, handle)) - seen
	klog.FromContext(ctx).Info("Deployment rollout", "profile", p.scheduler, "deployment", name, "took", r.Took, "hung", r.Hung, "oldNode", r.OldNode, "newNodes", r.NewNodes)
	return r, nil
}

// rolloutComplete is kubectl rollout status's test: the controller has seen
// the change, and every replica is updated and available, none old left.
func rolloutComplete(d *appsv1.Deployment) bool {
	want := ptr.Deref(d.Spec.Replicas, 1)
	return d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas == want && d.Status.Replicas == want && d.Status.AvailableReplicas == want
}

func multiAttachOf(cloud *simcloud.Cloud, handle string) []simcloud.MultiAttachError {
	var out []simcloud.MultiAttachError
	for _, e := range cloud.MultiAttachErrors() {
		if e.Disk == handle {
			out = append(out, e)
		}
	}
	return out
}

// restartStatefulSet changes the StatefulSet's pod template and waits until
// every replica has been replaced and is ready again.
func restartStatefulSet(ctx context.Context, client kubernetes.Interface, cloud *simcloud.Cloud, p rolloutProfile, timeout time.Duration) (StatefulSetRestart, error) {
	r := StatefulSetRestart{Profile: p.scheduler}
	before, err := podNodes(ctx, client, p.stsNS, "app=db")
	if err != nil {
		return r, err
	}
	countsBefore := cloud.Counts(p.stsNS)
	stss := client.AppsV1().StatefulSets(p.stsNS)
	if _, err := stss.Patch(ctx, "db", types.StrategicMergePatchType, templatePatch(), metav1.PatchOptions{}); err != nil {
		return r, fmt.Errorf("changing statefulset %s/db: %w", p.stsNS, err)
	}
	start := time.Now()
	for {
		s, err := stss.Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return r, err
		}
		if s.Status.ObservedGeneration >= s.Generation && s.Status.UpdateRevision != "" &&
			s.Status.CurrentRevision == s.Status.UpdateRevision && s.Status.UpdatedReplicas == ptr.Deref(s.Spec.Replicas, 1) &&
			s.Status.ReadyReplicas == ptr.Deref(s.Spec.Replicas, 1) {
			r.Took, r.Done = time.Since(start), true
			break
		}
		if time.Since(start) > timeout {
			r.Took = time.Since(start)
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	// A moved pod runs only once its disk has detached from the old node
	// and attached to the new one: every detach and attach of the restart
	// is counted by now.
	after, err := podNodes(ctx, client, p.stsNS, "app=db")
	if err != nil {
		return r, err
	}
	for pod, n := range before {
		r.Pods++
		if after[pod] != n {
			r.Moved++
		}
	}
	countsAfter := cloud.Counts(p.stsNS)
	r.Counts = simcloud.Counts{
		Attaches:          countsAfter.Attaches - countsBefore.Attaches,
		Detaches:          countsAfter.Detaches - countsBefore.Detaches,
		MultiAttachErrors: countsAfter.MultiAttachErrors - countsBefore.MultiAttachErrors,
		Refused:           map[string]int{},
	}
	for code, n := range countsAfter.Refused {
		if d := n - countsBefore.Refused[code]; d > 0 {
			r.Counts.Refused[code] = d
		}
	}
	klog.FromContext(ctx).Info("StatefulSet restart", "profile", p.scheduler, "took", r.Took, "done", r.Done, "moved", r.Moved, "counts", r.Counts)
	return r, nil
}

// PrintRollouts prints the Deployment rollouts.
func PrintRollouts(w io.Writer, rs []DeploymentRollout, timeout time.Duration) {
	fmt.Fprintln(w, "(a) Rolling update of one-replica Deployments (RollingUpdate, maxSurge 1, maxUnavailable 0) with a ReadWriteOnce disk:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tDEPLOYMENT\tOLD NODE\tNEW POD ON\tRESULT\tMULTI-ATTACH EVENTS")
	for _, r := range rs {
		result := "completed in " + r.Took.Round(100*time.Millisecond).String()
		if r.Hung {
			result = "hung after " + timeout.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", r.Profile, r.Name, r.OldNode, strings.Join(r.NewNodes, ","), result, r.MultiAttach)
	}
	tw.Flush()
}

// PrintRestarts prints the StatefulSet restarts and the speed-up of the last
// profile over the first.
func PrintRestarts(w io.Writer, rs []StatefulSetRestart, nodes, zones int) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "(b) Rolling restart of a StatefulSet of %d replicas with single-attach WaitForFirstConsumer disks, %d nodes in %d zones:\n", rs[0].Pods, nodes, zones)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tTIME\tPODS MOVED\tATTACHES\tDETACHES\tREFUSED ATTACHES\tMULTI-ATTACH EVENTS")
	for _, r := range rs {
		took := r.Took.Round(100 * time.Millisecond).String()
		if !r.Done {
			took = "not done after " + took
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d\t%d\t%d\t%d\n", r.Profile, took, r.Moved, r.Pods,
			r.Counts.Attaches, r.Counts.Detaches, r.Counts.RefusedTotal(), r.Counts.MultiAttachErrors)
	}
	tw.Flush()
	first, last := rs[0], rs[len(rs)-1]
	if first.Done && last.Done && last.Took > 0 {
		fmt.Fprintf(w, "%s restarted the StatefulSet %.1fx as fast as %s.\n", last.Profile, first.Took.Seconds()/last.Took.Seconds(), first.Profile)
	}
}
