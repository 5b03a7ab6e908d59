package v1

import (
	"slices"

	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// SetDefaults_VolumeTopologyArgs fills in the fields the configuration left
// out. The generated SetObjectDefaults_VolumeTopologyArgs calls it, and the
// scheme calls that whenever kube-scheduler decodes the args.
//
// Lists are copied from package disk, so changing the returned args never
// changes the package's defaults.
func SetDefaults_VolumeTopologyArgs(obj *VolumeTopologyArgs) {
	if len(obj.Drivers) == 0 {
		obj.Drivers = []string{disk.DriverName}
	}
	if obj.MaxNodesPerZone == nil {
		obj.MaxNodesPerZone = ptr.To[int32](disk.DefaultMaxNodesPerZone)
	}
	// Only a missing list is defaulted: an explicit empty one means "no
	// instance family qualifies, the node label alone decides".
	if obj.NVMeInstanceFamilies == nil {
		obj.NVMeInstanceFamilies = slices.Clone(disk.DefaultNVMeInstanceFamilies)
	}
	if obj.NVMeLabelKey == nil {
		obj.NVMeLabelKey = ptr.To(disk.LabelNVMeMultiAttach)
	}
	if obj.CountVolumeAttachments == nil {
		obj.CountVolumeAttachments = ptr.To(true)
	}
	if len(obj.ZoneLabelKeys) == 0 {
		obj.ZoneLabelKeys = slices.Clone(disk.DefaultZoneLabelKeys)
	}
	if obj.EnforceReadWriteOnce == nil {
		obj.EnforceReadWriteOnce = ptr.To(true)
	}
}
