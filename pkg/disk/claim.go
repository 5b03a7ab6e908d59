package disk

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
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
	// MultiAttach is true for a shared disk.
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
	// Drivers are the CSI drivers whose disks are ours.
	Drivers []string
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
		if err != nil {
			if apierrors.IsNotFound(err) {
				missing := &MissingObjectError{Kind: "persistentvolumeclaim", Name: pod.Namespace + "/" + name}
				if vol.Ephemeral != nil {
					missing.Detail = "waiting for the ephemeral volume controller to create it"
				}
				return nil, missing
			}
			return nil, err
		}
		if vol.Ephemeral != nil {
			if err := ephemeral.VolumeIsForPod(pod, pvc); err != nil {
				return nil, &InvalidObjectError{Kind: "persistentvolumeclaim", Name: pod.Namespace + "/" + name, Err: err}
			}
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

// IsSharedVolume tells whether a PV of our driver is a shared (multi-attach)
// disk: its CSI attributes or its class say multiAttach, or its access modes
// ask for more than one node. class may be nil.
func IsSharedVolume(pv *v1.PersistentVolume, class *storagev1.StorageClass) bool {
	if pv.Spec.CSI != nil {
		if on, _ := ParseMultiAttach(pv.Spec.CSI.VolumeAttributes[ParamMultiAttach]); on {
			return true
		}
	}
	if class != nil {
		if on, _ := ParseMultiAttach(class.Parameters[ParamMultiAttach]); on {
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
