package volumetopology

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// EventsToRegister lists the cluster changes that can make a pod this plugin
// rejected schedulable; each hint returns QueueSkip for changes that cannot.
func (pl *VolumeTopology) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	events := []fwk.ClusterEventWithHint{
		// A new node, or new zone/NVMe/disk-type labels, may be where the pod fits.
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel}, QueueingHintFn: pl.isSchedulableAfterNodeChange},
		// A claim created, bound, or given a selected node changes the pod's rules.
		{Event: fwk.ClusterEvent{Resource: fwk.PersistentVolumeClaim, ActionType: fwk.Add | fwk.Update}, QueueingHintFn: pl.isSchedulableAfterClaimChange},
		// A volume bound to one of the pod's claims, or its topology changed.
		{Event: fwk.ClusterEvent{Resource: fwk.PersistentVolume, ActionType: fwk.Add | fwk.Update}, QueueingHintFn: pl.isSchedulableAfterVolumeChange},
		// A missing StorageClass was created. Classes are immutable, so updates cannot help.
		{Event: fwk.ClusterEvent{Resource: fwk.StorageClass, ActionType: fwk.Add}, QueueingHintFn: pl.isSchedulableAfterStorageClassAdd},
		// A pod holding a shared disk is gone: a node and an attach slot may
		// be free. A pod using a single-attach disk is gone: the disk can
		// follow the pod elsewhere.
		{Event: fwk.ClusterEvent{Resource: fwk.Pod, ActionType: fwk.Delete}, QueueingHintFn: pl.isSchedulableAfterPodDelete},
		// A detached disk frees an attach slot.
		{Event: fwk.ClusterEvent{Resource: fwk.VolumeAttachment, ActionType: fwk.Delete}, QueueingHintFn: pl.isSchedulableAfterVolumeAttachmentDelete},
	}
	if pl.args.EnforceReadWriteOnce {
		// A pod using a single-attach disk began terminating or
		// terminated: it no longer keeps the disk on its node.
		events = append(events, fwk.ClusterEventWithHint{Event: fwk.ClusterEvent{Resource: fwk.Pod, ActionType: fwk.Update}, QueueingHintFn: pl.isSchedulableAfterPodTerminating})
	}
	return events, nil
}

