package volumetopology

// Reasons a node is rejected. Each is a format string; the values name the
// disk, the zone and the count, never the node, so the scheduler's summary
// ("0/N nodes are available: ...") groups nodes that fail for the same reason.
const (
	// ErrReasonDiskZone: a bound disk lives in other zones. Args: zones, disk.
	ErrReasonDiskZone = "node(s) are outside zone(s) %s of disk %s"
	// ErrReasonDiskAffinity: a bound disk's PV node affinity does not match.
	// Args: persistentvolume, disk.
	ErrReasonDiskAffinity = "node(s) did not match the node affinity of persistentvolume %s (disk %s)"
	// ErrReasonSelectedNodeZone: an unbound claim is already being provisioned
	// for a node in another zone. Args: zone, selected node, claim.
	ErrReasonSelectedNodeZone = "node(s) are outside zone %s of node %s, selected for claim %s"
	// ErrReasonAllowedTopologies: the StorageClass cannot create disks for the
	// node. Args: storageclass.
	ErrReasonAllowedTopologies = "node(s) did not match the allowedTopologies of storageclass %s"
	// ErrReasonClassZone: the node's zone is not in the StorageClass zoneId
	// list, so the provisioner would create the disk where the pod cannot reach
	// it. Args: zoneId list, storageclass.
	ErrReasonClassZone = "node(s) are outside zoneId %s of storageclass %s"
	// ErrReasonDiskType: the node describes its disk types and offers none of
	// the StorageClass's. Args: types, storageclass.
	ErrReasonDiskType = "node(s) offer none of the disk types %s of storageclass %s"
	// ErrReasonDefaultDiskType: the StorageClass names no type (or type
	// "available"), so the driver tries its default types, and the node
	// describes its disk types and offers none of them. Args: types,
	// storageclass.
	ErrReasonDefaultDiskType = "node(s) offer none of the default disk types %s the driver uses for storageclass %s, which names no type"
	// ErrReasonZoneConflict: the node's zone labels disagree, so no zone rule
	// can be trusted on it.
	ErrReasonZoneConflict = "node(s) had conflicting zone labels"
	// ErrReasonNoZone: an unbound claim would get a zonal disk on the node,
	// but the node has no zone label, so the driver would create the disk in
	// a zone of its own choosing, unrelated to the node. Args: storageclass.
	ErrReasonNoZone = "node(s) had no zone label, so storageclass %s would create its zonal disk in a zone unrelated to them"
	// ErrReasonNotNVMe: shared disks attach only to NVMe-capable nodes. Args: disk.
	ErrReasonNotNVMe = "node(s) do not support NVMe multi-attach, required by shared disk %s"
	// ErrReasonHolder: another pod on the node already uses the shared disk;
	// NVMe reservations are per host. Args: disk.
	ErrReasonHolder = "node(s) already run a pod using shared disk %s (one reservation holder per node)"
	// ErrReasonInUse: a single-attach disk of the pod is in use by a pod that
	// is not terminating on another node. A disk attaches to one node at a
	// time: the attach-detach controller would refuse it here ("Multi-Attach
	// error"). Every node but the user's gets the same message. Args: disk,
	// the using pod ("namespace/name"), its node.
	ErrReasonInUse = "node(s) cannot use disk %s: it attaches to one node at a time and pod %s uses it on node %s"
	// ErrReasonAttachLimit: the shared disk is attached to as many nodes of the
	// node's zone as the cloud allows. Args: disk, count, zone, limit.
	ErrReasonAttachLimit = "node(s) cannot take shared disk: disk %s is attached to %d nodes in zone %s (limit %d)"
)

// Rules, as verdicts and metric label values name them.
const (
	RuleZone        = "zone"
	RuleInUse       = "in_use"
	RuleNVMe        = "nvme"
	RuleHolder      = "holder"
	RuleAttachLimit = "attach_limit"
)
