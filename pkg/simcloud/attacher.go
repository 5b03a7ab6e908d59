package simcloud

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

const (
	podsByClaimIndex = "simcloud/claim"
	vaByPVIndex      = "simcloud/persistentVolumeName"
)

// AttachmentName is the VolumeAttachment name Kubernetes' CSI attacher uses
// for a volume handle on a node.
func AttachmentName(volumeHandle, node string) string {
	return fmt.Sprintf("csi-%x", sha256.Sum256([]byte(volumeHandle+disk.DriverName+node)))
}

// attacher plays the attach-detach controller (a VolumeAttachment per node
// that runs a pod using a driver volume, deleted once the node's last such
// pod is gone) and external-attacher (attaching the disk in the cloud,
// reporting it in the VolumeAttachment status, and detaching it while the
// object is being deleted).
//
// Work is keyed by disk, as the attach-detach controller keys volumes: by
// driver and volume handle. Two PersistentVolumes of one disk share its
// attachment to a node, one VolumeAttachment named after the handle and the
// node (AttachmentName) that names whichever volume's pod needed it first.
// While that object is being deleted, a pod of either volume on the node
// waits: the controller cannot create the attachment again until the old one
// is gone, and retries until it can (every change of a VolumeAttachment of
// the disk requeues the disk here).
type attacher struct {
	cloud *Cloud
	pods  cache.Indexer
	pvcs  corelisters.PersistentVolumeClaimLister
	pvs   corelisters.PersistentVolumeLister
	// resolver reads disk facts (a static disk's multi-attach setting)
	// as the scheduler does.
	resolver *disk.Resolver
	nodes    corelisters.NodeLister
	vas      storagelisters.VolumeAttachmentLister
	vaIndex  cache.Indexer
	queue    workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// detachStart is when this attacher started detaching a VolumeAttachment
	// (by name).
	detachStart map[string]time.Time
	// idleSince is since when no pod has needed a VolumeAttachment (by name).
	idleSince map[string]time.Time
	// created are the VolumeAttachments created, by volume handle and node,
	// until the cache has them.
	created map[string]map[string]time.Time
	// reported are the Multi-Attach errors reported, by handle|node|pod UID.
	reported map[string]bool
}

