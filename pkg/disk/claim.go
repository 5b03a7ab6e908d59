package disk

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/storage/ephemeral"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// AnnSelectedNode is the PVC annotation the scheduler writes for a
// WaitForFirstConsumer claim once it has picked a node.
const AnnSelectedNode = "volume.kubernetes.io/selected-node"

// Claim is one of a pod's claims that is ours: its disk comes from one of the
// configured drivers.
type Claim struct {
	// Key is "namespace/name" of the PVC.
	Key string
	PVC *v1.PersistentVolumeClaim
	// PV is the bound volume, nil while the claim is unbound.
	PV *v1.PersistentVolume
	// Class is the claim's StorageClass; nil for a bound claim whose class is
	// gone or that has none.
	Class *storagev1.StorageClass
	// Params are the class's parsed parameters (zero for a static PV).
	Params Parameters
	// MultiAttach is true for a shared disk. It is a property of the disk,
	// not of this claim alone: a bound claim is shared when any volume of
	// its disk is (see Resolver.SharedDisk).
	MultiAttach bool
	// DiskID is the disk's identity, its CSI volume handle; "" while unbound.
	DiskID string
	// SelectedNode is the node the scheduler picked for an unbound claim.
	SelectedNode string
}

// Bound tells whether the claim has a volume.
func (c *Claim) Bound() bool { return c.PV != nil }

// DiskKey identifies the disk for counting attachments and holders: the
// volume handle once bound, the claim itself before.
func (c *Claim) DiskKey() string {
	if c.DiskID != "" {
		return c.DiskID
	}
	return "claim:" + c.Key
}

// DiskName is the disk's name for messages.
func (c *Claim) DiskName() string {
	if c.DiskID != "" {
		return c.DiskID
	}
	return "of claim " + c.Key
}

// MissingObjectError says that an object a pod needs does not exist (yet).
type MissingObjectError struct {
	Kind string // e.g. "persistentvolumeclaim"
	Name string // "namespace/name" or "name"
	// Detail, when set, explains more (e.g. who will create it).
	Detail string
}

func (e *MissingObjectError) Error() string {
	msg := fmt.Sprintf("%s %q not found", e.Kind, e.Name)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// InvalidObjectError says that an object a pod needs cannot be used as it is.
type InvalidObjectError struct {
	Kind string
	Name string
	Err  error
}

func (e *InvalidObjectError) Error() string {
	return fmt.Sprintf("%s %q: %v", e.Kind, e.Name, e.Err)
}

func (e *InvalidObjectError) Unwrap() error { return e.Err }

// Resolver finds a pod's claims that are ours, reading only informer caches.
type Resolver struct {
	PVCs    corelisters.PersistentVolumeClaimLister
	PVs     corelisters.PersistentVolumeLister
	Classes storagelisters.StorageClassLister
	// Volumes finds every volume of a disk; nil means a disk has no other
	// volume than the one a claim is bound to.
	Volumes DiskVolumeLister
	// Drivers are the CSI drivers whose disks are ours.
	Drivers []string
}

// DiskVolumeLister lists the PersistentVolumes of one disk: every volume of
// the driver with the volume handle. Two static volumes can name one disk.
type DiskVolumeLister interface {
	DiskVolumes(driver, handle string) ([]*v1.PersistentVolume, error)
}

// VolumeHandleIndex is the name of an informer index of PersistentVolumes by
// CSI driver and volume handle (IndexByVolumeHandle). The name is prefixed so
// it never collides with another component's index.
const VolumeHandleIndex = "volume-topology.scheduling.io/volumeHandle"

// VolumeHandleKey is the VolumeHandleIndex key of a disk.
func VolumeHandleKey(driver, handle string) string { return driver + "/" + handle }

// IndexByVolumeHandle indexes CSI PersistentVolumes by driver and volume
// handle (VolumeHandleKey).
func IndexByVolumeHandle(obj any) ([]string, error) {
	pv, ok := obj.(*v1.PersistentVolume)
	if !ok || pv.Spec.CSI == nil {
		return nil, nil
	}
	return []string{VolumeHandleKey(pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle)}, nil
}

// IndexedVolumes lists a disk's volumes from an indexer that has
// VolumeHandleIndex.
type IndexedVolumes struct{ Indexer cache.Indexer }

// DiskVolumes implements DiskVolumeLister.
func (x IndexedVolumes) DiskVolumes(driver, handle string) ([]*v1.PersistentVolume, error) {
	objs, err := x.Indexer.ByIndex(VolumeHandleIndex, VolumeHandleKey(driver, handle))
	if err != nil {
		return nil, err
	}
	pvs := make([]*v1.PersistentVolume, 0, len(objs))
	for _, o := range objs {
		if pv, ok := o.(*v1.PersistentVolume); ok {
			pvs = append(pvs, pv)
		}
	}
	return pvs, nil
}

// ClaimNames returns the names of the claims a pod's volumes use, in volume
// order: persistentVolumeClaim volumes and generic ephemeral volumes.
func ClaimNames(pod *v1.Pod) []string {
	var names []string
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		switch {
		case vol.PersistentVolumeClaim != nil:
			names = append(names, vol.PersistentVolumeClaim.ClaimName)
		case vol.Ephemeral != nil:
			names = append(names, ephemeral.VolumeClaimName(pod, vol))
		}
	}
	return names
}

