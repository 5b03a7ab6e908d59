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

// Parameters are a StorageClass's parameters as the driver reads them. The
// table in this package's README.md lists, for each parameter, the driver
// function that reads it and how this reading matches it.
type Parameters struct {
	// Types are the disk categories the provisioner tries, in order: the
	// class's, or DefaultTypes when it names none or says "available". The
	// driver tries a repeated category twice; it is kept once here, which
	// changes nothing about the disk a node gets.
	Types []string
	// DefaultTypes is true when Types are the driver's default.
	DefaultTypes bool
	// Zones are the zones the provisioner may create the disk in, as
	// written: the driver splits the list on commas into a set and compares
	// each entry with the node's zone verbatim, so the entry " cn-b" of
	// "cn-a, cn-b" matches no zone. Empty entries ("cn-a,cn-b," from a
	// template) are left out: they match no node's zone. Nil when the class
	// does not restrict them.
	Zones []string
	// ZoneKey is the parameter Zones came from: zoneId, or zoneid when
	// zoneId is absent (the driver's fallback).
	ZoneKey string
	// MultiAttach is true when the class enables multi-attach: "true" or
	// "enabled" in any case, without spaces (MultiAttachOn).
	MultiAttach bool
	// PerformanceLevels are the ESSD performance levels the driver tries
	// for cloud_essd, in order; nil when the class names none.
	PerformanceLevels []string
	// SizeAutoAvailable rounds a request under MinimumSizeGiB up to it.
	SizeAutoAvailable bool
}

// ParameterError says which StorageClass parameter the driver refuses and why.
type ParameterError struct {
	Parameter string
	Value     string
	Reason    string
}

func (e *ParameterError) Error() string {
	return fmt.Sprintf("parameter %s=%q: %s", e.Parameter, e.Value, e.Reason)
}

// Reasons of a ParameterError.
const (
	// ReasonEmptyElement: the driver refuses an empty entry of type or
	// performanceLevel (it is no category or level).
	ReasonEmptyElement = "empty element in comma list"
	// ReasonAvailableInList: "available" means the default types only as
	// the whole value.
	ReasonAvailableInList = `"available" stands only alone, for the driver's default types`
	// ReasonUnknownCategory is a format: the driver knows no such category
	// (categories are case-sensitive).
	ReasonUnknownCategory = "unknown disk category %q"
	// ReasonSpacedCategory is a format: a category with spaces around it,
	// which the driver does not trim.
	ReasonSpacedCategory = "disk category %q has spaces around it, which the driver does not trim"
	// ReasonUnknownLevel is a format: no such ESSD performance level.
	ReasonUnknownLevel = "unknown performance level %q (want PL0, PL1, PL2 or PL3)"
	// ReasonNoZoneInList: a zoneId of empty entries only (e.g. "" or ",")
	// leaves the driver an empty zone, which it refuses ("empty zone ID is
	// invalid") whenever one of the class's types is zonal.
	ReasonNoZoneInList = `names no zone, and the driver refuses an empty zone ("empty zone ID is invalid") for a class with a zonal disk type`
)

// ParseParameters reads the parameters the driver cares about, as the driver
// reads them (its validateDiskType, getZone, validateDiskPerformanceLevel and
// getDiskVolumeOptions): the types from type, the driver's DefaultTypes when
// it is absent or exactly "available"; the zones from zoneId, or from zoneid
// when zoneId is absent. Both are comma lists split without trimming spaces:
// the driver refuses " cloud_ssd", and compares " cn-b" with zones verbatim.
// multiAttach and volumeSizeAutoAvailable are never errors. A value the
// driver refuses is a *ParameterError: the provisioner would fail for every
// node, so no node can be right.
func ParseParameters(params map[string]string) (Parameters, error) {
	var p Parameters
	if v, ok := params[ParamType]; ok && v != TypeAvailable {
		var types []string
		for _, t := range strings.Split(v, ",") {
			if !IsKnownCategory(t) {
				reason := fmt.Sprintf(ReasonUnknownCategory, t)
				switch {
				case t == "":
					reason = ReasonEmptyElement
				case t == TypeAvailable:
					reason = ReasonAvailableInList
				case IsKnownCategory(strings.TrimSpace(t)):
					reason = fmt.Sprintf(ReasonSpacedCategory, t)
				}
				return Parameters{}, &ParameterError{Parameter: ParamType, Value: v, Reason: reason}
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
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
		zones := []string{}
		for _, z := range strings.Split(v, ",") {
			if z != "" && !slices.Contains(zones, z) {
				zones = append(zones, z)
			}
		}
		// The driver reads the zone only for a class with a zonal type
		// (a regional disk has none).
		if len(zones) == 0 && slices.ContainsFunc(p.Types, func(t string) bool { return !IsRegionalType(t) }) {
			return Parameters{}, &ParameterError{Parameter: key, Value: v, Reason: ReasonNoZoneInList}
		}
		p.Zones, p.ZoneKey = zones, key
		break
	}
	p.MultiAttach = MultiAttachOn(params[ParamMultiAttach])
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

// MultiAttachOn reads a multiAttach value as the driver does (in
// getDiskVolumeOptions): lower-cased but not trimmed, "true" and "enabled"
// turn multi-attach on and anything else leaves it off, without an error:
// "Yes", "1" and " true" all leave it off.
func MultiAttachOn(v string) bool {
	switch strings.ToLower(v) {
	case "true", "enabled":
		return true
	}
	return false
}