func newAttacher(c *Cloud, factory informers.SharedInformerFactory) (*attacher, error) {
	podInformer := factory.Core().V1().Pods().Informer()
	if err := podInformer.AddIndexers(cache.Indexers{podsByClaimIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*v1.Pod)
		if !ok {
			return nil, nil
		}
		var keys []string
		for _, name := range disk.ClaimNames(pod) {
			keys = append(keys, pod.Namespace+"/"+name)
		}
		return keys, nil
	}}); err != nil {
		return nil, fmt.Errorf("simcloud: indexing pods: %w", err)
	}
	vaInformer := factory.Storage().V1().VolumeAttachments().Informer()
	if err := vaInformer.AddIndexers(cache.Indexers{vaByPVIndex: func(obj any) ([]string, error) {
		va, ok := obj.(*storagev1.VolumeAttachment)
		if !ok || va.Spec.Attacher != disk.DriverName || va.Spec.Source.PersistentVolumeName == nil {
			return nil, nil
		}
		return []string{*va.Spec.Source.PersistentVolumeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("simcloud: indexing volume attachments: %w", err)
	}
	pvInformer := factory.Core().V1().PersistentVolumes().Informer()
	if err := pvInformer.AddIndexers(cache.Indexers{disk.VolumeHandleIndex: disk.IndexByVolumeHandle}); err != nil {
		return nil, fmt.Errorf("simcloud: indexing persistent volumes: %w", err)
	}
	a := &attacher{
		cloud: c,
		pods:  podInformer.GetIndexer(),
		pvcs:  factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:   factory.Core().V1().PersistentVolumes().Lister(),
		resolver: &disk.Resolver{
			PVCs:    factory.Core().V1().PersistentVolumeClaims().Lister(),
			PVs:     factory.Core().V1().PersistentVolumes().Lister(),
			Classes: factory.Storage().V1().StorageClasses().Lister(),
			Volumes: disk.IndexedVolumes{Indexer: pvInformer.GetIndexer()},
			Drivers: []string{disk.DriverName},
		},
		nodes:       factory.Core().V1().Nodes().Lister(),
		vaIndex:     vaInformer.GetIndexer(),
		queue:       newRateLimitedQueue("simcloud-attacher"),
		detachStart: map[string]time.Time{},
		idleSince:   map[string]time.Time{},
		created:     map[string]map[string]time.Time{},
		reported:    map[string]bool{},
	}
	podHandler := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		pod, ok := obj.(*v1.Pod)
		if !ok {
			return
		}
		for _, name := range disk.ClaimNames(pod) {
			if pvc, err := a.pvcs.PersistentVolumeClaims(pod.Namespace).Get(name); err == nil && pvc.Spec.VolumeName != "" {
				a.enqueueVolume(pvc.Spec.VolumeName)
			}
		}
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    podHandler,
		UpdateFunc: func(_, obj any) { podHandler(obj) },
		DeleteFunc: podHandler,
	}); err != nil {
		return nil, err
	}
	if _, err := factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if pvc, ok := obj.(*v1.PersistentVolumeClaim); ok && pvc.Spec.VolumeName != "" {
				a.enqueueVolume(pvc.Spec.VolumeName)
			}
		},
	}); err != nil {
		return nil, err
	}
	vaHandler := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if va, ok := obj.(*storagev1.VolumeAttachment); ok && va.Spec.Attacher == disk.DriverName && va.Spec.Source.PersistentVolumeName != nil {
			a.enqueueVolume(*va.Spec.Source.PersistentVolumeName)
		}
	}
	if _, err := vaInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    vaHandler,
		UpdateFunc: func(_, obj any) { vaHandler(obj) },
		DeleteFunc: vaHandler,
	}); err != nil {
		return nil, err
	}
	pvHandler := func(obj any) {
		if pv, ok := obj.(*v1.PersistentVolume); ok && pv.Spec.CSI != nil && pv.Spec.CSI.Driver == disk.DriverName {
			a.queue.Add(diskKey(pv.Spec.CSI.VolumeHandle))
		}
	}
	if _, err := pvInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    pvHandler,
		UpdateFunc: func(_, obj any) { pvHandler(obj) },
	}); err != nil {
		return nil, err
	}
	factory.Core().V1().Nodes().Informer()
	return a, nil
}

func (a *attacher) run(ctx context.Context, workers int) {
	defer a.queue.ShutDown()
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) { processQueue(ctx, a.queue, a.sync) }, time.Second)
	}
	<-ctx.Done()
}

// Queue keys: a disk by its volume handle, or a volume that no longer exists
// (whose VolumeAttachments are left to clean up).
const (
	diskKeyPrefix   = "disk/"
	volumeKeyPrefix = "pv/"
)

func diskKey(handle string) string { return diskKeyPrefix + handle }

// enqueueVolume queues the disk of a PersistentVolume, or the volume itself
// when it is gone.
func (a *attacher) enqueueVolume(name string) { a.enqueueVolumeAfter(name, 0) }

func (a *attacher) enqueueVolumeAfter(name string, after time.Duration) {
	key := volumeKeyPrefix + name
	if pv, err := a.pvs.Get(name); err == nil {
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != disk.DriverName {
			return
		}
		key = diskKey(pv.Spec.CSI.VolumeHandle)
	}
	a.queue.AddAfter(key, after)
}

func (a *attacher) sync(ctx context.Context, key string) error {
	if handle, ok := strings.CutPrefix(key, diskKeyPrefix); ok {
		return a.syncDisk(ctx, handle)
	}
	if name, ok := strings.CutPrefix(key, volumeKeyPrefix); ok {
		return a.syncGoneVolume(ctx, name)
	}
	return nil
}

