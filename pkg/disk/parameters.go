package disk

import (
	"fmt"
	"slices"
	"strings"
)

// Disk categories the driver knows (StorageClass parameter "type").
const (
	CategoryCloud           = "cloud"
	CategoryEfficiency      = "cloud_efficiency"
	CategorySSD             = "cloud_ssd"
	CategoryESSD            = "cloud_essd"
	CategoryESSDAuto        = "cloud_auto"
	CategoryESSDEntry       = "cloud_essd_entry"
	CategoryESSDXC0         = "cloud_essd_xc0"
	CategoryESSDXC1         = "cloud_essd_xc1"
	CategoryRegional        = "cloud_regional_disk_auto"
	CategoryPPerf           = "cloud_pperf"
	CategorySPerf           = "cloud_sperf"
	CategorySharedSSD       = "san_ssd"
	CategorySharedEfficient = "san_efficiency"
	CategoryEEDStandard     = "elastic_ephemeral_disk_standard"
	CategoryEEDPremium      = "elastic_ephemeral_disk_premium"
	// CategoryAvailable is the driver's legacy alias for "whatever is
	// available"; it constrains neither the zone nor the node's disk types.
	CategoryAvailable = "available"
)

var knownCategories = []string{
	CategoryCloud, CategoryEfficiency, CategorySSD, CategoryESSD, CategoryESSDAuto,
	CategoryESSDEntry, CategoryESSDXC0, CategoryESSDXC1, CategoryRegional,
	CategoryPPerf, CategorySPerf, CategorySharedSSD, CategorySharedEfficient,
	CategoryEEDStandard, CategoryEEDPremium, CategoryAvailable,
}

// CategorySet is a set of known disk categories, one bit each.
type CategorySet uint32

// CategoryBit returns the bit of a known category, or 0 for an unknown one.
func CategoryBit(category string) CategorySet {
	if i := slices.Index(knownCategories, category); i >= 0 {
		return 1 << i
	}
	return 0
}

// IsKnownCategory tells whether the driver accepts the disk category.
func IsKnownCategory(category string) bool {
	return slices.Contains(knownCategories, category)
}

// IsRegionalType tells whether a disk category is zone-redundant: such a disk
// can be attached from any zone of its region.
func IsRegionalType(category string) bool {
	return category == CategoryRegional
}

// Parameters are a StorageClass's parameters as the driver reads them.
type Parameters struct {
	// Types are the disk categories tried in order; nil when the class does not
	// say (the driver then picks its default list).
	Types []string
	// Zones are the zones the provisioner may create the disk in, spaces
	// trimmed; nil when the class does not restrict them.
	Zones []string
	// ZoneKey is the parameter Zones came from: zoneId, or zoneid when
	// zoneId is absent (the driver's fallback).
	ZoneKey string
	// MultiAttach is true when the class enables multi-attach.
	MultiAttach bool
}

// ParameterError says which StorageClass parameter is malformed and why.
type ParameterError struct {
	Parameter string
	Value     string
	Reason    string
}

func (e *ParameterError) Error() string {
	return fmt.Sprintf("parameter %s=%q: %s", e.Parameter, e.Value, e.Reason)
}

// ParseParameters reads the parameters the driver cares about, as the driver
// reads them (its getZone and validateDiskType): the zones from zoneId, or
// from zoneid when zoneId is absent. Malformed values are errors: the
// provisioner would refuse them, so no node can be right.
func ParseParameters(params map[string]string) (Parameters, error) {
	var p Parameters
	if v, ok := params[ParamType]; ok {
		types, err := splitList(ParamType, v)
		if err != nil {
			return Parameters{}, err
		}
		for _, t := range types {
			if !IsKnownCategory(t) {
				return Parameters{}, &ParameterError{Parameter: ParamType, Value: v, Reason: fmt.Sprintf("unknown disk category %q", t)}
			}
		}
		p.Types = types
	}
	for _, key := range []string{ParamZoneID, ParamZoneIDLower} {
		v, ok := params[key]
		if !ok {
			continue
		}
		zones, err := splitList(key, v)
		if err != nil {
			return Parameters{}, err
		}
		p.Zones, p.ZoneKey = zones, key
		break
	}
	if v, ok := params[ParamMultiAttach]; ok {
		on, err := ParseMultiAttach(v)
		if err != nil {
			return Parameters{}, err
		}
		p.MultiAttach = on
	}
	return p, nil
}

// ParseMultiAttach reads a multiAttach value ("true"/"enabled" turn it on,
// "false"/"disabled"/"" leave it off, case-insensitively).
func ParseMultiAttach(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "enabled":
		return true, nil
	case "false", "disabled", "":
		return false, nil
	}
	return false, &ParameterError{Parameter: ParamMultiAttach, Value: v, Reason: `want "true", "enabled", "false" or "disabled"`}
}

// splitList splits a comma list, trimming spaces; an empty list or an empty
// element is an error.
func splitList(param, v string) ([]string, error) {
	parts := strings.Split(v, ",")
	out := make([]string, 0, len(parts))
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, &ParameterError{Parameter: param, Value: v, Reason: "empty element in comma list"}
		}
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out, nil
}

// Regional tells whether the disk this class creates on a node will be
// regional: the first of its types the node offers is a regional category.
// available reports whether the node offers a category; pass nil when the node
// does not describe its disk types.
func (p Parameters) Regional(available func(category string) bool) bool {
	for _, t := range p.Types {
		if available == nil || t == CategoryAvailable || available(t) {
			return IsRegionalType(t)
		}
	}
	return false
}
