package disk

import (
	"fmt"
	"slices"
	"strings"
)

// Disk categories the driver knows (StorageClass parameter "type").
const (
	CategoryCloud       = "cloud"
	CategoryEfficiency  = "cloud_efficiency"
	CategorySSD         = "cloud_ssd"
	CategoryESSD        = "cloud_essd"
	CategoryESSDAuto    = "cloud_auto"
	CategoryESSDEntry   = "cloud_essd_entry"
	CategoryESSDXC0     = "cloud_essd_xc0"
	CategoryESSDXC1     = "cloud_essd_xc1"
	CategoryRegional    = "cloud_regional_disk_auto"
	CategoryPPerf       = "cloud_pperf"
	CategorySPerf       = "cloud_sperf"
	CategoryEEDStandard = "elastic_ephemeral_disk_standard"
	CategoryEEDPremium  = "elastic_ephemeral_disk_premium"
	// TypeAvailable, as the whole type parameter, means the driver's
	// default types (DefaultTypes). It is not a category: in a list the
	// driver refuses it.
	TypeAvailable = "available"
)

// knownCategories are the categories the driver accepts (its AllCategories;
// it dropped the shared-disk categories san_ssd and san_efficiency in 2024).
var knownCategories = []string{
	CategoryCloud, CategoryEfficiency, CategorySSD, CategoryESSD, CategoryESSDAuto,
	CategoryESSDEntry, CategoryESSDXC0, CategoryESSDXC1, CategoryRegional,
	CategoryPPerf, CategorySPerf, CategoryEEDStandard, CategoryEEDPremium,
}

// DefaultTypes are the categories the driver tries, in order, for a class
// without a type parameter or with type "available" (its validateDiskType).
var DefaultTypes = []string{CategorySSD, CategoryEfficiency}

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
	// Types are the disk categories the provisioner tries, in order: the
	// class's, or DefaultTypes when it names none or says "available".
	Types []string
	// DefaultTypes is true when Types are the driver's default.
	DefaultTypes bool
	// Zones are the zones the provisioner may create the disk in, as
	// written: the driver splits the list on commas and compares each entry
	// with the node's zone verbatim, so the entry " cn-b" of "cn-a, cn-b"
	// matches no zone. Nil when the class does not restrict them.
	Zones []string
	// ZoneKey is the parameter Zones came from: zoneId, or zoneid when
	// zoneId is absent (the driver's fallback).
	ZoneKey string
	// MultiAttach is true when the class enables multi-attach.
	MultiAttach bool
	// PerformanceLevels are the ESSD performance levels the driver tries
	// for cloud_essd, in order; nil when the class names none.
	PerformanceLevels []string
	// SizeAutoAvailable rounds a request under MinimumSizeGiB up to it.
	SizeAutoAvailable bool
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
// reads them (its getZone and validateDiskType): the types from type, the
// driver's DefaultTypes when it is absent or exactly "available"; the zones
// from zoneId, or from zoneid when zoneId is absent. Both are comma lists
// split as the driver splits them, without trimming spaces: the driver
// refuses " cloud_ssd", and compares " cn-b" with zones verbatim. Malformed
// values are errors: the provisioner would refuse them, so no node can be
// right.
func ParseParameters(params map[string]string) (Parameters, error) {
	var p Parameters
	if v, ok := params[ParamType]; ok && v != TypeAvailable {
		types, err := splitList(ParamType, v)
		if err != nil {
			return Parameters{}, err
		}
		for _, t := range types {
			if !IsKnownCategory(t) {
				reason := fmt.Sprintf("unknown disk category %q", t)
				switch {
				case t == TypeAvailable:
					reason = `"available" stands only alone, for the driver's default types`
				case IsKnownCategory(strings.TrimSpace(t)):
					reason = fmt.Sprintf("disk category %q has spaces around it, which the driver does not trim", t)
				}
				return Parameters{}, &ParameterError{Parameter: ParamType, Value: v, Reason: reason}
			}
		}
		p.Types = types
	} else {
		p.Types, p.DefaultTypes = slices.Clone(DefaultTypes), true
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
	if v := params[ParamPerformanceLevel]; v != "" {
		levels, err := parsePerformanceLevels(v)
		if err != nil {
			return Parameters{}, err
		}
		p.PerformanceLevels = levels
	}
	p.SizeAutoAvailable = parseSizeAutoAvailable(params[ParamSizeAutoAvailable])
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

// splitList splits a comma list as the driver does, without trimming
// spaces; an element that is empty or only spaces is an error.
func splitList(param, v string) ([]string, error) {
	parts := strings.Split(v, ",")
	out := make([]string, 0, len(parts))
	for _, part := range parts {
		if strings.TrimSpace(part) == "" {
			return nil, &ParameterError{Parameter: param, Value: v, Reason: "empty element in comma list"}
		}
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out, nil
}