// syncDisk brings the VolumeAttachments of one disk in line with the pods
// using any of its volumes: one per node. As the attach-detach controller, it
// attaches a single-attach disk to a second node only once the attachment to
// the first is gone (detached): meanwhile the pods waiting for it get a
// FailedAttachVolume event (MultiAttachMessage). A node's attachment is
// detached UnmountDelay after its last pod is gone, unless a pod needs it
// again by then.
func (a *attacher) syncDisk(ctx context.Context, handle string) error {
	pvs, err := a.resolver.Volumes.DiskVolumes(disk.DriverName, handle)
	if err != nil {
		return err
	}
	slices.SortFunc(pvs, func(x, y *v1.PersistentVolume) int { return strings.Compare(x.Name, y.Name) })
	// desired maps each node that needs the disk to a volume its pods use
	// there; users to those pods, by node.
	desired := map[string]*v1.PersistentVolume{}
	users := map[string][]*v1.Pod{}
	existing := map[string]*storagev1.VolumeAttachment{}
	byName := map[string]*v1.PersistentVolume{}
	for _, pv := range pvs {
		byName[pv.Name] = pv
		for node, pods := range a.podsUsing(pv) {
			if desired[node] == nil {
				desired[node] = pv
			}
			users[node] = append(users[node], pods...)
		}
		objs, err := a.vaIndex.ByIndex(vaByPVIndex, pv.Name)
		if err != nil {
			return err
		}
		for _, o := range objs {
			va := o.(*storagev1.VolumeAttachment)
			existing[va.Spec.NodeName] = va
		}
	}
	shared := true
	if len(pvs) > 0 {
		if shared, err = a.resolver.SharedDisk(pvs[0]); err != nil {
			return err
		}
	}
	// attachedTo are the nodes the controller counts the disk as attached
	// to: every VolumeAttachment, and those created but not yet in the
	// cache.
	attachedTo := sets.KeySet(existing).Union(a.recentlyCreated(handle, existing))
	var errs []error
	for _, node := range sortedKeys(existing) {
		va := existing[node]
		switch {
		case va.DeletionTimestamp != nil:
			errs = append(errs, a.detach(ctx, va))
		case desired[node] == nil:
			errs = append(errs, a.startDetachAfterUnmount(ctx, handle, va))
		default:
			a.setIdle(va.Name, false)
			if !va.Status.Attached {
				errs = append(errs, a.attach(ctx, byName[*va.Spec.Source.PersistentVolumeName], va))
			}
		}
	}
	for _, node := range sortedKeys(desired) {
		pv := desired[node]
		if attachedTo.Has(node) {
			continue // a detaching one is created again once it is gone
		}
		if !shared && attachedTo.Len() > 0 {
			a.reportMultiAttach(handle, pv, node, users, existing, attachedTo)
			continue
		}
		if err := a.create(ctx, pv, node); err != nil {
			errs = append(errs, err)
			continue
		}
		attachedTo.Insert(node)
	}
	a.forgetReports(handle, desired, attachedTo)
	return errors.Join(errs...)
}

// recentlyCreated are the nodes this attacher created a VolumeAttachment of
// the disk for that its cache does not show yet (for up to a minute).
func (a *attacher) recentlyCreated(handle string, existing map[string]*storagev1.VolumeAttachment) sets.Set[string] {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := sets.New[string]()
	for node, at := range a.created[handle] {
		if existing[node] != nil || time.Since(at) > time.Minute {
			delete(a.created[handle], node)
			continue
		}
		out.Insert(node)
	}
	if len(a.created[handle]) == 0 {
		delete(a.created, handle)
	}
	return out
}

// reportMultiAttach records, once per pod and node, that a pod's
// single-attach disk cannot be attached to its node while it is attached to
// others.
func (a *attacher) reportMultiAttach(handle string, pv *v1.PersistentVolume, node string, users map[string][]*v1.Pod,
	existing map[string]*storagev1.VolumeAttachment, attachedTo sets.Set[string]) {
	var others []OtherAttachment
	var otherUsers []string
	for _, n := range sets.List(attachedTo) {
		if n == node {
			continue
		}
		o := OtherAttachment{Node: n, Detaching: existing[n] != nil && existing[n].DeletionTimestamp != nil}
		for _, p := range users[n] {
			key := p.Namespace + "/" + p.Name
			otherUsers = append(otherUsers, key)
			if p.DeletionTimestamp != nil {
				o.Terminating = append(o.Terminating, key)
			} else {
				o.UsedBy = append(o.UsedBy, key)
			}
		}
		if nodeObj, err := a.nodes.Get(n); err == nil {
			o.NodeObject = nodeObj.DeepCopy()
		}
		others = append(others, o)
	}
	slices.Sort(otherUsers)
	for _, pod := range users[node] {
		key := handle + "|" + node + "|" + string(pod.UID)
		a.mu.Lock()
		done := a.reported[key]
		a.reported[key] = true
		a.mu.Unlock()
		if done {
			continue
		}
		msg := MultiAttachMessage(pv.Name, pod.Namespace, otherUsers)
		a.cloud.podRecorder.Event(pod, v1.EventTypeWarning, ReasonFailedAttachVolume, msg)
		ns := ""
		if pv.Spec.ClaimRef != nil {
			ns = pv.Spec.ClaimRef.Namespace
		}
		a.cloud.recordMultiAttach(ns, MultiAttachError{
			At: time.Now(), Pod: pod.Namespace + "/" + pod.Name, Node: node, Disk: handle, Volume: pv.Name, Others: others,
		})
	}
}

