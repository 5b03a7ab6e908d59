package simcloud

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// StartRescheduling does what external-provisioner does when the node a
// scheduler selected for a WaitForFirstConsumer claim no longer exists: it
// removes the claim's volume.kubernetes.io/selected-node annotation, so the
// scheduler can pick another node (until then VolumeBinding admits only the
// selected node, and the claim's pods wait forever). It checks every period
// until ctx ends. The simulated provisioner itself only retries, so callers
// that delete nodes run this beside it.
func StartRescheduling(ctx context.Context, client kubernetes.Interface, period time.Duration) error {
	logger := klog.FromContext(ctx).WithName("simcloud-rescheduler")
	factory := informers.NewSharedInformerFactory(client, 0)
	pvcs := factory.Core().V1().PersistentVolumeClaims().Lister()
	nodes := factory.Core().V1().Nodes().Lister()
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("simcloud: informer for %v did not sync", typ)
		}
	}
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		claims, err := pvcs.List(labels.Everything())
		if err != nil {
			return
		}
		for _, pvc := range claims {
			selected := pvc.Annotations[disk.AnnSelectedNode]
			if selected == "" || pvc.Spec.VolumeName != "" || pvc.Status.Phase == v1.ClaimBound {
				continue
			}
			if _, err := nodes.Get(selected); !apierrors.IsNotFound(err) {
				continue
			}
			// Confirm with the API server: the cache may lag behind a new node.
			if _, err := client.CoreV1().Nodes().Get(ctx, selected, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				continue
			}
			pvc = pvc.DeepCopy()
			delete(pvc.Annotations, disk.AnnSelectedNode)
			if _, err := client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
				logger.V(2).Info("Cannot clear the selected node", "pvc", klog.KObj(pvc), "node", selected, "err", err)
				continue
			}
			logger.Info("Selected node is gone: claim goes back to the scheduler", "pvc", klog.KObj(pvc), "node", selected)
		}
	}, period)
	return nil
}