// PodClaims returns the pod's claims that are ours. A pod without such claims
// gets nil and no error. Errors are *MissingObjectError or
// *InvalidObjectError for objects that are missing or unusable.
func (r *Resolver) PodClaims(pod *v1.Pod) ([]Claim, error) {
	return r.podClaims(pod, false)
}

// PodClaimsOrTemplates is PodClaims, except that a generic ephemeral
// volume whose claim does not exist yet is read from the pod's template,
// which holds what the rules read of an unbound claim. For callers that see
// a pod before the ephemeral volume controller has created its claims (the
// scheduling queue signs a pod when it is added).
func (r *Resolver) PodClaimsOrTemplates(pod *v1.Pod) ([]Claim, error) {
	return r.podClaims(pod, true)
}

func (r *Resolver) podClaims(pod *v1.Pod, templates bool) ([]Claim, error) {
	var claims []Claim
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		var name string
		switch {
		case vol.PersistentVolumeClaim != nil:
			name = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			name = ephemeral.VolumeClaimName(pod, vol)
		default:
			continue
		}
		pvc, err := r.PVCs.PersistentVolumeClaims(pod.Namespace).Get(name)
		switch {
		case err == nil:
			if vol.Ephemeral != nil {
				if err := ephemeral.VolumeIsForPod(pod, pvc); err != nil {
					return nil, &InvalidObjectError{Kind: "persistentvolumeclaim", Name: pod.Namespace + "/" + name, Err: err}
				}
			}
		case templates && apierrors.IsNotFound(err) && vol.Ephemeral != nil && vol.Ephemeral.VolumeClaimTemplate != nil:
			pvc = &v1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: name},
				Spec:       *vol.Ephemeral.VolumeClaimTemplate.Spec.DeepCopy(),
			}
		default:
			if apierrors.IsNotFound(err) {
				missing := &MissingObjectError{Kind: "persistentvolumeclaim", Name: pod.Namespace + "/" + name}
				if vol.Ephemeral != nil {
					missing.Detail = "waiting for the ephemeral volume controller to create it"
				}
				return nil, missing
			}
			return nil, err
		}
		c, ours, err := r.Classify(pvc)
		if err != nil {
			return nil, err
		}
		if ours && !slices.ContainsFunc(claims, func(o Claim) bool { return o.Key == c.Key }) {
			claims = append(claims, c)
		}
	}
	return claims, nil
}

// Classify tells whether a claim is ours and reads its facts. An unbound claim
// is ours only when its class is one of our drivers' and binds
// WaitForFirstConsumer: for Immediate binding the provisioner, not the
// scheduler, decides where the disk goes.
func (r *Resolver) Classify(pvc *v1.PersistentVolumeClaim) (Claim, bool, error) {
	c := Claim{Key: pvc.Namespace + "/" + pvc.Name, PVC: pvc}
	className := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	if pvc.Spec.VolumeName != "" {
		pv, err := r.PVs.Get(pvc.Spec.VolumeName)
		if err != nil {
			if apierrors.IsNotFound(err) {
				return c, false, &MissingObjectError{Kind: "persistentvolume", Name: pvc.Spec.VolumeName, Detail: "bound to persistentvolumeclaim " + c.Key}
			}
			return c, false, err
		}
		if pv.Spec.CSI == nil || !slices.Contains(r.Drivers, pv.Spec.CSI.Driver) {
			return c, false, nil
		}
		c.PV = pv
		c.DiskID = pv.Spec.CSI.VolumeHandle
		if className != "" {
			if sc, err := r.Classes.Get(className); err == nil {
				c.Class = sc
				// A bound disk keeps working when its class is edited or
				// broken; only multiAttach matters here, and it is read
				// leniently.
				c.Params, _ = ParseParameters(sc.Parameters)
			}
		}
		c.MultiAttach = IsSharedVolume(pv, c.Class) || sharedAccess(pvc.Spec.AccessModes)
		if !c.MultiAttach {
			if c.MultiAttach, err = r.SharedDisk(pv); err != nil {
				return c, false, err
			}
		}
		return c, true, nil
	}

	if className == "" {
		return c, false, nil
	}
	sc, err := r.Classes.Get(className)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return c, false, &MissingObjectError{Kind: "storageclass", Name: className, Detail: "named by persistentvolumeclaim " + c.Key}
		}
		return c, false, err
	}
	if !slices.Contains(r.Drivers, sc.Provisioner) {
		return c, false, nil
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		return c, false, nil
	}
	params, err := ParseParameters(sc.Parameters)
	if err != nil {
		return c, false, &InvalidObjectError{Kind: "storageclass", Name: sc.Name, Err: err}
	}
	c.Class = sc
	c.Params = params
	c.MultiAttach = params.MultiAttach || sharedAccess(pvc.Spec.AccessModes)
	c.SelectedNode = pvc.Annotations[AnnSelectedNode]
	return c, true, nil
}