// forgetReports forgets the reports of nodes that no longer wait for the
// disk, so a pod that waits again is reported again, as the controller does
// once the volume leaves and re-enters its desired state.
func (a *attacher) forgetReports(handle string, desired map[string]*v1.PersistentVolume, attachedTo sets.Set[string]) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key := range a.reported {
		h, rest, _ := strings.Cut(key, "|")
		node, _, _ := strings.Cut(rest, "|")
		if h == handle && (desired[node] == nil || attachedTo.Has(node)) {
			delete(a.reported, key)
		}
	}
}

// startDetachAfterUnmount starts detaching an attachment no pod needs once it
// has been idle for UnmountDelay.
func (a *attacher) startDetachAfterUnmount(ctx context.Context, handle string, va *storagev1.VolumeAttachment) error {
	if d := a.cloud.opts.UnmountDelay; d > 0 {
		if left := d - time.Since(a.setIdle(va.Name, true)); left > 0 {
			a.queue.AddAfter(diskKey(handle), left)
			return nil
		}
	}
	a.setIdle(va.Name, false)
	return a.startDetach(ctx, va)
}

// setIdle records since when no pod needs an attachment, and returns it; idle
// false forgets it.
func (a *attacher) setIdle(name string, idle bool) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !idle {
		delete(a.idleSince, name)
		return time.Time{}
	}
	since, ok := a.idleSince[name]
	if !ok {
		since = time.Now()
		a.idleSince[name] = since
	}
	return since
}

// syncGoneVolume detaches the VolumeAttachments of a volume that no longer
// exists; once it exists again its disk is synced instead.
func (a *attacher) syncGoneVolume(ctx context.Context, name string) error {
	if _, err := a.pvs.Get(name); err == nil {
		a.enqueueVolume(name)
		return nil
	}
	objs, err := a.vaIndex.ByIndex(vaByPVIndex, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range objs {
		va := o.(*storagev1.VolumeAttachment)
		if va.DeletionTimestamp != nil {
			errs = append(errs, a.detach(ctx, va))
		} else {
			errs = append(errs, a.startDetach(ctx, va))
		}
	}
	return errors.Join(errs...)
}

// podsUsing returns the pods (bound, not terminated) that use the volume
// through its bound claim, by node.
func (a *attacher) podsUsing(pv *v1.PersistentVolume) map[string][]*v1.Pod {
	out := map[string][]*v1.Pod{}
	if pv == nil || pv.Spec.ClaimRef == nil {
		return out
	}
	ref := pv.Spec.ClaimRef
	pvc, err := a.pvcs.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err != nil || pvc.Spec.VolumeName != pv.Name {
		return out
	}
	objs, _ := a.pods.ByIndex(podsByClaimIndex, ref.Namespace+"/"+ref.Name)
	for _, o := range objs {
		pod := o.(*v1.Pod)
		if pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			continue
		}
		out[pod.Spec.NodeName] = append(out[pod.Spec.NodeName], pod)
	}
	return out
}

func (a *attacher) create(ctx context.Context, pv *v1.PersistentVolume, node string) error {
	va := &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{
			Name:       AttachmentName(pv.Spec.CSI.VolumeHandle, node),
			Finalizers: []string{AttacherFinalizer},
		},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: disk.DriverName,
			NodeName: node,
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: &pv.Name},
		},
	}
	_, err := a.cloud.client.StorageV1().VolumeAttachments().Create(ctx, va, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Not in the cache yet, or still being deleted: either way its
		// events requeue the disk.
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating volumeattachment for %s on %s: %w", pv.Name, node, err)
	}
	a.mu.Lock()
	if a.created[pv.Spec.CSI.VolumeHandle] == nil {
		a.created[pv.Spec.CSI.VolumeHandle] = map[string]time.Time{}
	}
	a.created[pv.Spec.CSI.VolumeHandle][node] = time.Now()
	a.mu.Unlock()
	klog.FromContext(ctx).V(4).Info("Created volume attachment", "pv", pv.Name, "node", node, "volumeAttachment", va.Name)
	return nil
}

