package volumetopology

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// diskInUse is a single-attach disk of the pod that pods use on some node: a
// disk attaches to one node at a time, so the pod can only join them there.
type diskInUse struct {
	// name names the disk in messages.
	name string
	// nodes maps each node where a pod that is not terminating uses the
	// disk to one such pod ("namespace/name"). Read-only.
	nodes map[string]string
	// reason is the message for every other node; it names the first user
	// in node order, so it is the same in every cycle.
	reason string
}

// allows tells whether the pod can use the disk on the node.
func (d *diskInUse) allows(node string) bool {
	_, ok := d.nodes[node]
	return ok
}

// singleAttachDisk is a single-attach disk of the pod to look for users of.
type singleAttachDisk struct {
	key, name string
	claimKeys []string
}

// disksInUse finds the pod's single-attach disks that are in use by pods
// that are not terminating, and where. A claim with ReadWriteOncePod access
// is VolumeRestrictions' business, so it is left out.
//
// The snapshot's claim reference counts (IsPVCUsedByPods) include assumed
// pods and, in a pod-group cycle, members assumed earlier in it, and answer
// in O(1); only a disk somebody uses costs a lookup in the holder index, and
// only the nodes that hold it a look at their pods.
func (pl *VolumeTopology) disksInUse(pod *v1.Pod, claims []disk.Claim, nodes []fwk.NodeInfo) ([]diskInUse, error) {
	var disks []singleAttachDisk
	storage := pl.handle.SnapshotSharedLister().StorageInfos()
	for i := range claims {
		c := &claims[i]
		if c.MultiAttach || slices.Contains(c.PVC.Spec.AccessModes, v1.ReadWriteOncePod) {
			continue
		}
		if slices.ContainsFunc(disks, func(d singleAttachDisk) bool { return d.key == c.DiskKey() }) {
			continue
		}
		keys, err := pl.diskClaimKeys(c)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(keys, storage.IsPVCUsedByPods) {
			continue
		}
		disks = append(disks, singleAttachDisk{key: c.DiskKey(), name: c.DiskName(), claimKeys: keys})
	}
	if len(disks) == 0 {
		return nil, nil
	}

	inUse := make([]diskInUse, len(disks))
	for i := range disks {
		inUse[i] = diskInUse{name: disks[i].name}
	}
	for i := range disks {
		for _, ni := range pl.nodesUsing(disks[i].claimKeys, nodes) {
			if user := activeUser(ni, disks[i].claimKeys, pod.UID); user != "" {
				if inUse[i].nodes == nil {
					inUse[i].nodes = map[string]string{}
				}
				inUse[i].nodes[ni.Node().Name] = user
			}
		}
	}
	// Disks whose only users are terminating restrict nothing: they will
	// be freed.
	inUse = slices.DeleteFunc(inUse, func(d diskInUse) bool { return len(d.nodes) == 0 })
	for i := range inUse {
		d := &inUse[i]
		first := ""
		for n := range d.nodes {
			if first == "" || n < first {
				first = n
			}
		}
		d.reason = fmt.Sprintf(ErrReasonInUse, d.name, d.nodes[first], first)
	}
	return inUse, nil
}

// activeUser returns "namespace/name" of a pod on the node, other than the
// pod being scheduled, that uses one of the claims and is neither terminating
// nor terminated; "" when there is none. Among several, the first by name.
func activeUser(ni fwk.NodeInfo, claimKeys []string, self types.UID) string {
	user := ""
	for _, pi := range ni.GetPods() {
		p := pi.GetPod()
		if p.UID == self || !keepsDisks(p) {
			continue
		}
		if !usesAnyClaim(p, claimKeys) {
			continue
		}
		if key := p.Namespace + "/" + p.Name; user == "" || key < user {
			user = key
		}
	}
	return user
}

// usesAnyClaim tells whether one of the pod's persistentVolumeClaim volumes
// names one of the claims ("namespace/name"), as the scheduler's claim
// reference counts count them.
func usesAnyClaim(pod *v1.Pod, claimKeys []string) bool {
	for i := range pod.Spec.Volumes {
		pvc := pod.Spec.Volumes[i].PersistentVolumeClaim
		if pvc == nil {
			continue
		}
		for _, k := range claimKeys {
			if isClaimKey(k, pod.Namespace, pvc.ClaimName) {
				return true
			}
		}
	}
	return false
}

// isClaimKey tells whether key is "namespace/name", without building the string.
func isClaimKey(key, namespace, name string) bool {
	return len(key) == len(namespace)+1+len(name) && key[:len(namespace)] == namespace && key[len(namespace)] == '/' && key[len(namespace)+1:] == name
}

// diskClaimKeys returns every claim that reaches the claim's disk: the claim
// itself, and for a bound one the claims bound to any volume of the disk
// (two static PVs can point at one disk).
func (pl *VolumeTopology) diskClaimKeys(c *disk.Claim) ([]string, error) {
	keys := []string{c.Key}
	if !c.Bound() || pl.resolver.Volumes == nil {
		return keys, nil
	}
	pvs, err := pl.resolver.Volumes.DiskVolumes(c.PV.Spec.CSI.Driver, c.DiskID)
	if err != nil {
		return nil, err
	}
	for _, pv := range pvs {
		if ref := pv.Spec.ClaimRef; ref != nil {
			if k := ref.Namespace + "/" + ref.Name; !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}
