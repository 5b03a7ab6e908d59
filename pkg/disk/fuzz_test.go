package disk

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseParameters: no input panics, and whatever parses obeys the
// parameters' invariants: multiAttach is never an error and reads as the
// driver's lower-case comparison, zones are the non-empty comma entries,
// each once, verbatim. Seeds are in testdata/fuzz/FuzzParseParameters.
func FuzzParseParameters(f *testing.F) {
	f.Add("cloud_essd,cloud_ssd", "cn-a, cn-b", "true")
	f.Fuzz(func(t *testing.T, typ, zones, multi string) {
		p, err := ParseParameters(map[string]string{ParamType: typ, ParamZoneID: zones, ParamMultiAttach: multi})
		if err != nil {
			pe, ok := err.(*ParameterError)
			if !ok {
				t.Fatalf("error of type %T, want *ParameterError", err)
			}
			if pe.Parameter == ParamMultiAttach {
				t.Fatalf("multiAttach %q refused: the driver never refuses it", multi)
			}
			return
		}
		if len(p.Types) == 0 {
			t.Fatalf("parsed a present type to an empty list: %+v", p)
		}
		if p.Zones == nil || p.ZoneKey != ParamZoneID {
			t.Fatalf("zoneId %q present but not read: %+v", zones, p)
		}
		for i, z := range p.Zones {
			if z == "" || strings.Contains(z, ",") || !slices.Contains(strings.Split(zones, ","), z) || slices.Index(p.Zones, z) != i {
				t.Fatalf("zone %q empty, not split, not verbatim or repeated in %q", z, zones)
			}
		}
		for _, c := range p.Types {
			if !IsKnownCategory(c) {
				t.Fatalf("unknown category %q accepted", c)
			}
		}
		if want := strings.EqualFold(multi, "true") || strings.EqualFold(multi, "enabled"); p.MultiAttach != want {
			t.Fatalf("multiAttach %q read as %v, want %v", multi, p.MultiAttach, want)
		}
	})
}

// FuzzDescribe: no node labels panic the classifier, and its facts agree
// with the label readers. Seeds are in testdata/fuzz/FuzzDescribe.
func FuzzDescribe(f *testing.F) {
	f.Add("cn-a", "cn-a", "", "ecs.g7se.xlarge", "", "cloud_essd", "available")
	c := NewNodeClassifier(DefaultZoneLabelKeys, DefaultNVMeInstanceFamilies, LabelNVMeMultiAttach)
	f.Fuzz(func(t *testing.T, driverZone, zone, legacyZone, instanceType, nvmeLabel, diskType, diskTypeValue string) {
		labels := map[string]string{
			LabelDriverZone: driverZone, "topology.kubernetes.io/zone": zone, "failure-domain.beta.kubernetes.io/zone": legacyZone,
			"node.kubernetes.io/instance-type": instanceType, DiskTypeLabel(diskType): diskTypeValue,
		}
		if nvmeLabel != "" {
			labels[LabelNVMeMultiAttach] = nvmeLabel
		}
		facts := c.Describe(labels)
		z, err := ZoneOf(labels, DefaultZoneLabelKeys)
		if facts.Zone != z || (err != nil) != (facts.ZoneConflict != "") {
			t.Fatalf("facts %+v disagree with ZoneOf = %q, %v", facts, z, err)
		}
		if facts.NVMe && nvmeLabel != "" && nvmeLabel != "true" {
			t.Fatalf("label %q must not make a node NVMe-capable", nvmeLabel)
		}
		if !facts.DescribesDiskTypes {
			t.Fatal("a node with a disk-type label describes its disk types")
		}
		if facts.NVMeWhy == "" {
			t.Fatal("NVMe facts must say why")
		}
	})
}
