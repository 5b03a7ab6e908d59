package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VolumeTopologyArgs configures the VolumeTopology plugin. Fields left out
// take their defaults.
type VolumeTopologyArgs struct {
	metav1.TypeMeta `json:",inline"`

	// Drivers are the CSI driver names whose volumes the plugin places. Claims
	// of any other driver are left to the in-tree plugins. Each must be a valid
	// CSI driver name, listed once.
	// Default: ["diskplugin.csi.alibabacloud.com"]; an empty list also takes
	// the default.
	Drivers []string `json:"drivers,omitempty"`

	// MaxNodesPerZone is how many nodes of one zone a multi-attach disk may be
	// attached to at the same time. It must be greater than zero.
	// Default: 16.
	MaxNodesPerZone *int32 `json:"maxNodesPerZone,omitempty"`

	// NVMeInstanceFamilies are the ECS instance families (lowercase
	// alphanumerics, such as "g7se" or "c8y") whose nodes support NVMe
	// multi-attach. The node label named by nvmeLabelKey overrides this list
	// in both directions.
	// Default, when the field is left out: the families Alibaba Cloud
	// documents (g7se, c8y, g8i and their siblings). An explicit empty list
	// is kept: then only the node label decides.
	NVMeInstanceFamilies []string `json:"nvmeInstanceFamilies"`

	// NVMeLabelKey is the node label that declares NVMe multi-attach support
	// explicitly, with the value "true" or "false". It must be a valid label
	// key.
	// Default: "volume-topology.scheduling.io/nvme-multi-attach".
	NVMeLabelKey *string `json:"nvmeLabelKey,omitempty"`

	// CountVolumeAttachments makes the nodes named by a disk's VolumeAttachment
	// objects count against maxNodesPerZone as well as the nodes of the pods
	// using it, so a disk still attached to a node its pod has left is counted.
	// It costs the scheduler a VolumeAttachment informer.
	// Default: true.
	CountVolumeAttachments *bool `json:"countVolumeAttachments,omitempty"`

	// ZoneLabelKeys are the node labels that carry a node's zone, in order of
	// preference; the first one a node has wins. Each must be a valid label
	// key, listed once.
	// Default: ["topology.diskplugin.csi.alibabacloud.com/zone",
	// "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"];
	// an empty list also takes the default.
	ZoneLabelKeys []string `json:"zoneLabelKeys,omitempty"`

	// EnforceReadWriteOnce keeps a pod whose single-attach disk is in use by a
	// pod that is not terminating on one node off every other node: a disk
	// attaches to one node only, so the attach-detach controller would refuse
	// to attach it to another ("Multi-Attach error") and the pod would wait
	// for a detach that only comes when the other pod goes. Pods on the same
	// node share a ReadWriteOnce disk, as Kubernetes allows. Turn it off only
	// to get the default scheduler's behaviour back.
	// Default: true.
	EnforceReadWriteOnce *bool `json:"enforceReadWriteOnce,omitempty"`
}
