package simcloud

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// ProvisionFor is what the simulated driver and provisioner make of an
// unbound WaitForFirstConsumer claim of class once a pod of it is given node,
// without a running cloud: the PersistentVolume they would save (its disk
// named diskID), or the driver's error. The node's topology is its value of
// the driver's zone key, the key the driver registers in its CSINode
// (localcluster registers the same). conflict is the driver's
// ConflictingZone message: the disk was created in a zone of the class's
// zoneId that the node is not in, so it can never attach there.
func ProvisionFor(pvc *v1.PersistentVolumeClaim, class *storagev1.StorageClass, node *v1.Node, diskID string) (pv *v1.PersistentVolume, conflict string, err error) {
	if class.Provisioner != disk.DriverName {
		return nil, "", fmt.Errorf("storageclass %s is provisioned by %s, not the simulated driver", class.Name, class.Provisioner)
	}
	r := requestFor(pvc, class)
	r.nodeLabels, r.region = node.Labels, disk.RegionOf(node.Labels)
	if r.nodeLabels == nil {
		r.nodeLabels = map[string]string{}
	}
	if z := node.Labels[disk.LabelDriverZone]; z != "" {
		r.nodeZones = []string{z}
	}
	d, conflict, err := createVolume(r)
	if err != nil {
		return nil, "", err
	}
	d.ID = diskID
	return (&provisioner{}).persistentVolume(pvc, class, d), conflict, nil
}

// MultiAttach is the simulated driver's own reading of a class's multiAttach
// parameter: whether the disks it creates for the class are multi-attach.
func MultiAttach(params map[string]string) bool {
	var c driverClass
	for _, p := range driverParameters {
		if p.keys[0] == disk.ParamMultiAttach {
			v, present := params[disk.ParamMultiAttach]
			_ = p.read(&c, v, present) // never an error
		}
	}
	return c.multiAttach
}
