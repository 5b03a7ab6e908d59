package disk

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestZoneOf(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		want     string
		conflict bool
	}{
		{name: "no labels", want: ""},
		{name: "driver key only", labels: map[string]string{LabelDriverZone: "cn-a"}, want: "cn-a"},
		{name: "legacy key only", labels: map[string]string{v1.LabelFailureDomainBetaZone: "cn-b"}, want: "cn-b"},
		{name: "aliases agree", labels: map[string]string{LabelDriverZone: "cn-a", v1.LabelTopologyZone: "cn-a"}, want: "cn-a"},
		{name: "aliases disagree: preferred wins, with error", labels: map[string]string{LabelDriverZone: "cn-a", v1.LabelTopologyZone: "cn-b"}, want: "cn-a", conflict: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ZoneOf(tt.labels, DefaultZoneLabelKeys)
			if got != tt.want || (err != nil) != tt.conflict {
				t.Errorf("ZoneOf = %q, %v; want %q, conflict %v", got, err, tt.want, tt.conflict)
			}
		})
	}
}

func TestInstanceFamily(t *testing.T) {
	for in, want := range map[string]string{
		"ecs.g7se.xlarge":   "g7se",
		"ecs.g6.large":      "g6",
		"ecs.ebmg7se.32xl":  "ebmg7se",
		"ecs.c8y":           "c8y",
		"":                  "",
		"g7se.xlarge":       "g7se",
		"ecs.r8i.2xlarge.x": "r8i",
	} {
		if got := InstanceFamily(in); got != want {
			t.Errorf("InstanceFamily(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNVMe(t *testing.T) {
	c := NewNodeClassifier(DefaultZoneLabelKeys, DefaultNVMeInstanceFamilies, LabelNVMeMultiAttach)
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
		why    string
	}{
		{name: "g7se passes", labels: map[string]string{v1.LabelInstanceTypeStable: "ecs.g7se.xlarge"}, want: true, why: "instance family g7se supports NVMe multi-attach"},
		{name: "legacy instance type label", labels: map[string]string{LabelInstanceTypeBeta: "ecs.c8y.large"}, want: true, why: "instance family c8y supports NVMe multi-attach"},
		{name: "g6 fails", labels: map[string]string{v1.LabelInstanceTypeStable: "ecs.g6.large"}, want: false, why: "instance type ecs.g6.large (family g6) does not support NVMe multi-attach"},
		{name: "label false beats the family list", labels: map[string]string{v1.LabelInstanceTypeStable: "ecs.g7se.xlarge", LabelNVMeMultiAttach: "false"}, want: false, why: "label " + LabelNVMeMultiAttach + "=false"},
		{name: "label true beats an unknown family", labels: map[string]string{v1.LabelInstanceTypeStable: "ecs.zz9.large", LabelNVMeMultiAttach: "true"}, want: true, why: "label " + LabelNVMeMultiAttach + "=true"},
		{name: "no instance type fails", labels: map[string]string{}, want: false, why: "node has no instance type label"},
		{name: "malformed label is not trusted", labels: map[string]string{v1.LabelInstanceTypeStable: "ecs.g7se.xlarge", LabelNVMeMultiAttach: "yes"}, want: false, why: `label ` + LabelNVMeMultiAttach + ` has invalid value "yes" (want true or false)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := c.NVMe(tt.labels)
			if got != tt.want || why != tt.why {
				t.Errorf("NVMe = %v, %q; want %v, %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	c := NewNodeClassifier(DefaultZoneLabelKeys, DefaultNVMeInstanceFamilies, LabelNVMeMultiAttach)
	f := c.Describe(map[string]string{
		v1.LabelTopologyZone:          "cn-a",
		v1.LabelFailureDomainBetaZone: "cn-b",
		v1.LabelTopologyRegion:        "cn-r",
		DiskTypeLabel(CategoryESSD):   DiskTypeAvailable,
	})
	if f.Zone != "cn-a" || f.ZoneConflict == "" || f.Region != "cn-r" || !f.DescribesDiskTypes || f.NVMe {
		t.Errorf("unexpected facts %+v", f)
	}
	if f := c.Describe(map[string]string{v1.LabelTopologyZone: "cn-a"}); f.DescribesDiskTypes || f.ZoneConflict != "" {
		t.Errorf("a node without disk-type labels does not describe them: %+v", f)
	}
}

func TestCategorySetNames(t *testing.T) {
	s := CategoryBit(CategoryESSD) | CategoryBit(CategorySSD) | CategoryBit("no-such-category")
	if got := s.Names(); len(got) != 2 || got[0] != CategorySSD || got[1] != CategoryESSD {
		t.Errorf("Names() = %v, want [%s %s]", got, CategorySSD, CategoryESSD)
	}
	if got := CategorySet(0).Names(); got != nil {
		t.Errorf("empty set Names() = %v", got)
	}
}

// TestDiskTypesOf: like the driver, a category is offered when its label is
// present, whatever the value; unknown categories are ignored.
func TestDiskTypesOf(t *testing.T) {
	got, described := DiskTypesOf(map[string]string{
		DiskTypeLabel(CategoryESSD):     DiskTypeAvailable,
		DiskTypeLabel(CategorySSD):      "",
		DiskTypeLabel(CategoryESSDAuto): "false",
		DiskTypeLabel("cloud_magic"):    DiskTypeAvailable,
	})
	want := CategoryBit(CategoryESSD) | CategoryBit(CategorySSD) | CategoryBit(CategoryESSDAuto)
	if got != want || !described {
		t.Errorf("DiskTypesOf = %b, %v; want %b, true", got, described, want)
	}
}