// attach attaches the disk in the cloud and reports the outcome in the
// VolumeAttachment status, as external-attacher does.
func (a *attacher) attach(ctx context.Context, pv *v1.PersistentVolume, va *storagev1.VolumeAttachment) error {
	logger := klog.FromContext(ctx)
	if pv == nil {
		return nil // the attach waits for the volume; its creation enqueues it
	}
	if d := a.cloud.opts.AttachDelay; d > 0 && time.Since(va.CreationTimestamp.Time) < d {
		a.queue.AddAfter(diskKey(pv.Spec.CSI.VolumeHandle), d-time.Since(va.CreationTimestamp.Time))
		return nil
	}
	node, err := a.nodes.Get(va.Spec.NodeName)
	if err != nil {
		return fmt.Errorf("node %s: %w", va.Spec.NodeName, err)
	}
	zone, _ := disk.ZoneOf(node.Labels, disk.DefaultZoneLabelKeys)
	attachedNow, err := a.cloud.attachNew(pv.Spec.CSI.VolumeHandle, node.Name, zone, disk.RegionOf(node.Labels), a.staticDisk(pv))
	ns := claimNamespace(pv)
	if attachedNow {
		a.cloud.count(ns, func(c *Counts) { c.Attaches++ })
	}
	va = va.DeepCopy()
	var attachErr *AttachError
	switch {
	case errors.As(err, &attachErr):
		msg := fmt.Sprintf("rpc error: code = Internal desc = AttachDisk: failed to attach %s to %s: %v", pv.Spec.CSI.VolumeHandle, node.Name, err)
		if va.Status.AttachError != nil && va.Status.AttachError.Message == msg {
			a.queue.AddAfter(diskKey(pv.Spec.CSI.VolumeHandle), a.cloud.opts.RetryInterval)
			return nil // unchanged; retried later, or when a slot frees
		}
		va.Status.Attached = false
		va.Status.AttachError = &storagev1.VolumeError{Time: metav1.Now(), Message: msg}
		a.cloud.count(ns, func(c *Counts) { c.Refused[attachErr.Code]++ })
		logger.Info("Attach failed", "pv", pv.Name, "disk", pv.Spec.CSI.VolumeHandle, "node", node.Name, "err", err)
		a.recordOnPods(pv.Spec.CSI.VolumeHandle, node.Name, v1.EventTypeWarning, ReasonFailedAttachVolume,
			fmt.Sprintf("AttachVolume.Attach failed for volume %q : %s", pv.Name, msg))
		a.queue.AddAfter(diskKey(pv.Spec.CSI.VolumeHandle), a.cloud.opts.RetryInterval)
	case err != nil:
		return err
	default:
		va.Status.Attached = true
		va.Status.AttachError = nil
		va.Status.AttachmentMetadata = map[string]string{"devicePath": "/dev/disk/by-id/nvme-Alibaba_Cloud_Elastic_Block_Storage_" + pv.Spec.CSI.VolumeHandle[2:]}
		logger.V(2).Info("Attached disk", "pv", pv.Name, "disk", pv.Spec.CSI.VolumeHandle, "node", node.Name, "zone", zone)
		a.recordOnPods(pv.Spec.CSI.VolumeHandle, node.Name, v1.EventTypeNormal, ReasonSuccessfulAttachVolume,
			fmt.Sprintf("AttachVolume.Attach succeeded for volume %q", pv.Name))
	}
	if _, err := a.cloud.client.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating volumeattachment %s: %w", va.Name, err)
	}
	return nil
}

