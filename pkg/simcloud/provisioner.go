package simcloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

const pvByClaimUIDIndex = "simcloud/claimUID"

// driverZoneKeys are the topology keys the driver reads zones from (its
// iterZone).
var driverZoneKeys = []string{disk.LabelDriverZone, v1.LabelTopologyZone}

// provisioner plays external-provisioner with the disk driver behind it. It
// takes a claim once the PersistentVolume controller has handed it over (the
// storage-provisioner annotation names the driver) and, for
// WaitForFirstConsumer, the scheduler has selected a node.
type provisioner struct {
	cloud    *Cloud
	pvcs     corelisters.PersistentVolumeClaimLister
	pvs      corelisters.PersistentVolumeLister
	pvIndex  cache.Indexer
	classes  storagelisters.StorageClassLister
	nodes    corelisters.NodeLister
	csiNodes storagelisters.CSINodeLister
	claims   workqueue.TypedRateLimitingInterface[string]
	volumes  workqueue.TypedRateLimitingInterface[string]
	// identity is the provisioner identity written into volume attributes.
	identity string
}

func newRateLimitedQueue(name string) workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](20*time.Millisecond, 5*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

func newProvisioner(c *Cloud, factory informers.SharedInformerFactory) (*provisioner, error) {
	pvInformer := factory.Core().V1().PersistentVolumes().Informer()
	if err := pvInformer.AddIndexers(cache.Indexers{pvByClaimUIDIndex: func(obj any) ([]string, error) {
		pv, ok := obj.(*v1.PersistentVolume)
		if !ok || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == "" {
			return nil, nil
		}
		return []string{string(pv.Spec.ClaimRef.UID)}, nil
	}}); err != nil {
		return nil, fmt.Errorf("simcloud: indexing persistent volumes: %w", err)
	}
	p := &provisioner{
		cloud:    c,
		pvcs:     factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:      factory.Core().V1().PersistentVolumes().Lister(),
		pvIndex:  pvInformer.GetIndexer(),
		classes:  factory.Storage().V1().StorageClasses().Lister(),
		nodes:    factory.Core().V1().Nodes().Lister(),
		csiNodes: factory.Storage().V1().CSINodes().Lister(),
		claims:   newRateLimitedQueue("simcloud-provisioner-claims"),
		volumes:  newRateLimitedQueue("simcloud-provisioner-volumes"),
		identity: strconv.FormatInt(time.Now().UnixMilli(), 10) + "-8081-" + disk.DriverName,
	}
	enqueueClaim := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			p.claims.Add(key)
		}
	}
	if _, err := factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueClaim,
		UpdateFunc: func(_, obj any) { enqueueClaim(obj) },
	}); err != nil {
		return nil, err
	}
	enqueueVolume := func(obj any) {
		if pv, ok := obj.(*v1.PersistentVolume); ok && pv.Status.Phase == v1.VolumeReleased {
			p.volumes.Add(pv.Name)
		}
	}
	if _, err := pvInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueVolume,
		UpdateFunc: func(_, obj any) { enqueueVolume(obj) },
	}); err != nil {
		return nil, err
	}
	factory.Storage().V1().StorageClasses().Informer()
	factory.Core().V1().Nodes().Informer()
	factory.Storage().V1().CSINodes().Informer()
	return p, nil
}

func (p *provisioner) run(ctx context.Context, workers int) {
	defer p.claims.ShutDown()
	defer p.volumes.ShutDown()
	for range workers {
		go wait.UntilWithContext(ctx, func(ctx context.Context) { processQueue(ctx, p.claims, p.syncClaim) }, time.Second)
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) { processQueue(ctx, p.volumes, p.syncVolume) }, time.Second)
	<-ctx.Done()
}

