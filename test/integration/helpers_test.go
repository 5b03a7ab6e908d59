package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

// testContext returns a context that ends with the test and logs to it.
func testContext(t *testing.T) context.Context {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	return ctx
}

// newNamespace creates a namespace for one scenario.
func newNamespace(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	name := prefix + "-" + rand.String(5)
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return name
}

// waitFor polls cond until it is true, failing the test with the last state
// cond described when timeout passes.
func waitFor(ctx context.Context, t *testing.T, timeout time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	testutil.WaitFor(ctx, t, timeout, what, cond)
}

// podCounts lists the namespace's pods matching selector and sorts them into
// running (Running and Ready), unschedulable (PodScheduled False) and others.
type podCounts struct {
	running, unschedulable, other []v1.Pod
}

func (c podCounts) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d running, %d unschedulable, %d other", len(c.running), len(c.unschedulable), len(c.other))
	for _, p := range c.other {
		fmt.Fprintf(&b, "; %s on %q %s", p.Name, p.Spec.NodeName, p.Status.Phase)
	}
	return b.String()
}

func countPods(ctx context.Context, ns, selector string) (podCounts, error) {
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return podCounts{}, err
	}
	var c podCounts
	for _, p := range pods.Items {
		switch {
		case p.DeletionTimestamp == nil && p.Status.Phase == v1.PodRunning && isReady(&p):
			c.running = append(c.running, p)
		case p.Spec.NodeName == "" && isUnschedulable(&p):
			c.unschedulable = append(c.unschedulable, p)
		default:
			c.other = append(c.other, p)
		}
	}
	return c, nil
}

func isReady(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func scheduledCondition(p *v1.Pod) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isUnschedulable(p *v1.Pod) bool {
	c := scheduledCondition(p)
	return c != nil && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable
}

// waitPods waits until exactly running pods run and unschedulable pods are
// unschedulable, and no other pod matches.
func waitPods(ctx context.Context, t *testing.T, ns, selector string, running, unschedulable int, timeout time.Duration) podCounts {
	t.Helper()
	var c podCounts
	waitFor(ctx, t, timeout, fmt.Sprintf("%d running and %d unschedulable pods (%s)", running, unschedulable, selector), func() (bool, string, error) {
		var err error
		c, err = countPods(ctx, ns, selector)
		return err == nil && len(c.running) == running && len(c.unschedulable) == unschedulable && len(c.other) == 0, c.String(), err
	})
	return c
}

// node returns a node of the fleet.
func node(ctx context.Context, t *testing.T, name string) *v1.Node {
	t.Helper()
	n, err := cluster.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting node %s: %v", name, err)
	}
	return n
}

func zoneOfNode(n *v1.Node) string { return n.Labels[v1.LabelTopologyZone] }

// scale sets a StatefulSet's replicas through its scale subresource.
func scale(ctx context.Context, t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	_, err := cluster.Client.AppsV1().StatefulSets(ns).UpdateScale(ctx, name, &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: replicas},
	}, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("scaling %s/%s to %d: %v", ns, name, replicas, err)
	}
}

// apply applies objects in the namespace.
func apply(ctx context.Context, t *testing.T, ns string, objs ...runtime.Object) {
	t.Helper()
	a, err := localcluster.NewApplier(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, ns, objs...); err != nil {
		t.Fatal(err)
	}
}

// example reads a manifest of manifests/examples; ok is false when the file
// does not exist.
func example(t *testing.T, name string) (objs []runtime.Object, ok bool) {
	t.Helper()
	path := filepath.Join("..", "..", "manifests", "examples", name)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil, false
	}
	ms, err := localcluster.ReadManifestFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		objs = append(objs, m.Object)
	}
	return objs, true
}

// Object builders.

func wffcClass(name string, params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		TypeMeta:          metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       disk.DriverName,
		Parameters:        params,
		ReclaimPolicy:     ptr.To(v1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

func claim(name, class string, mode v1.PersistentVolumeMode, access ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      access,
			StorageClassName: ptr.To(class),
			VolumeMode:       ptr.To(mode),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		},
	}
}

// statefulSet returns a StatefulSet of pause containers for our scheduler;
// volumes and templates are added by the caller.
func statefulSet(name, schedulerName string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(replicas),
			ServiceName:         name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: v1.PodSpec{
					SchedulerName: schedulerName,
					Containers:    []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
				},
			},
		},
	}
}

// withSharedBlockClaim mounts an existing claim as a block device, as the
// lease workload does.
func withSharedBlockClaim(sts *appsv1.StatefulSet, claimName string) *appsv1.StatefulSet {
	spec := &sts.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claimName},
	}})
	spec.Containers[0].VolumeDevices = append(spec.Containers[0].VolumeDevices, v1.VolumeDevice{Name: "data", DevicePath: "/dev/data-disk"})
	return sts
}

// withClaimTemplate gives each replica its own filesystem claim of class.
func withClaimTemplate(sts *appsv1.StatefulSet, template, class string) *appsv1.StatefulSet {
	c := claim(template, class, v1.PersistentVolumeFilesystem, v1.ReadWriteOnce)
	c.TypeMeta = metav1.TypeMeta{}
	sts.Spec.VolumeClaimTemplates = append(sts.Spec.VolumeClaimTemplates, *c)
	sts.Spec.Template.Spec.Containers[0].VolumeMounts = append(sts.Spec.Template.Spec.Containers[0].VolumeMounts,
		v1.VolumeMount{Name: template, MountPath: "/" + template})
	return sts
}

// placements describes where the pods are, for failure messages.
func placements(pods []v1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"@"+p.Spec.NodeName)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// logf logs through the test's logger with klog's structure.
func logf(ctx context.Context, msg string, kv ...any) {
	klog.FromContext(ctx).Info(msg, kv...)
}
