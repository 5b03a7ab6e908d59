package localcluster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/klog/v2"
)

const (
	podsByNodeIndex   = "localcluster/nodeName"
	attachmentsByNode = "localcluster/attachmentNodeName"
)

// kubelets plays the kubelet of every node, just enough for controllers and
// schedulers to see a pod's life as in a real cluster: a pod bound to a node
// starts Running and Ready once each of its CSI volumes that needs attaching
// has an attached VolumeAttachment on that node (as the kubelet waits for
// it), and a terminating pod on a node is removed (as the kubelet does once
// its containers stopped). It runs no containers. Like Kubernetes, it knows a
// CSI volume by driver and volume handle: an attachment of the disk to the
// node serves a pod of any PersistentVolume of that disk.
type kubelets struct {
	client      kubernetes.Interface
	pods        corelisters.PodLister
	podsByNode  cache.Indexer
	pvcs        corelisters.PersistentVolumeClaimLister
	pvs         corelisters.PersistentVolumeLister
	nodes       corelisters.NodeLister
	drivers     storagelisters.CSIDriverLister
	attachments cache.Indexer
	queue       workqueue.TypedRateLimitingInterface[string]
}

func newKubelets(client kubernetes.Interface, factory informers.SharedInformerFactory) (*kubelets, error) {
	podInformer := factory.Core().V1().Pods().Informer()
	if err := podInformer.AddIndexers(cache.Indexers{podsByNodeIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*v1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{pod.Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("indexing pods by node: %w", err)
	}
	vaInformer := factory.Storage().V1().VolumeAttachments().Informer()
	if err := vaInformer.AddIndexers(cache.Indexers{attachmentsByNode: func(obj any) ([]string, error) {
		va, ok := obj.(*storagev1.VolumeAttachment)
		if !ok || va.Spec.Source.PersistentVolumeName == nil {
			return nil, nil
		}
		return []string{va.Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("indexing volume attachments: %w", err)
	}
	k := &kubelets{
		client:      client,
		pods:        factory.Core().V1().Pods().Lister(),
		podsByNode:  podInformer.GetIndexer(),
		pvcs:        factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:         factory.Core().V1().PersistentVolumes().Lister(),
		nodes:       factory.Core().V1().Nodes().Lister(),
		drivers:     factory.Storage().V1().CSIDrivers().Lister(),
		attachments: vaInformer.GetIndexer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "localcluster-kubelets"}),
	}
	enqueuePod := func(obj any) {
		if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
			if key, err := cache.MetaNamespaceKeyFunc(pod); err == nil {
				k.queue.Add(key)
			}
		}
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(_, obj any) { enqueuePod(obj) },
	}); err != nil {
		return nil, err
	}
	enqueueNode := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		va, ok := obj.(*storagev1.VolumeAttachment)
		if !ok {
			return
		}
		objs, _ := k.podsByNode.ByIndex(podsByNodeIndex, va.Spec.NodeName)
		for _, o := range objs {
			if pod := o.(*v1.Pod); pod.Status.Phase == v1.PodPending {
				enqueuePod(pod)
			}
		}
	}
	if _, err := vaInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueNode,
		UpdateFunc: func(_, obj any) { enqueueNode(obj) },
		DeleteFunc: enqueueNode,
	}); err != nil {
		return nil, err
	}
	// Listers the sync reads without handlers must still be started.
	factory.Core().V1().Nodes().Informer()
	factory.Storage().V1().CSIDrivers().Informer()
	return k, nil
}

func (k *kubelets) run(ctx context.Context, workers int) {
	defer k.queue.ShutDown()
	for range workers {
		go wait.UntilWithContext(ctx, k.worker, time.Second)
	}
	<-ctx.Done()
}

func (k *kubelets) worker(ctx context.Context) {
	for {
		key, quit := k.queue.Get()
		if quit {
			return
		}
		err := k.sync(ctx, key)
		if err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).V(2).Info("Retrying pod", "pod", key, "err", err)
			k.queue.AddRateLimited(key)
		} else {
			k.queue.Forget(key)
		}
		k.queue.Done(key)
	}
}

func (k *kubelets) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := k.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		// The containers are "stopped": remove the pod for good.
		zero := int64(0)
		err := k.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting terminating pod: %w", err)
		}
		logger.V(4).Info("Removed terminated pod", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
		return nil
	}
	if pod.Status.Phase != v1.PodPending {
		return nil
	}
	waiting, err := k.volumesNotAttached(pod)
	if err != nil {
		return err
	}
	if waiting != "" {
		logger.V(4).Info("Pod waits for its volumes", "pod", klog.KObj(pod), "node", pod.Spec.NodeName, "waitingFor", waiting)
		return k.setContainerCreating(ctx, pod)
	}
	return k.setRunning(ctx, pod)
}

