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
		{name: "zoneid malformed", params: map[string]string{"zoneid": "cn-a,"}, wantErr: `parameter zoneid="cn-a,": empty element in comma list`},
		{
			name:   "zoneid is not read when zoneId is set, even malformed",
			params: map[string]string{"zoneId": "cn-a", "zoneid": ","},
			want:   Parameters{Zones: []string{"cn-a"}, ZoneKey: "zoneId"},
		},
		{
			name:   "types in order, duplicates dropped",
			params: map[string]string{"type": "cloud_essd,cloud_ssd,cloud_essd"},
			want:   Parameters{Types: []string{"cloud_essd", "cloud_ssd"}},
		},
		{name: "multiAttach true", params: map[string]string{"multiAttach": "true"}, want: Parameters{MultiAttach: true}},
		{name: "multiAttach enabled", params: map[string]string{"multiAttach": "Enabled"}, want: Parameters{MultiAttach: true}},
		{name: "multiAttach false", params: map[string]string{"multiAttach": "false"}, want: Parameters{}},
		{name: "multiAttach maybe", params: map[string]string{"multiAttach": "maybe"}, wantErr: `parameter multiAttach="maybe": want "true", "enabled", "false" or "disabled"`},
		{name: "zoneId only commas", params: map[string]string{"zoneId": ",,"}, wantErr: `parameter zoneId=",,": empty element in comma list`},
		{name: "zoneId blank", params: map[string]string{"zoneId": " "}, wantErr: `parameter zoneId=" ": empty element in comma list`},
		{name: "type empty", params: map[string]string{"type": ""}, wantErr: `parameter type="": empty element in comma list`},
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
