package disk

import (
	"fmt"
	"strings"
)

// ZoneOf returns a node's zone from its labels, reading keys in order of
// preference (they are aliases of one another). It returns "" when none is set,
// and an error, with the preferred zone, when two keys disagree.
func ZoneOf(labels map[string]string, keys []string) (string, error) {
	zone, zoneKey := "", ""
	for _, k := range keys {
		v, ok := labels[k]
		if !ok || v == "" {
			continue
		}
		if zone == "" {
			zone, zoneKey = v, k
			continue
		}
		if v != zone {
			return zone, fmt.Errorf("conflicting zone labels %s=%s and %s=%s", zoneKey, zone, k, v)
		}
	}
	return zone, nil
}

// RegionOf returns a node's region from its labels, or "".
func RegionOf(labels map[string]string) string {
	for _, k := range RegionLabelKeys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// InstanceTypeOf returns a node's ECS instance type from its labels, or "".
func InstanceTypeOf(labels map[string]string) string {
	for _, k := range InstanceTypeLabelKeys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// InstanceFamily returns the family of an ECS instance type: "ecs.g7se.xlarge"
// is of family "g7se". It returns "" when the type has no family part.
func InstanceFamily(instanceType string) string {
	t := strings.TrimPrefix(instanceType, "ecs.")
	if i := strings.IndexByte(t, '.'); i >= 0 {
		t = t[:i]
	}
	return t
}

// DiskTypeLabel is the node label the driver sets when a disk category can be
// attached to the node.
func DiskTypeLabel(category string) string {
	return LabelDiskTypePrefix + category
}

// DiskTypesOf reads the node's disk-type labels: the known categories the
// node offers, and whether the driver has described the node at all (a node
// it has not described yet must not be rejected for that alone). Like the
// driver (getSupportedDiskTypes), it reads the label keys: a category is
// offered when its label is present, whatever the value (the driver writes
// "available").
func DiskTypesOf(labels map[string]string) (available CategorySet, described bool) {
	for k := range labels {
		category, ok := strings.CutPrefix(k, LabelDiskTypePrefix)
		if !ok {
			continue
		}
		described = true
		available |= CategoryBit(category)
	}
	return available, described
}

// NodeClassifier turns node labels into the facts the rules read. Build one
// from the plugin args and share it; it is read-only.
type NodeClassifier struct {
	// ZoneKeys are the zone labels in order of preference.
	ZoneKeys []string
	// NVMeFamilies are the instance families that support NVMe multi-attach.
	NVMeFamilies map[string]struct{}
	// NVMeLabelKey is the node label that overrides the family list.
	NVMeLabelKey string
}

// NewNodeClassifier returns a classifier for the given settings.
func NewNodeClassifier(zoneKeys, nvmeFamilies []string, nvmeLabelKey string) *NodeClassifier {
	fams := make(map[string]struct{}, len(nvmeFamilies))
	for _, f := range nvmeFamilies {
		fams[f] = struct{}{}
	}
	return &NodeClassifier{ZoneKeys: zoneKeys, NVMeFamilies: fams, NVMeLabelKey: nvmeLabelKey}
}

// NodeFacts are what the rules need to know about one node.
type NodeFacts struct {
	// Zone is the node's zone ("" when it has no zone label).
	Zone string
	// ZoneConflict is non-empty when the node's zone labels disagree.
	ZoneConflict string
	// Region is the node's region ("" when unlabelled).
	Region string
	// NVMe tells whether shared disks can be attached to the node.
	NVMe bool
	// NVMeWhy says why (or why not), for messages and logs.
	NVMeWhy string
	// DescribesDiskTypes is true when the node carries disk-type labels.
	DescribesDiskTypes bool
	// DiskTypes are the categories the node's labels mark available.
	DiskTypes CategorySet
}

// Describe reads the facts of a node from its labels.
func (c *NodeClassifier) Describe(labels map[string]string) NodeFacts {
	f := NodeFacts{Region: RegionOf(labels)}
	f.DiskTypes, f.DescribesDiskTypes = DiskTypesOf(labels)
	zone, err := ZoneOf(labels, c.ZoneKeys)
	f.Zone = zone
	if err != nil {
		f.ZoneConflict = err.Error()
	}
	f.NVMe, f.NVMeWhy = c.NVMe(labels)
	return f
}

// NVMe tells whether a node can take shared (NVMe multi-attach) disks, and why.
// The explicit label wins over the instance family list in both directions; a
// label with another value than "true" or "false" is not trusted.
func (c *NodeClassifier) NVMe(labels map[string]string) (bool, string) {
	if v, ok := labels[c.NVMeLabelKey]; ok {
		switch v {
		case "true":
			return true, "label " + c.NVMeLabelKey + "=true"
		case "false":
			return false, "label " + c.NVMeLabelKey + "=false"
		default:
			return false, fmt.Sprintf("label %s has invalid value %q (want true or false)", c.NVMeLabelKey, v)
		}
	}
	it := InstanceTypeOf(labels)
	if it == "" {
		return false, "node has no instance type label"
	}
	fam := InstanceFamily(it)
	if _, ok := c.NVMeFamilies[fam]; ok {
		return true, "instance family " + fam + " supports NVMe multi-attach"
	}
	return false, fmt.Sprintf("instance type %s (family %s) does not support NVMe multi-attach", it, fam)
}

// DescribesDiskTypes tells whether the driver has labelled the node with its
// disk-type availability.
func DescribesDiskTypes(labels map[string]string) bool {
	_, described := DiskTypesOf(labels)
	return described
}
