package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VolumeTopologyArgs configures the VolumeTopology plugin. This internal form
// always has its defaults applied; see the v1 package for the defaults.
type VolumeTopologyArgs struct {
	metav1.TypeMeta

	// Drivers are the CSI driver names whose volumes the plugin places. Claims
	// of any other driver are left to the in-tree plugins.
	Drivers []string

	// MaxNodesPerZone is how many nodes of one zone a multi-attach disk may be
	// attached to at the same time. It must be greater than zero.
	MaxNodesPerZone int32

	// NVMeInstanceFamilies are the ECS instance families (such as "g7se" or
	// "c8y") whose nodes support NVMe multi-attach. The node label named by
	// NVMeLabelKey overrides this list in both directions. An empty list is
	// allowed: then only that node label decides.
	NVMeInstanceFamilies []string

	// NVMeLabelKey is the node label that declares NVMe multi-attach support
	// explicitly, with the value "true" or "false".
	NVMeLabelKey string

	// CountVolumeAttachments makes the nodes named by a disk's VolumeAttachment
	// objects count against MaxNodesPerZone as well as the nodes of the pods
	// using it, so a disk still attached to a node its pod has left is counted.
	// It costs the scheduler a VolumeAttachment informer.
	CountVolumeAttachments bool

	// ZoneLabelKeys are the node labels that carry a node's zone, in order of
	// preference; the first one a node has wins.
	ZoneLabelKeys []string

	// EnforceReadWriteOnce keeps a pod whose single-attach disk is in use by a
	// running pod on one node off every other node: the attach-detach
	// controller would refuse to attach the disk there ("Multi-Attach error")
	// and the pod would wait, often forever, for a detach that never comes.
	EnforceReadWriteOnce bool
}
