package explain

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
)

// PageSize is how many objects each list request of ReadCluster asks for.
const PageSize = 500

// ReadCluster lists what explain needs (nodes, pods, claims, volumes,
// classes, VolumeAttachments) page by page, PageSize objects a request, so a
// large cluster is never read in one response. These list calls are the only
// requests it makes; the RBAC in manifests/explain-rbac.yaml grants them.
func ReadCluster(ctx context.Context, c kubernetes.Interface) (*audit.State, error) {
	var s audit.State
	lists := []struct {
		what string
		page func(metav1.ListOptions) (runtime.Object, error)
		add  func(runtime.Object)
	}{
		{"nodes", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Nodes().List(ctx, o) },
			func(o runtime.Object) { s.Nodes = append(s.Nodes, *o.(*v1.Node)) }},
		{"pods", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Pods("").List(ctx, o) },
			func(o runtime.Object) { s.Pods = append(s.Pods, *o.(*v1.Pod)) }},
		{"persistentvolumeclaims", func(o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().PersistentVolumeClaims("").List(ctx, o)
		}, func(o runtime.Object) { s.Claims = append(s.Claims, *o.(*v1.PersistentVolumeClaim)) }},
		{"persistentvolumes", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().PersistentVolumes().List(ctx, o) },
			func(o runtime.Object) { s.Volumes = append(s.Volumes, *o.(*v1.PersistentVolume)) }},
		{"storageclasses", func(o metav1.ListOptions) (runtime.Object, error) { return c.StorageV1().StorageClasses().List(ctx, o) },
			func(o runtime.Object) { s.Classes = append(s.Classes, *o.(*storagev1.StorageClass)) }},
		{"volumeattachments", func(o metav1.ListOptions) (runtime.Object, error) {
			return c.StorageV1().VolumeAttachments().List(ctx, o)
		}, func(o runtime.Object) {
			s.VolumeAttachments = append(s.VolumeAttachments, *o.(*storagev1.VolumeAttachment))
		}},
	}
	for _, l := range lists {
		p := pager.New(pager.SimplePageFunc(l.page))
		p.PageSize = PageSize
		if err := p.EachListItem(ctx, metav1.ListOptions{}, func(o runtime.Object) error {
			l.add(o)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	return &s, nil
}

// WithoutPod returns the state without the pod (matched by namespace and
// name), so that a pod of the cluster is explained as if it were not there
// yet: it is not a holder of its own disk, does not count toward its disk's
// attached nodes, and does not keep its own disk in use. VolumeAttachments
// stay: a disk is attached to the pod's node until it is detached, and a node
// the disk is attached to always passes the attach limit.
func WithoutPod(s *audit.State, pod *v1.Pod) *audit.State {
	out := *s
	out.Pods = make([]v1.Pod, 0, len(s.Pods))
	for _, p := range s.Pods {
		if p.Namespace == pod.Namespace && p.Name == pod.Name {
			continue
		}
		out.Pods = append(out.Pods, p)
	}
	return &out
}