// isSchedulableAfterNodeChange queues the pod when a node appears, or its
// rule-relevant labels change, and the node now passes the pod's zone and
// NVMe rules.
func (pl *VolumeTopology) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldNode, newNode, err := util.As[*v1.Node](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterNodeChange: %w", err)
	}
	// Record the node before the pod is retried, so PreFilter's candidate
	// nodes already include it.
	newFacts := *pl.nodes.update(newNode)
	if oldNode != nil {
		oldFacts := pl.nodes.classifier.Describe(oldNode.Labels)
		if oldFacts == newFacts && !diskTypeLabelsChanged(oldNode.Labels, newNode.Labels) {
			logger.V(5).Info("Node labels the rules read did not change", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
			return fwk.QueueSkip, nil
		}
	}
	claims, err := pl.resolver.PodClaims(pod)
	if err != nil || len(claims) == 0 {
		// A missing object is not fixed by a node; a pod without claims was
		// not rejected by this plugin.
		return fwk.QueueSkip, nil
	}
	// Hints run on informer goroutines while the scheduling loop rewrites
	// its snapshot: the selected node's zone comes from the node index.
	for i := range claims {
		r, err := pl.ruleFor(&claims[i], pl.nodes.zoneOf)
		if err != nil {
			return fwk.QueueSkip, nil
		}
		if msg := r.reject(newNode, &newFacts); msg != "" {
			logger.V(5).Info("Changed node still fails a zone rule", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "reason", msg)
			return fwk.QueueSkip, nil
		}
	}
	if pl.hasShared(claims) && !newFacts.NVMe {
		logger.V(5).Info("Changed node cannot attach shared disks", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "why", newFacts.NVMeWhy)
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("Node now passes the pod's disk rules", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
	return fwk.Queue, nil
}

func diskTypeLabelsChanged(a, b map[string]string) bool {
	for k, v := range a {
		if len(k) > len(disk.LabelDiskTypePrefix) && k[:len(disk.LabelDiskTypePrefix)] == disk.LabelDiskTypePrefix && b[k] != v {
			return true
		}
	}
	for k := range b {
		if len(k) > len(disk.LabelDiskTypePrefix) && k[:len(disk.LabelDiskTypePrefix)] == disk.LabelDiskTypePrefix {
			if _, ok := a[k]; !ok {
				return true
			}
		}
	}
	return false
}

// usesClaim tells whether the pod's volumes name the claim.
func usesClaim(pod *v1.Pod, namespace, name string) bool {
	return pod.Namespace == namespace && slices.Contains(disk.ClaimNames(pod), name)
}

// isSchedulableAfterClaimChange queues the pod when one of its claims appears,
// binds, or gets or changes its selected node.
func (pl *VolumeTopology) isSchedulableAfterClaimChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldPVC, newPVC, err := util.As[*v1.PersistentVolumeClaim](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterClaimChange: %w", err)
	}
	if !usesClaim(pod, newPVC.Namespace, newPVC.Name) {
		return fwk.QueueSkip, nil
	}
	if oldPVC == nil {
		logger.V(5).Info("A claim of the pod was created", "pod", klog.KObj(pod), "pvc", klog.KObj(newPVC))
		return fwk.Queue, nil
	}
	if oldPVC.Spec.VolumeName != newPVC.Spec.VolumeName ||
		oldPVC.Annotations[disk.AnnSelectedNode] != newPVC.Annotations[disk.AnnSelectedNode] ||
		!slices.Equal(oldPVC.Spec.AccessModes, newPVC.Spec.AccessModes) {
		logger.V(5).Info("A claim of the pod was bound or re-targeted", "pod", klog.KObj(pod), "pvc", klog.KObj(newPVC))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterVolumeChange queues the pod when a volume is bound to one
// of its claims, or such a volume's topology changes.
func (pl *VolumeTopology) isSchedulableAfterVolumeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldPV, newPV, err := util.As[*v1.PersistentVolume](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterVolumeChange: %w", err)
	}
	ref := newPV.Spec.ClaimRef
	if ref == nil || !usesClaim(pod, ref.Namespace, ref.Name) {
		return fwk.QueueSkip, nil
	}
	if oldPV == nil || !reflect.DeepEqual(oldPV.Spec.ClaimRef, newPV.Spec.ClaimRef) ||
		!reflect.DeepEqual(oldPV.Spec.NodeAffinity, newPV.Spec.NodeAffinity) ||
		!reflect.DeepEqual(oldPV.Labels, newPV.Labels) ||
		!reflect.DeepEqual(oldPV.Spec.CSI, newPV.Spec.CSI) {
		logger.V(5).Info("A volume of the pod's claims was bound or changed", "pod", klog.KObj(pod), "pv", klog.KObj(newPV))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterStorageClassAdd queues the pod when a class one of its
// claims names is created.
func (pl *VolumeTopology) isSchedulableAfterStorageClassAdd(logger klog.Logger, pod *v1.Pod, _, newObj interface{}) (fwk.QueueingHint, error) {
	_, sc, err := util.As[*storagev1.StorageClass](nil, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterStorageClassAdd: %w", err)
	}
	for _, name := range disk.ClaimNames(pod) {
		pvc, err := pl.resolver.PVCs.PersistentVolumeClaims(pod.Namespace).Get(name)
		if err != nil {
			continue
		}
		if pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == sc.Name {
			logger.V(5).Info("A storage class of the pod's claims was created", "pod", klog.KObj(pod), "storageClass", klog.KObj(sc))
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}

// diskKeys returns the disk keys and claim keys of the pod's claims whose
// users can keep it off nodes: the shared ones, and the single-attach ones
// when the ReadWriteOnce rule is on (withSingle). Claims are resolved
// leniently: a hint must not fail on a missing object.
func (pl *VolumeTopology) diskKeys(pod *v1.Pod, withSingle bool) (disks, claims []string) {
	for _, name := range disk.ClaimNames(pod) {
		pvc, err := pl.resolver.PVCs.PersistentVolumeClaims(pod.Namespace).Get(name)
		if err != nil {
			continue
		}
		c, ours, err := pl.resolver.Classify(pvc)
		if err != nil || !ours || !(c.MultiAttach || withSingle) {
			continue
		}
		disks = append(disks, c.DiskKey())
		claims = append(claims, c.Key)
	}
	return disks, claims
}

// sharesDisk tells whether the other pod uses one of the disks or claims
// (see diskKeys).
func (pl *VolumeTopology) sharesDisk(other *v1.Pod, disks, claims []string) bool {
	for _, name := range disk.ClaimNames(other) {
		key := other.Namespace + "/" + name
		if slices.Contains(claims, key) {
			return true
		}
		pvc, err := pl.resolver.PVCs.PersistentVolumeClaims(other.Namespace).Get(name)
		if err != nil || pvc.Spec.VolumeName == "" {
			continue
		}
		if pv, err := pl.pvLister.Get(pvc.Spec.VolumeName); err == nil && pv.Spec.CSI != nil && slices.Contains(disks, pv.Spec.CSI.VolumeHandle) {
			return true
		}
	}
	return false
}

// isSchedulableAfterPodDelete queues the pod when an assigned pod that used
// one of its shared disks is deleted (its node, and maybe an attach slot, is
// free), or one that used one of its single-attach disks (the disk is free
// to follow the pod).
func (pl *VolumeTopology) isSchedulableAfterPodDelete(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	deleted, _, err := util.As[*v1.Pod](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterPodDelete: %w", err)
	}
	if deleted.Spec.NodeName == "" || !hasClaimVolume(deleted) {
		return fwk.QueueSkip, nil
	}
	disks, claims := pl.diskKeys(pod, pl.args.EnforceReadWriteOnce)
	if len(disks) == 0 {
		return fwk.QueueSkip, nil
	}
	if pl.sharesDisk(deleted, disks, claims) {
		logger.V(5).Info("A pod using a disk of the pod was deleted", "pod", klog.KObj(pod), "deletedPod", klog.KObj(deleted))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterPodTerminating queues the pod when an assigned pod that
// uses one of its single-attach disks starts terminating or terminates: a
// disk whose users are all terminating no longer keeps the pod off other
// nodes. Every other pod update is skipped at once.
func (pl *VolumeTopology) isSchedulableAfterPodTerminating(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldPod, newPod, err := util.As[*v1.Pod](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterPodTerminating: %w", err)
	}
	if !pl.args.EnforceReadWriteOnce || oldPod == nil || newPod.Spec.NodeName == "" || newPod.UID == pod.UID ||
		!hasClaimVolume(newPod) || (!stopsUsingDisks(oldPod, newPod)) {
		return fwk.QueueSkip, nil
	}
	disks, claims := pl.diskKeys(pod, true)
	if len(disks) == 0 || !pl.sharesDisk(newPod, disks, claims) {
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("A pod using a disk of the pod is terminating", "pod", klog.KObj(pod), "terminatingPod", klog.KObj(newPod))
	return fwk.Queue, nil
}

// stopsUsingDisks tells whether the update makes a pod terminating or
// terminated, which the ReadWriteOnce rule no longer counts as a user.
func stopsUsingDisks(oldPod, newPod *v1.Pod) bool {
	return keepsDisks(oldPod) && !keepsDisks(newPod)
}

// keepsDisks tells whether the ReadWriteOnce rule counts the pod as a user
// of its disks: it is neither terminating nor terminated.
func keepsDisks(p *v1.Pod) bool {
	return p.DeletionTimestamp == nil && !terminated(p)
}

func terminated(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// isSchedulableAfterVolumeAttachmentDelete queues the pod when one of its
// shared disks is detached from a node.
func (pl *VolumeTopology) isSchedulableAfterVolumeAttachmentDelete(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	va, _, err := util.As[*storagev1.VolumeAttachment](oldObj, newObj)
	if err != nil {
		return fwk.Queue, fmt.Errorf("unexpected objects in isSchedulableAfterVolumeAttachmentDelete: %w", err)
	}
	if va.Spec.Source.PersistentVolumeName == nil {
		return fwk.QueueSkip, nil
	}
	pv, err := pl.pvLister.Get(*va.Spec.Source.PersistentVolumeName)
	if err != nil || pv.Spec.CSI == nil {
		return fwk.QueueSkip, nil
	}
	disks, _ := pl.diskKeys(pod, false)
	if slices.Contains(disks, pv.Spec.CSI.VolumeHandle) {
		logger.V(5).Info("A shared disk of the pod was detached", "pod", klog.KObj(pod), "volumeAttachment", klog.KObj(va))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}