// processQueue works a queue until it shuts down; errors are retried with
// backoff.
func processQueue(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error) {
	logger := klog.FromContext(ctx)
	for {
		key, quit := q.Get()
		if quit {
			return
		}
		if err := sync(ctx, key); err != nil && ctx.Err() == nil {
			logger.V(2).Info("Retrying", "key", key, "err", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

// permanentError is a failure that retrying cannot fix until the objects
// change (their update enqueues the claim again).
type permanentError struct{ error }

func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pvc, err := p.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil || pvc.Status.Phase == v1.ClaimBound {
		return nil
	}
	if prov := pvc.Annotations[AnnStorageProvisioner]; prov != disk.DriverName && pvc.Annotations[AnnBetaStorageProvisioner] != disk.DriverName {
		return nil // not (yet) handed to this provisioner
	}
	className := ""
	if pvc.Spec.StorageClassName != nil {
		className = *pvc.Spec.StorageClassName
	}
	class, err := p.classes.Get(className)
	if err != nil {
		return fmt.Errorf("storageclass %q of claim %s: %w", className, key, err)
	}
	if class.Provisioner != disk.DriverName {
		return nil
	}
	if objs, _ := p.pvIndex.ByIndex(pvByClaimUIDIndex, string(pvc.UID)); len(objs) > 0 {
		return nil // provisioned; the PersistentVolume controller binds it
	}
	var node *v1.Node
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
		selected := pvc.Annotations[disk.AnnSelectedNode]
		if selected == "" {
			return nil // waits for the scheduler
		}
		if node, err = p.nodes.Get(selected); err != nil {
			return fmt.Errorf("selected node %s of claim %s: %w", selected, key, err)
		}
	}

	p.cloud.recorder.Eventf(pvc, v1.EventTypeNormal, ReasonProvisioning, "External provisioner is provisioning volume for claim %q", key)
	pv, err := p.provision(ctx, pvc, class, node)
	if err != nil {
		p.cloud.recorder.Eventf(pvc, v1.EventTypeWarning, ReasonProvisioningFailed, "failed to provision volume with StorageClass %q: %v", class.Name, err)
		var perm permanentError
		if errors.As(err, &perm) {
			logger.Info("Cannot provision claim", "pvc", klog.KObj(pvc), "err", err)
			return nil
		}
		return err
	}
	logger.V(2).Info("Provisioned disk", "pvc", klog.KObj(pvc), "disk", pv.Name, "node", pvc.Annotations[disk.AnnSelectedNode])
	p.cloud.recorder.Eventf(pvc, v1.EventTypeNormal, ReasonProvisioningSucceeded, "Successfully provisioned volume %s", pv.Name)
	return nil
}

// provision creates the disk and its PersistentVolume for a claim. node is
// the selected node (nil for Immediate binding). Which disk the driver
// creates, or why it refuses, is createVolume's: the simulated driver's own
// reading of the class, not package disk's.
func (p *provisioner) provision(ctx context.Context, pvc *v1.PersistentVolumeClaim, class *storagev1.StorageClass, node *v1.Node) (*v1.PersistentVolume, error) {
	r := requestFor(pvc, class)
	if node != nil {
		zones, err := p.topologyZones(node)
		if err != nil {
			return nil, err
		}
		r.nodeZones, r.nodeLabels, r.region = zones, node.Labels, disk.RegionOf(node.Labels)
	} else {
		for _, term := range class.AllowedTopologies {
			for _, e := range term.MatchLabelExpressions {
				if slices.Contains(disk.DefaultZoneLabelKeys, e.Key) {
					r.nodeZones = append(r.nodeZones, e.Values...)
				}
			}
		}
	}
	d, conflict, err := createVolume(r)
	if err != nil {
		return nil, permanentError{err}
	}
	if conflict != "" {
		p.cloud.recorder.Event(pvc, v1.EventTypeWarning, ReasonConflictingZone, conflict)
	}
	if p.cloud.opts.ProvisionDelay > 0 {
		select {
		case <-time.After(p.cloud.opts.ProvisionDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.ID = p.cloud.ids.next()
	p.cloud.createDisk(d)

	pv := p.persistentVolume(pvc, class, d)
	created, err := p.cloud.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err != nil {
		// The disk is lost with the claim's retry; delete it like the
		// provisioner does when saving the PV fails.
		_ = p.cloud.deleteDisk(d.ID)
		return nil, fmt.Errorf("saving persistentvolume %s: %w", pv.Name, err)
	}
	return created, nil
}

// topologyZones are the zones of a selected node's topology as
// external-provisioner passes them to the driver: the node's values of the
// keys its CSINode registers for the driver (the driver's zone key when it
// registers none), as the driver reads them (driverZoneKeys only).
func (p *provisioner) topologyZones(node *v1.Node) ([]string, error) {
	keys := []string{disk.LabelDriverZone}
	csiNode, err := p.csiNodes.Get(node.Name)
	if err != nil {
		return nil, fmt.Errorf("csinode %s: %w", node.Name, err)
	}
	for _, drv := range csiNode.Spec.Drivers {
		if drv.Name == disk.DriverName {
			keys = drv.TopologyKeys
		}
	}
	var zones []string
	for _, k := range keys {
		if v := node.Labels[k]; v != "" && slices.Contains(driverZoneKeys, k) && !slices.Contains(zones, v) {
			zones = append(zones, v)
		}
	}
	return zones, nil
}

// persistentVolume is the PV external-provisioner saves for a new disk.
func (p *provisioner) persistentVolume(pvc *v1.PersistentVolumeClaim, class *storagev1.StorageClass, d Disk) *v1.PersistentVolume {
	attrs := map[string]string{
		"type": d.Category,
		"storage.kubernetes.io/csiProvisionerIdentity": p.identity,
	}
	if d.MultiAttach {
		attrs[disk.ParamMultiAttach] = "true"
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	mode := v1.PersistentVolumeFilesystem
	if pvc.Spec.VolumeMode != nil {
		mode = *pvc.Spec.VolumeMode
	}
	csi := &v1.CSIPersistentVolumeSource{Driver: disk.DriverName, VolumeHandle: d.ID, VolumeAttributes: attrs}
	if mode == v1.PersistentVolumeFilesystem {
		csi.FSType = "ext4"
		if fs := class.Parameters["csi.storage.k8s.io/fstype"]; fs != "" {
			csi.FSType = fs
		}
	}
	term := v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{
		Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{d.Zone},
	}}}
	if d.Zone == "" {
		term = v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{
			Key: v1.LabelTopologyRegion, Operator: v1.NodeSelectorOpIn, Values: []string{d.Region},
		}}}
	}
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			// ACK names a disk's PersistentVolume after the disk.
			Name:        d.ID,
			Annotations: map[string]string{AnnProvisionedBy: disk.DriverName},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(d.SizeGiB<<30, resource.BinarySI)},
			AccessModes:                   pvc.Spec.AccessModes,
			VolumeMode:                    &mode,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			ClaimRef: &v1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
			},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: csi},
			NodeAffinity:           &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{term}}},
		},
	}
}

// syncVolume deletes a released volume the driver provisioned when its
// reclaim policy is Delete, once its disk is detached everywhere.
func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Status.Phase != v1.VolumeReleased || pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete ||
		pv.Annotations[AnnProvisionedBy] != disk.DriverName || pv.Spec.CSI == nil || pv.DeletionTimestamp != nil {
		return nil
	}
	if err := p.cloud.deleteDisk(pv.Spec.CSI.VolumeHandle); err != nil {
		return err // still attached: retried with backoff
	}
	err = p.cloud.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(pv.UID))})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting persistentvolume %s: %w", pv.Name, err)
	}
	klog.FromContext(ctx).V(2).Info("Deleted released disk", "pv", pv.Name)
	return nil
}