// SharedDisk tells whether the disk of a volume is shared (multi-attach):
// whether any volume with its driver and handle, or a claim bound to one of
// them, is (IsSharedVolume, or ReadWriteMany/ReadOnlyMany access). A writer
// claim on a ReadWriteOnce volume and reader claims on a ReadWriteMany volume
// of one disk all use one shared disk: all count toward its attach limit and
// its holders, and all need NVMe-capable nodes.
func (r *Resolver) SharedDisk(pv *v1.PersistentVolume) (bool, error) {
	vols := []*v1.PersistentVolume{pv}
	if r.Volumes != nil && pv.Spec.CSI != nil {
		all, err := r.Volumes.DiskVolumes(pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle)
		if err != nil {
			return false, fmt.Errorf("listing the volumes of disk %s: %w", pv.Spec.CSI.VolumeHandle, err)
		}
		if len(all) > 0 {
			vols = all
		}
	}
	for _, vol := range vols {
		var class *storagev1.StorageClass
		if name := vol.Spec.StorageClassName; name != "" && r.Classes != nil {
			class, _ = r.Classes.Get(name)
		}
		if IsSharedVolume(vol, class) {
			return true, nil
		}
		if ref := vol.Spec.ClaimRef; ref != nil && r.PVCs != nil {
			if pvc, err := r.PVCs.PersistentVolumeClaims(ref.Namespace).Get(ref.Name); err == nil && pvc.Spec.VolumeName == vol.Name && sharedAccess(pvc.Spec.AccessModes) {
				return true, nil
			}
		}
	}
	return false, nil
}

// IsSharedVolume tells whether one PV of our driver says its disk is shared
// (multi-attach): its CSI attributes or its class say multiAttach, or its
// access modes ask for more than one node. class may be nil. Whether the disk
// is shared depends on all its volumes: see Resolver.SharedDisk.
func IsSharedVolume(pv *v1.PersistentVolume, class *storagev1.StorageClass) bool {
	if pv.Spec.CSI != nil {
		// The provisioner copies the class's parameters into the volume
		// attributes verbatim, so they read like the class.
		if MultiAttachOn(pv.Spec.CSI.VolumeAttributes[ParamMultiAttach]) {
			return true
		}
	}
	if class != nil {
		if MultiAttachOn(class.Parameters[ParamMultiAttach]) {
			return true
		}
	}
	return sharedAccess(pv.Spec.AccessModes)
}

// sharedAccess tells whether access modes ask for more than one node: the
// driver refuses them without multi-attach.
func sharedAccess(modes []v1.PersistentVolumeAccessMode) bool {
	return slices.Contains(modes, v1.ReadWriteMany) || slices.Contains(modes, v1.ReadOnlyMany)
}

// Reasons of an AccessError, formats.
const (
	// ErrReasonMultiAttachRequired: the claim's access mode and class, and
	// the class's multiAttach (MultiAttachText).
	ErrReasonMultiAttachRequired = `asks for %s access, which the driver provisions only when storageclass %s sets multiAttach to "true" or "enabled" (it has %s)`
	// ErrReasonMultiWriterNeedsBlock: the driver writes to a disk from
	// several nodes only through a Block volume.
	ErrReasonMultiWriterNeedsBlock = "asks for ReadWriteMany access with volumeMode Filesystem, which the driver refuses: several nodes write to a disk only as a Block volume"
)

// AccessError says that the driver refuses to provision a claim with its
// class because of the claim's access modes (its validateCapabilities and
// the multiAttach check of getDiskVolumeOptions).
type AccessError struct{ Reason string }

func (e *AccessError) Error() string { return e.Reason }

// MultiAttachText describes a class's multiAttach parameter for a reason.
func MultiAttachText(params map[string]string) string {
	if v, ok := params[ParamMultiAttach]; ok {
		return fmt.Sprintf("multiAttach %q", v)
	}
	return "no multiAttach"
}

// CheckAccess tells whether the driver provisions an unbound claim's access
// modes with its class, as the driver checks them: ReadWriteMany needs
// volumeMode Block, and ReadWriteMany or ReadOnlyMany need the class's
// multiAttach on. It is an *AccessError when the driver would fail for every
// node.
func CheckAccess(c *Claim) error {
	if c.Bound() || c.Class == nil {
		return nil
	}
	modes := c.PVC.Spec.AccessModes
	block := c.PVC.Spec.VolumeMode != nil && *c.PVC.Spec.VolumeMode == v1.PersistentVolumeBlock
	if slices.Contains(modes, v1.ReadWriteMany) && !block {
		return &AccessError{Reason: ErrReasonMultiWriterNeedsBlock}
	}
	if c.Params.MultiAttach {
		return nil
	}
	for _, m := range modes {
		if m == v1.ReadWriteMany || m == v1.ReadOnlyMany {
			return &AccessError{Reason: fmt.Sprintf(ErrReasonMultiAttachRequired, m, c.Class.Name, MultiAttachText(c.Class.Parameters))}
		}
	}
	return nil
}
