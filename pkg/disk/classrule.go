package disk

import (
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// ClassRule is where a StorageClass can create a disk a node can use: the
// rule of an unbound WaitForFirstConsumer claim, compiled once from the class
// and read per node with comparisons only. The plugin, the audit and the
// simulated provisioner all read it, so they agree on which category a node
// gets and in which zone.
type ClassRule struct {
	// Allowed is the class's allowedTopologies (zero when it has none).
	Allowed Topology
	// ZoneIDs is the class's zoneId list, compared verbatim; nil when the
	// class sets none.
	ZoneIDs []string
	// Types are the categories the provisioner tries, in order.
	Types []string
	// DefaultTypes is true when Types are the driver's default.
	DefaultTypes bool

	bits     []CategorySet // the bit of each type
	regional []bool        // whether each type is regional

	className string
	params    Parameters // for ForRequest
}

// NewClassRule compiles the rule of a class with its parsed parameters; zone
// and region keys of allowedTopologies are read as aliases.
func NewClassRule(sc *storagev1.StorageClass, p Parameters, zoneKeys []string) ClassRule {
	r := ClassRule{Types: p.Types, DefaultTypes: p.DefaultTypes, className: sc.Name, params: p}
	r.Allowed, r.ZoneIDs = ClassTopology(sc, p, zoneKeys)
	if !slices.ContainsFunc(p.Types, func(t string) bool { return !IsRegionalType(t) }) {
		// The driver reads zoneId only for a class with a zonal type
		// (getDiskVolumeOptions calls getZone only then).
		r.ZoneIDs = nil
	}
	for _, t := range p.Types {
		r.bits = append(r.bits, CategoryBit(t))
		r.regional = append(r.regional, IsRegionalType(t))
	}
	return r
}

// UsesZone tells whether the class constrains the node's zone by its
// allowedTopologies or zoneId.
func (r *ClassRule) UsesZone() bool { return r.ZoneIDs != nil || !r.Allowed.IsZero() }

// MayBeRegional tells whether some node may get a regional disk (then zoneId
// does not bind on it).
func (r *ClassRule) MayBeRegional() bool { return slices.Contains(r.regional, true) }

// FirstRegional tells whether the first type, which a node that does not
// describe its disk types gets, is regional.
func (r *ClassRule) FirstRegional() bool { return len(r.regional) > 0 && r.regional[0] }

// Category returns the category the provisioner creates for a node: the first
// of the types the node offers, or the first type when the node does not
// describe its disk types. ok is false when the node offers none of them.
func (r *ClassRule) Category(f *NodeFacts) (category string, regional, ok bool) {
	i := r.categoryIndex(f)
	if i < 0 {
		return "", false, false
	}
	return r.Types[i], r.regional[i], true
}

func (r *ClassRule) categoryIndex(f *NodeFacts) int {
	if len(r.bits) == 0 {
		return -1
	}
	if !f.DescribesDiskTypes {
		return 0
	}
	for i, b := range r.bits {
		if f.DiskTypes&b != 0 {
			return i
		}
	}
	return -1
}

// Verdict is what a ClassRule says about one node.
type Verdict uint8

const (
	// Fits: the provisioner can create a disk the node can use.
	Fits Verdict = iota
	// ZoneLabelsConflict: the class constrains zones and the node's zone
	// labels disagree, so no zone rule can be trusted on it.
	ZoneLabelsConflict
	// OutsideAllowedTopologies: the class's allowedTopologies exclude the node.
	OutsideAllowedTopologies
	// NoOfferedType: the node describes its disk types and offers none of
	// the class's.
	NoOfferedType
	// NoZone: the node would get a zonal disk but has no zone label, so the
	// driver gets no zone from its topology and creates the disk in a zone
	// of its own choosing, unrelated to the node.
	NoZone
	// OutsideZoneID: the node would get a zonal disk and its zone is not in
	// the class's zoneId list, so the driver creates the disk in a zoneId
	// zone the node cannot reach (ConflictingZone).
	OutsideZoneID
)

var verdictText = [...]string{
	Fits:                     "the class can create a disk the node can use",
	ZoneLabelsConflict:       "the node's zone labels conflict",
	OutsideAllowedTopologies: "the class's allowedTopologies exclude the node",
	NoOfferedType:            "the node offers none of the class's disk types",
	NoZone:                   "the node has no zone label, so the driver would create the zonal disk in a zone unrelated to the node",
	OutsideZoneID:            "the node's zone is not in the class's zoneId list, so the driver would create the disk in another zone",
}

func (v Verdict) String() string {
	if int(v) < len(verdictText) {
		return verdictText[v]
	}
	return "unknown verdict"
}

// Check tells whether the class can create, for the node, a disk the node can
// use. It reads the node's facts and labels only.
func (r *ClassRule) Check(f *NodeFacts, n NodeView) Verdict {
	if f.ZoneConflict != "" && r.UsesZone() {
		return ZoneLabelsConflict
	}
	if !r.Allowed.IsZero() && !r.Allowed.Admits(n) {
		return OutsideAllowedTopologies
	}
	// The provisioner tries the types in order; the first one the node
	// offers is the disk it gets. A node that does not describe its types is
	// not rejected for that.
	i := r.categoryIndex(f)
	if i < 0 {
		return NoOfferedType
	}
	if r.regional[i] {
		return Fits // a regional disk attaches in any zone of the region
	}
	if f.Zone == "" {
		return NoZone
	}
	if r.ZoneIDs != nil && !slices.Contains(r.ZoneIDs, f.Zone) {
		return OutsideZoneID
	}
	return Fits
}

// ClaimRule is the rule of an unbound claim: its class's rule for the size it
// requests. An error (*AccessError or *SizeError) means the driver would
// fail to provision it for any node.
func ClaimRule(c *Claim, zoneKeys []string) (ClassRule, error) {
	if err := CheckAccess(c); err != nil {
		return ClassRule{}, err
	}
	var bytes int64
	if q, ok := c.PVC.Spec.Resources.Requests[v1.ResourceStorage]; ok {
		bytes = q.Value()
	}
	return NewClassRule(c.Class, c.Params, zoneKeys).ForRequest(bytes)
}
