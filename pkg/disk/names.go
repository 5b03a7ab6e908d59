// Package disk holds the facts about Alibaba Cloud block disks and the nodes
// they attach to: which claims are ours, how a StorageClass's parameters read,
// a node's zone, region and NVMe capability, and a disk's identity.
//
// It has no scheduler imports. The VolumeTopology plugin, the audit command and
// the simulated cloud all read these facts from here, so they cannot disagree.
package disk

import v1 "k8s.io/api/core/v1"

// DriverName is the CSI driver of Alibaba Cloud block disks.
const DriverName = "diskplugin.csi.alibabacloud.com"

// Node labels.
const (
	// LabelDriverZone is the driver's own zone topology key. Provisioned PVs carry
	// node affinity on it.
	LabelDriverZone = "topology." + DriverName + "/zone"

	// LabelDiskTypePrefix prefixes the disk-type availability labels the driver
	// puts on nodes: node.csi.alibabacloud.com/disktype.<category>=available.
	LabelDiskTypePrefix = "node.csi.alibabacloud.com/disktype."
	// DiskTypeAvailable is the value of an available disk-type label.
	DiskTypeAvailable = "available"

	// LabelNVMeMultiAttach is the default node label that declares NVMe
	// multi-attach support explicitly ("true" or "false"); it overrides the
	// instance family list in both directions.
	LabelNVMeMultiAttach = "volume-topology.scheduling.io/nvme-multi-attach"

	// LabelInstanceTypeBeta is the legacy instance type label.
	LabelInstanceTypeBeta = "beta.kubernetes.io/instance-type"
)

// StorageClass parameters the driver reads.
const (
	ParamType   = "type"
	ParamZoneID = "zoneId"
	// ParamZoneIDLower is read when ParamZoneID is absent; when both are
	// set, zoneId wins.
	ParamZoneIDLower = "zoneid"
	ParamMultiAttach = "multiAttach"
)

// DefaultMaxNodesPerZone is how many nodes of one zone a multi-attach disk can
// be attached to at once.
const DefaultMaxNodesPerZone = 16

// DefaultZoneLabelKeys are the node zone labels in order of preference; they are
// aliases of one another.
var DefaultZoneLabelKeys = []string{LabelDriverZone, v1.LabelTopologyZone, v1.LabelFailureDomainBetaZone}

// RegionLabelKeys are the node region labels in order of preference.
var RegionLabelKeys = []string{v1.LabelTopologyRegion, v1.LabelFailureDomainBetaRegion}

// InstanceTypeLabelKeys are the node instance type labels in order of preference.
var InstanceTypeLabelKeys = []string{v1.LabelInstanceTypeStable, LabelInstanceTypeBeta}

// DefaultNVMeInstanceFamilies are the ECS instance families that support NVMe
// multi-attach (Alibaba Cloud's list; it grows, so the plugin args can replace it).
var DefaultNVMeInstanceFamilies = []string{
	"g7se", "c7se", "r7se",
	"c8y", "g8y", "r8y",
	"g8ae", "c8ae", "r8ae",
	"g8i", "c8i", "r8i",
}
