package disk

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// keyKind says how a topology key is read on a node.
type keyKind uint8

const (
	kindLabel  keyKind = iota // a plain node label
	kindZone                  // any zone alias: compared with the node's zone
	kindRegion                // any region alias: compared with the node's region
	kindName                  // the metadata.name field
)

// Requirement is one node selector requirement with zone and region keys read
// as aliases.
type Requirement struct {
	kind   keyKind
	Key    string
	Op     v1.NodeSelectorOperator
	Values []string
}

// Term is a conjunction of requirements.
type Term []Requirement

// Topology is where a disk can be used. Terms are ORed (nil means no
// constraint); Zones, when non-nil, further restrict the node's zone.
type Topology struct {
	Terms []Term
	Zones []string
}

// IsZero tells whether the topology constrains nothing.
func (t Topology) IsZero() bool { return t.Terms == nil && t.Zones == nil }

// NodeView is what topology matching reads of a node.
type NodeView struct {
	Name   string
	Zone   string
	Region string
	Labels map[string]string
}

// Admits tells whether a node is inside the topology.
func (t Topology) Admits(n NodeView) bool {
	if t.Zones != nil && !slices.Contains(t.Zones, n.Zone) {
		return false
	}
	if t.Terms == nil {
		return true
	}
	for _, term := range t.Terms {
		if term.admits(n) {
			return true
		}
	}
	return false
}

func (term Term) admits(n NodeView) bool {
	for i := range term {
		if !term[i].admits(n) {
			return false
		}
	}
	return true
}

func (r *Requirement) admits(n NodeView) bool {
	var v string
	var present bool
	switch r.kind {
	case kindZone:
		v, present = n.Zone, n.Zone != ""
	case kindRegion:
		v, present = n.Region, n.Region != ""
	case kindName:
		v, present = n.Name, true
	default:
		v, present = n.Labels[r.Key]
	}
	switch r.Op {
	case v1.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, v)
	case v1.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, v)
	case v1.NodeSelectorOpExists:
		return present
	case v1.NodeSelectorOpDoesNotExist:
		return !present
	case v1.NodeSelectorOpGt, v1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Op == v1.NodeSelectorOpGt {
			return have > want
		}
		return have < want
	}
	return false
}

// ZoneSet returns the zones a topology allows when it pins them plainly (every
// term requires the zone In some values, or Zones is set), and ok=false when it
// does not pin zones.
func (t Topology) ZoneSet() (zones []string, ok bool) {
	if t.Terms != nil {
		ok = true
		for _, term := range t.Terms {
			tz, pinned := term.zones()
			if !pinned {
				zones, ok = nil, false
				break
			}
			for _, z := range tz {
				if !slices.Contains(zones, z) {
					zones = append(zones, z)
				}
			}
		}
	}
	if t.Zones != nil {
		if !ok {
			return slices.Clone(t.Zones), true
		}
		zones = slices.DeleteFunc(zones, func(z string) bool { return !slices.Contains(t.Zones, z) })
	}
	return zones, ok
}

// zones returns the values of the term's first zone In requirement.
func (term Term) zones() ([]string, bool) {
	for _, r := range term {
		if r.kind == kindZone && r.Op == v1.NodeSelectorOpIn {
			return r.Values, true
		}
	}
	return nil, false
}

func kindOf(key string, zoneKeys []string) keyKind {
	switch {
	case slices.Contains(zoneKeys, key):
		return kindZone
	case slices.Contains(RegionLabelKeys, key):
		return kindRegion
	}
	return kindLabel
}

// PVTopology reads where a bound PV can be used: its required node affinity and
// its legacy zone labels, zone and region keys read as aliases. A required
// affinity that can match no node, or zone labels that allow no zone, are
// errors (the caller names the PV).
func PVTopology(pv *v1.PersistentVolume, zoneKeys []string) (Topology, error) {
	var t Topology
	if na := pv.Spec.NodeAffinity; na != nil && na.Required != nil {
		terms, err := compileNodeSelector(na.Required, zoneKeys)
		if err != nil {
			return Topology{}, fmt.Errorf("unusable node affinity: %w", err)
		}
		t.Terms = terms
	}
	for _, k := range zoneKeys {
		v, ok := pv.Labels[k]
		if !ok {
			continue
		}
		zones := splitZoneLabel(v)
		if len(zones) == 0 {
			return Topology{}, fmt.Errorf("empty zone label %s", k)
		}
		if t.Zones == nil {
			t.Zones = zones
		} else {
			t.Zones = slices.DeleteFunc(t.Zones, func(z string) bool { return !slices.Contains(zones, z) })
		}
	}
	if t.Zones != nil && len(t.Zones) == 0 {
		return Topology{}, errors.New("its zone labels allow no zone")
	}
	return t, nil
}

// splitZoneLabel reads a PV zone label, which may hold several zones joined
// by "__".
func splitZoneLabel(v string) []string {
	var out []string
	for _, z := range strings.Split(v, "__") {
		if z = strings.TrimSpace(z); z != "" && !slices.Contains(out, z) {
			out = append(out, z)
		}
	}
	return out
}

var errNoTerms = errors.New("it has no node selector term, so it matches no node")

func compileNodeSelector(sel *v1.NodeSelector, zoneKeys []string) ([]Term, error) {
	terms := make([]Term, 0, len(sel.NodeSelectorTerms))
	for _, st := range sel.NodeSelectorTerms {
		if len(st.MatchExpressions) == 0 && len(st.MatchFields) == 0 {
			continue // an empty term matches nothing
		}
		term := make(Term, 0, len(st.MatchExpressions)+len(st.MatchFields))
		for _, e := range st.MatchExpressions {
			term = append(term, Requirement{kind: kindOf(e.Key, zoneKeys), Key: e.Key, Op: e.Operator, Values: e.Values})
		}
		for _, f := range st.MatchFields {
			if f.Key != "metadata.name" {
				return nil, fmt.Errorf("unsupported field selector key %q", f.Key)
			}
			term = append(term, Requirement{kind: kindName, Key: f.Key, Op: f.Operator, Values: f.Values})
		}
		terms = append(terms, term)
	}
	if len(terms) == 0 {
		return nil, errNoTerms
	}
	return terms, nil
}

// ClassTopology reads where a StorageClass may create a disk: its
// allowedTopologies (zone and region keys as aliases) and its zoneId list.
// Whether zoneId applies on a node depends on the disk category the node gets
// (regional disks ignore it), so it is returned apart.
func ClassTopology(sc *storagev1.StorageClass, params Parameters, zoneKeys []string) (allowed Topology, zoneIDs []string) {
	if len(sc.AllowedTopologies) > 0 {
		for _, at := range sc.AllowedTopologies {
			term := make(Term, 0, len(at.MatchLabelExpressions))
			for _, e := range at.MatchLabelExpressions {
				term = append(term, Requirement{kind: kindOf(e.Key, zoneKeys), Key: e.Key, Op: v1.NodeSelectorOpIn, Values: e.Values})
			}
			allowed.Terms = append(allowed.Terms, term)
		}
	}
	return allowed, params.Zones
}
