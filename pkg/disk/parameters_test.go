package disk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseParameters(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		want    Parameters
		wantErr string
	}{
		{name: "nothing set", params: nil, want: Parameters{}},
		{
			name:   "zoneId with spaces around commas",
			params: map[string]string{"zoneId": "cn-a, cn-b ,cn-c"},
			want:   Parameters{Zones: []string{"cn-a", "cn-b", "cn-c"}, ZoneKey: "zoneId"},
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

func TestRegional(t *testing.T) {
	p := Parameters{Types: []string{CategoryRegional, CategoryESSD}}
	if !p.Regional(nil) {
		t.Error("a node that does not describe disk types gets the first type, regional")
	}
	onlyESSD := func(c string) bool { return c == CategoryESSD }
	if p.Regional(onlyESSD) {
		t.Error("a node offering only cloud_essd gets a zonal disk")
	}
	if (Parameters{Types: []string{CategoryESSD}}).Regional(nil) {
		t.Error("cloud_essd is not regional")
	}
}
