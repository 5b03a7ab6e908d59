package disk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	storagev1 "k8s.io/api/storage/v1"
)

func TestParseParameters(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		want    Parameters
		wantErr string
	}{
		{name: "nothing set: the driver's default types", params: nil, want: Parameters{}},
		{name: "type available: the driver's default types", params: map[string]string{"type": "available"}, want: Parameters{}},
		{
			name: "available in a list is refused, as by the driver", params: map[string]string{"type": "cloud_essd,available"},
			wantErr: `parameter type="cloud_essd,available": "available" stands only alone, for the driver's default types`,
		},
		{name: "the shared-disk categories the driver dropped", params: map[string]string{"type": "san_ssd"}, wantErr: `parameter type="san_ssd": unknown disk category "san_ssd"`},
		{
			name:   "zoneId with spaces around commas: kept, as the driver compares them",
			params: map[string]string{"zoneId": "cn-a, cn-b ,cn-c"},
			want:   Parameters{Zones: []string{"cn-a", " cn-b ", "cn-c"}, ZoneKey: "zoneId"},
		},
		{
			name: "type with spaces around commas: refused, as by the driver", params: map[string]string{"type": "cloud_essd, cloud_ssd"},
			wantErr: `parameter type="cloud_essd, cloud_ssd": disk category " cloud_ssd" has spaces around it, which the driver does not trim`,
		},
		{
			name:   "zoneid, the driver's fallback key",
			params: map[string]string{"zoneid": "cn-b"},
			want:   Parameters{Zones: []string{"cn-b"}, ZoneKey: "zoneid"},
		},
		{
			name:   "zoneId wins over zoneid",
			params: map[string]string{"zoneId": "cn-a", "zoneid": "cn-b"},
			want:   Parameters{Zones: []string{"cn-a"}, ZoneKey: "zoneId"},
		},
		{
			name:   "zoneid with a trailing comma: the empty entry does no harm",
			params: map[string]string{"zoneid": "cn-a,"},
			want:   Parameters{Zones: []string{"cn-a"}, ZoneKey: "zoneid"},
		},
		{
			name:   "zoneid is not read when zoneId is set, even empty",
			params: map[string]string{"zoneId": "cn-a", "zoneid": ","},
			want:   Parameters{Zones: []string{"cn-a"}, ZoneKey: "zoneId"},
		},
		{
			name:    "an empty zoneId wins over zoneid, and names no zone",
			params:  map[string]string{"zoneId": "", "zoneid": "cn-b"},
			wantErr: `parameter zoneId="": ` + ReasonNoZoneInList,
		},
		{
			name:   "zoneId with empty entries and repeats",
			params: map[string]string{"zoneId": ",cn-a,,cn-b,cn-a,"},
			want:   Parameters{Zones: []string{"cn-a", "cn-b"}, ZoneKey: "zoneId"},
		},
		{
			name:   "types in order, duplicates dropped",
			params: map[string]string{"type": "cloud_essd,cloud_ssd,cloud_essd"},
			want:   Parameters{Types: []string{"cloud_essd", "cloud_ssd"}},
		},
		{name: "multiAttach true", params: map[string]string{"multiAttach": "true"}, want: Parameters{MultiAttach: true}},
		{name: "multiAttach Enabled", params: map[string]string{"multiAttach": "Enabled"}, want: Parameters{MultiAttach: true}},
		{name: "multiAttach TRUE", params: map[string]string{"multiAttach": "TRUE"}, want: Parameters{MultiAttach: true}},
		{name: "multiAttach false", params: map[string]string{"multiAttach": "false"}, want: Parameters{}},
		{name: "multiAttach maybe: off, no error", params: map[string]string{"multiAttach": "maybe"}, want: Parameters{}},
		{name: "multiAttach yes: off, no error", params: map[string]string{"multiAttach": "yes"}, want: Parameters{}},
		{name: "multiAttach 1: off, no error", params: map[string]string{"multiAttach": "1"}, want: Parameters{}},
		{name: "multiAttach with a space: off, the driver does not trim", params: map[string]string{"multiAttach": " true"}, want: Parameters{}},
		{name: "zoneId only commas", params: map[string]string{"zoneId": ",,"}, wantErr: `parameter zoneId=",,": ` + ReasonNoZoneInList},
		{
			name:   "zoneId only commas with a regional type: not read",
			params: map[string]string{"type": "cloud_regional_disk_auto", "zoneId": ",,"},
			want:   Parameters{Types: []string{CategoryRegional}, Zones: []string{}, ZoneKey: "zoneId"},
		},
		{name: "zoneId blank: kept verbatim, matches no zone", params: map[string]string{"zoneId": " "}, want: Parameters{Zones: []string{" "}, ZoneKey: "zoneId"}},
		{name: "type empty", params: map[string]string{"type": ""}, wantErr: `parameter type="": empty element in comma list`},
		{name: "type with a trailing comma", params: map[string]string{"type": "cloud_essd,"}, wantErr: `parameter type="cloud_essd,": empty element in comma list`},
		{name: "type in capitals", params: map[string]string{"type": "CLOUD_ESSD"}, wantErr: `parameter type="CLOUD_ESSD": unknown disk category "CLOUD_ESSD"`},
		{name: "performanceLevel with a trailing comma", params: map[string]string{"performanceLevel": "PL1,"}, wantErr: `parameter performanceLevel="PL1,": empty element in comma list`},
		{name: "performanceLevel in lower case", params: map[string]string{"performanceLevel": "pl1"}, wantErr: `parameter performanceLevel="pl1": unknown performance level "pl1" (want PL0, PL1, PL2 or PL3)`},
		{name: "performanceLevel repeated", params: map[string]string{"performanceLevel": "PL1,PL1"}, want: Parameters{PerformanceLevels: []string{"PL1"}}},
		{name: "unknown type", params: map[string]string{"type": "cloud_essd,cloud_magic"}, wantErr: `parameter type="cloud_essd,cloud_magic": unknown disk category "cloud_magic"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr == "" && tt.want.Types == nil {
				tt.want.Types, tt.want.DefaultTypes = []string{CategorySSD, CategoryEfficiency}, true
			}
			got, err := ParseParameters(tt.params)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassRuleCategory(t *testing.T) {
	classifier := NewNodeClassifier(DefaultZoneLabelKeys, DefaultNVMeInstanceFamilies, LabelNVMeMultiAttach)
	offers := func(types ...string) NodeFacts {
		l := map[string]string{}
		for _, t := range types {
			l[DiskTypeLabel(t)] = DiskTypeAvailable
		}
		return classifier.Describe(l)
	}
	rule := func(params map[string]string) ClassRule {
		p, err := ParseParameters(params)
		if err != nil {
			t.Fatal(err)
		}
		return NewClassRule(&storagev1.StorageClass{}, p, DefaultZoneLabelKeys)
	}
	tests := []struct {
		name     string
		rule     ClassRule
		node     NodeFacts
		want     string
		regional bool
		ok       bool
	}{
		{name: "undescribed node gets the first type", rule: rule(map[string]string{"type": "cloud_regional_disk_auto,cloud_essd"}), node: offers(), want: CategoryRegional, regional: true, ok: true},
		{name: "the first type the node offers", rule: rule(map[string]string{"type": "cloud_regional_disk_auto,cloud_essd"}), node: offers(CategoryESSD), want: CategoryESSD, ok: true},
		{name: "no type: the driver's defaults, in order", rule: rule(nil), node: offers(CategoryEfficiency, CategorySSD), want: CategorySSD, ok: true},
		{name: "no type, ESSD-only node", rule: rule(nil), node: offers(CategoryESSD, CategoryESSDAuto)},
		{name: "available, efficiency node", rule: rule(map[string]string{"type": "available"}), node: offers(CategoryEfficiency), want: CategoryEfficiency, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, regional, ok := tt.rule.Category(&tt.node)
			if got != tt.want || regional != tt.regional || ok != tt.ok {
				t.Errorf("Category = %q, %v, %v; want %q, %v, %v", got, regional, ok, tt.want, tt.regional, tt.ok)
			}
		})
	}
}
