package disk

import (
	"fmt"
	"slices"
	"strings"
)

// StorageClass parameters that decide, with the claim's size, which of the
// types the driver tries.
const (
	// ParamPerformanceLevel is a comma list of ESSD performance levels the
	// driver tries for cloud_essd, in order.
	ParamPerformanceLevel = "performanceLevel"
	// ParamSizeAutoAvailable ("yes", "true" or "1") makes the driver round
	// a request under MinimumSizeGiB up to it.
	ParamSizeAutoAvailable = "volumeSizeAutoAvailable"
)

// MinimumSizeGiB is what volumeSizeAutoAvailable rounds a small request up to.
const MinimumSizeGiB = 20

// ESSD performance levels and the smallest disk of each, in GiB.
var essdLevelMinGiB = map[string]int64{"PL0": 1, "PL1": 20, "PL2": 461, "PL3": 1261}

// categoryMinGiB is the smallest disk of each category, in GiB, as the driver
// checks it before trying a category (its AllCategories); absent means no
// limit.
var categoryMinGiB = map[string]int64{
	CategoryEfficiency: 20, CategorySSD: 20, CategoryESSD: 20,
	CategoryESSDXC0: 40, CategoryESSDXC1: 40,
	CategoryESSDAuto: 1, CategoryESSDEntry: 10, CategoryRegional: 10,
	CategoryEEDStandard: 64, CategoryEEDPremium: 64,
}

// parsePerformanceLevels reads performanceLevel as the driver does (its
// validateDiskPerformanceLevel): every entry, split on commas without
// trimming, must be an ESSD level, whatever the class's types. A repeated
// level is kept once.
func parsePerformanceLevels(v string) ([]string, error) {
	var levels []string
	for _, l := range strings.Split(v, ",") {
		if _, ok := essdLevelMinGiB[l]; !ok {
			reason := fmt.Sprintf(ReasonUnknownLevel, l)
			if l == "" {
				reason = ReasonEmptyElement
			}
			return nil, &ParameterError{Parameter: ParamPerformanceLevel, Value: v, Reason: reason}
		}
		if !slices.Contains(levels, l) {
			levels = append(levels, l)
		}
	}
	return levels, nil
}

// parseSizeAutoAvailable reads volumeSizeAutoAvailable as the driver does:
// "yes", "true" or "1", in any case, turn it on; anything else leaves it off.
func parseSizeAutoAvailable(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "true", "1":
		return true
	}
	return false
}

// RequestGiB is the size the driver creates for a claim's request: bytes
// rounded up to GiB, and up to MinimumSizeGiB when the class sets
// volumeSizeAutoAvailable.
func (p Parameters) RequestGiB(bytes int64) int64 {
	gib := (bytes + 1<<30 - 1) >> 30
	if gib < MinimumSizeGiB && p.SizeAutoAvailable {
		gib = MinimumSizeGiB
	}
	return gib
}

// minGiB is the smallest disk of a category the driver would try for the
// class: with performance levels, cloud_essd is tried once per level, each
// with its own minimum.
func (p Parameters) minGiB(category string) int64 {
	if category == CategoryESSD && len(p.PerformanceLevels) > 0 {
		least := int64(-1)
		for _, l := range p.PerformanceLevels {
			if m := essdLevelMinGiB[l]; least < 0 || m < least {
				least = m
			}
		}
		return least
	}
	return categoryMinGiB[category]
}

// SizeError says that a claim is too small for every disk type its class
// lets the driver try.
type SizeError struct {
	Class      string
	RequestGiB int64
	// Minimums are "category: minimum" for each type.
	Minimums []string
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("requests %dGiB, less than the smallest disk of every type storageclass %s tries (%s)",
		e.RequestGiB, e.Class, strings.Join(e.Minimums, ", "))
}

// ForRequest returns the rule for a claim of the given size (bytes): the
// driver skips the types whose smallest disk is larger than the request, so
// only the others decide which category a node gets. It is a *SizeError when
// no type is left.
func (r ClassRule) ForRequest(bytes int64) (ClassRule, error) {
	p := r.params
	gib := p.RequestGiB(bytes)
	fits := func(i int) bool { return p.minGiB(r.Types[i]) <= gib }
	if !slices.ContainsFunc(r.Types, func(t string) bool { return p.minGiB(t) > gib }) {
		return r, nil
	}
	out := r
	out.Types, out.bits, out.regional = nil, nil, nil
	var minimums []string
	for i, t := range r.Types {
		minimums = append(minimums, fmt.Sprintf("%s: %dGiB", t, p.minGiB(t)))
		if fits(i) {
			out.Types = append(out.Types, t)
			out.bits = append(out.bits, r.bits[i])
			out.regional = append(out.regional, r.regional[i])
		}
	}
	if len(out.Types) == 0 {
		return ClassRule{}, &SizeError{Class: r.className, RequestGiB: gib, Minimums: minimums}
	}
	return out, nil
}
