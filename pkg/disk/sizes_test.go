package disk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestForRequest: the driver skips the types whose smallest disk is larger
// than the claim's request (its createDisk), so they do not decide which
// category a node gets.
func TestForRequest(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name    string
		params  map[string]string
		bytes   int64
		want    []string
		wantErr string
	}{
		{name: "20GiB: every type", params: map[string]string{ParamType: "cloud_essd,cloud_auto"}, bytes: 20 * gib, want: []string{CategoryESSD, CategoryESSDAuto}},
		{name: "10GiB: ESSD skipped", params: map[string]string{ParamType: "cloud_essd,cloud_auto"}, bytes: 10 * gib, want: []string{CategoryESSDAuto}},
		{name: "19.5GiB rounds up to 20", params: map[string]string{ParamType: "cloud_essd"}, bytes: 39 * gib / 2, want: []string{CategoryESSD}},
		{
			name: "10GiB of ESSD only: no type", params: map[string]string{ParamType: "cloud_essd"}, bytes: 10 * gib,
			wantErr: "requests 10GiB, less than the smallest disk of every type storageclass sc tries (cloud_essd: 20GiB)",
		},
		{name: "PL0 takes small ESSD disks", params: map[string]string{ParamType: "cloud_essd", ParamPerformanceLevel: "PL0"}, bytes: gib, want: []string{CategoryESSD}},
		{name: "volumeSizeAutoAvailable rounds up to 20GiB", params: map[string]string{ParamType: "cloud_essd", ParamSizeAutoAvailable: "True"}, bytes: gib, want: []string{CategoryESSD}},
		{
			name:   "a small regional disk: the zonal type decides",
			params: map[string]string{ParamType: "cloud_regional_disk_auto,cloud_auto"}, bytes: 5 * gib, want: []string{CategoryESSDAuto},
		},
		{
			name: "default types need 20GiB", params: nil, bytes: 10 * gib,
			wantErr: "requests 10GiB, less than the smallest disk of every type storageclass sc tries (cloud_ssd: 20GiB, cloud_efficiency: 20GiB)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParameters(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewClassRule(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}}, p, DefaultZoneLabelKeys).ForRequest(tt.bytes)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, r.Types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
			f := NodeFacts{}
			if _, regional, ok := r.Category(&f); !ok || regional != IsRegionalType(tt.want[0]) {
				t.Errorf("Category of an undescribed node: regional %v, ok %v; want the first type %s", regional, ok, tt.want[0])
			}
		})
	}
}

func TestParsePerformanceLevel(t *testing.T) {
	if _, err := ParseParameters(map[string]string{ParamPerformanceLevel: "PL1,PL9"}); err == nil || err.Error() != `parameter performanceLevel="PL1,PL9": unknown performance level "PL9" (want PL0, PL1, PL2 or PL3)` {
		t.Errorf("error = %v", err)
	}
	p, err := ParseParameters(map[string]string{ParamPerformanceLevel: "PL2,PL1"})
	if err != nil || !cmp.Equal(p.PerformanceLevels, []string{"PL2", "PL1"}) {
		t.Errorf("PerformanceLevels = %v, %v", p.PerformanceLevels, err)
	}
}