// staticDisk describes, from its PersistentVolumes, a disk the cloud has not
// provisioned (a static volume): its zone from the volume's topology, its
// multi-attach setting from all the volumes of the disk (one of them may be a
// ReadWriteOnce writer's), read as the scheduler reads it.
func (a *attacher) staticDisk(pv *v1.PersistentVolume) Disk {
	d := Disk{Category: pv.Spec.CSI.VolumeAttributes["type"]}
	d.MultiAttach, _ = a.resolver.SharedDisk(pv)
	if topo, err := disk.PVTopology(pv, disk.DefaultZoneLabelKeys); err == nil {
		if zones, ok := topo.ZoneSet(); ok && len(zones) == 1 {
			d.Zone = zones[0]
		}
	}
	return d
}

// startDetach deletes a VolumeAttachment no pod needs any more; its
// finalizer keeps it while the disk detaches.
func (a *attacher) startDetach(ctx context.Context, va *storagev1.VolumeAttachment) error {
	err := a.cloud.client.StorageV1().VolumeAttachments().Delete(ctx, va.Name, metav1.DeleteOptions{
		Preconditions: metav1.NewUIDPreconditions(string(va.UID)),
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting volumeattachment %s: %w", va.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Detaching", "pv", *va.Spec.Source.PersistentVolumeName, "node", va.Spec.NodeName, "delay", a.cloud.opts.DetachDelay)
	return nil
}

// detach finishes detaching a deleted VolumeAttachment DetachDelay after it
// started: the disk leaves the instance and the finalizer goes.
func (a *attacher) detach(ctx context.Context, va *storagev1.VolumeAttachment) error {
	if !slices.Contains(va.Finalizers, AttacherFinalizer) {
		return nil
	}
	pvName := *va.Spec.Source.PersistentVolumeName
	a.mu.Lock()
	started, ok := a.detachStart[va.Name]
	if !ok {
		started = time.Now()
		a.detachStart[va.Name] = started
	}
	a.mu.Unlock()
	if left := a.cloud.opts.DetachDelay - time.Since(started); left > 0 {
		a.enqueueVolumeAfter(pvName, left)
		return nil
	}
	if pv, err := a.pvs.Get(pvName); err == nil && pv.Spec.CSI != nil {
		if a.cloud.detach(pv.Spec.CSI.VolumeHandle, va.Spec.NodeName) {
			a.cloud.count(claimNamespace(pv), func(c *Counts) { c.Detaches++ })
		}
	} else if va.Status.Attached {
		return fmt.Errorf("detaching volumeattachment %s: persistentvolume %s: %v", va.Name, pvName, err)
	}
	va = va.DeepCopy()
	va.Finalizers = slices.DeleteFunc(va.Finalizers, func(f string) bool { return f == AttacherFinalizer })
	if _, err := a.cloud.client.StorageV1().VolumeAttachments().Update(ctx, va, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer of volumeattachment %s: %w", va.Name, err)
	}
	a.mu.Lock()
	delete(a.detachStart, va.Name)
	a.mu.Unlock()
	klog.FromContext(ctx).V(2).Info("Detached disk", "pv", pvName, "node", va.Spec.NodeName)
	// A slot is free: retry attachments that failed.
	for _, o := range a.vaIndex.List() {
		if other := o.(*storagev1.VolumeAttachment); other.Status.AttachError != nil && other.Spec.Source.PersistentVolumeName != nil {
			a.enqueueVolume(*other.Spec.Source.PersistentVolumeName)
		}
	}
	return nil
}

// claimNamespace is the namespace of the claim a volume is bound to, "" for
// none.
func claimNamespace(pv *v1.PersistentVolume) string {
	if pv.Spec.ClaimRef == nil {
		return ""
	}
	return pv.Spec.ClaimRef.Namespace
}

// recordOnPods records an attach event on the pods using the disk on node,
// through any of its volumes.
func (a *attacher) recordOnPods(handle, node, eventType, reason, msg string) {
	pvs, _ := a.resolver.Volumes.DiskVolumes(disk.DriverName, handle)
	for _, pv := range pvs {
		if pv.Spec.ClaimRef == nil {
			continue
		}
		objs, _ := a.pods.ByIndex(podsByClaimIndex, pv.Spec.ClaimRef.Namespace+"/"+pv.Spec.ClaimRef.Name)
		for _, o := range objs {
			if pod := o.(*v1.Pod); pod.Spec.NodeName == node {
				a.cloud.podRecorder.Event(pod, eventType, reason, msg)
			}
		}
	}
}