// volumesNotAttached names the first of the pod's volumes that the kubelet
// would still wait for, or returns "".
func (k *kubelets) volumesNotAttached(pod *v1.Pod) (string, error) {
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		var claim string
		switch {
		case vol.PersistentVolumeClaim != nil:
			claim = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			claim = ephemeral.VolumeClaimName(pod, vol)
		default:
			continue
		}
		pvc, err := k.pvcs.PersistentVolumeClaims(pod.Namespace).Get(claim)
		if apierrors.IsNotFound(err) {
			return "persistentvolumeclaim " + claim, nil
		}
		if err != nil {
			return "", err
		}
		if pvc.Spec.VolumeName == "" {
			return "binding of persistentvolumeclaim " + claim, nil
		}
		pv, err := k.pvs.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return "persistentvolume " + pvc.Spec.VolumeName, nil
		}
		if err != nil {
			return "", err
		}
		if pv.Spec.CSI == nil || !k.attachRequired(pv.Spec.CSI.Driver) {
			continue
		}
		objs, err := k.attachments.ByIndex(attachmentsByNode, pod.Spec.NodeName)
		if err != nil {
			return "", err
		}
		attached := false
		for _, o := range objs {
			va := o.(*storagev1.VolumeAttachment)
			if va.DeletionTimestamp != nil || !va.Status.Attached {
				continue
			}
			// The attachment may name another volume of the same disk.
			if other, err := k.pvs.Get(*va.Spec.Source.PersistentVolumeName); err == nil && other.Spec.CSI != nil &&
				other.Spec.CSI.Driver == pv.Spec.CSI.Driver && other.Spec.CSI.VolumeHandle == pv.Spec.CSI.VolumeHandle {
				attached = true
				break
			}
		}
		if !attached {
			return "attachment of persistentvolume " + pv.Name, nil
		}
	}
	return "", nil
}

// attachRequired reads the CSIDriver object; a driver without one needs
// attaching, as in Kubernetes.
func (k *kubelets) attachRequired(driver string) bool {
	d, err := k.drivers.Get(driver)
	if err != nil || d.Spec.AttachRequired == nil {
		return true
	}
	return *d.Spec.AttachRequired
}

func (k *kubelets) setContainerCreating(ctx context.Context, pod *v1.Pod) error {
	if len(pod.Status.ContainerStatuses) > 0 {
		return nil
	}
	pod = pod.DeepCopy()
	pod.Status.HostIP = k.hostIP(pod.Spec.NodeName)
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, v1.ContainerStatus{
			Name:  c.Name,
			Image: c.Image,
			State: v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		})
	}
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return ignoreGone(err)
}

func (k *kubelets) setRunning(ctx context.Context, pod *v1.Pod) error {
	pod = pod.DeepCopy()
	now := metav1.Now()
	pod.Status.Phase = v1.PodRunning
	pod.Status.HostIP = k.hostIP(pod.Spec.NodeName)
	if pod.Status.HostIP != "" {
		pod.Status.HostIPs = []v1.HostIP{{IP: pod.Status.HostIP}}
	}
	pod.Status.StartTime = &now
	for _, t := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		setCondition(&pod.Status, v1.PodCondition{Type: t, Status: v1.ConditionTrue, LastTransitionTime: now})
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		id := sha256.Sum256([]byte(string(pod.UID) + "/" + c.Name))
		started := true
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, v1.ContainerStatus{
			Name:        c.Name,
			Image:       c.Image,
			ImageID:     c.Image,
			ContainerID: fmt.Sprintf("containerd://%x", id),
			Ready:       true,
			Started:     &started,
			State:       v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err == nil {
		klog.FromContext(ctx).V(4).Info("Pod is running", "pod", klog.KObj(pod), "node", pod.Spec.NodeName)
	}
	return ignoreGone(err)
}

func (k *kubelets) hostIP(nodeName string) string {
	node, err := k.nodes.Get(nodeName)
	if err != nil {
		return ""
	}
	for _, a := range node.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

func setCondition(st *v1.PodStatus, c v1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// ignoreGone treats a pod that went away meanwhile as done; a conflict is
// retried from the newer object the informer delivers.
func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
