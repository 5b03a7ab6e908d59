package localcluster

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/controller/deployment"
	"k8s.io/kubernetes/pkg/controller/replicaset"
	"k8s.io/kubernetes/pkg/controller/statefulset"
	"k8s.io/kubernetes/pkg/controller/volume/ephemeral"
	"k8s.io/kubernetes/pkg/controller/volume/persistentvolume"
)

// pvResyncPeriod is how often the PersistentVolume controller resyncs every
// volume and claim; short, as in Kubernetes' own volume scheduling tests, so
// update conflicts are retried quickly.
const pvResyncPeriod = 5 * time.Second

// startPVController starts Kubernetes' PersistentVolume controller: it binds
// claims to volumes, and for claims whose class names an external provisioner
// it sets volume.kubernetes.io/storage-provisioner (once a WaitForFirstConsumer
// claim has its selected node) and waits for that provisioner. No in-tree
// volume plugin is loaded: every dynamic volume comes from an external
// provisioner, as on a CSI-only cluster.
func startPVController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("persistentvolume-controller"))
	ctrl, err := persistentvolume.NewController(ctx, persistentvolume.ControllerParameters{
		KubeClient:                client,
		SyncPeriod:                pvResyncPeriod,
		VolumeInformer:            factory.Core().V1().PersistentVolumes(),
		ClaimInformer:             factory.Core().V1().PersistentVolumeClaims(),
		ClassInformer:             factory.Storage().V1().StorageClasses(),
		PodInformer:               factory.Core().V1().Pods(),
		NodeInformer:              factory.Core().V1().Nodes(),
		EnableDynamicProvisioning: true,
	})
	if err != nil {
		return fmt.Errorf("creating the PersistentVolume controller: %w", err)
	}
	go ctrl.Run(ctx)
	return nil
}

// startStatefulSetController starts Kubernetes' StatefulSet controller, which
// creates and deletes a set's pods and claims as in a real cluster.
func startStatefulSetController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("statefulset-controller"))
	ctrl := statefulset.NewStatefulSetController(ctx,
		factory.Core().V1().Pods(),
		factory.Apps().V1().StatefulSets(),
		factory.Core().V1().PersistentVolumeClaims(),
		factory.Apps().V1().ControllerRevisions(),
		client,
	)
	go ctrl.Run(ctx, 2)
}

// startDeploymentControllers starts Kubernetes' Deployment and ReplicaSet
// controllers, which roll Deployments out (surge and unavailability
// included) and create and delete their pods as in a real cluster.
func startDeploymentControllers(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) error {
	dc, err := deployment.NewDeploymentController(klog.NewContext(ctx, klog.FromContext(ctx).WithName("deployment-controller")),
		factory.Apps().V1().Deployments(),
		factory.Apps().V1().ReplicaSets(),
		factory.Core().V1().Pods(),
		client,
	)
	if err != nil {
		return fmt.Errorf("creating the Deployment controller: %w", err)
	}
	rsCtx := klog.NewContext(ctx, klog.FromContext(ctx).WithName("replicaset-controller"))
	rsc := replicaset.NewReplicaSetController(rsCtx,
		factory.Apps().V1().ReplicaSets(),
		factory.Core().V1().Pods(),
		client,
		replicaset.BurstReplicas,
	)
	go dc.Run(ctx, 2)
	go rsc.Run(rsCtx, 2)
	return nil
}

// startEphemeralVolumeController starts Kubernetes' ephemeral volume
// controller, which creates the claim of each generic ephemeral volume
// (spec.volumes[].ephemeral.volumeClaimTemplate) owned by its pod.
func startEphemeralVolumeController(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("ephemeral-volume-controller"))
	ctrl, err := ephemeral.NewController(ctx, client, factory.Core().V1().Pods(), factory.Core().V1().PersistentVolumeClaims())
	if err != nil {
		return fmt.Errorf("creating the ephemeral volume controller: %w", err)
	}
	go ctrl.Run(ctx, 2)
	return nil
}
