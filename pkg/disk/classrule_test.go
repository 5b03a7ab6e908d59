package disk

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClassRuleCheck(t *testing.T) {
	classifier := NewNodeClassifier(DefaultZoneLabelKeys, DefaultNVMeInstanceFamilies, LabelNVMeMultiAttach)
	node := func(zone string, types ...string) map[string]string {
		l := map[string]string{v1.LabelTopologyRegion: "cn-r"}
		if zone != "" {
			l[LabelDriverZone] = zone
		}
		for _, t := range types {
			l[DiskTypeLabel(t)] = DiskTypeAvailable
		}
		return l
	}
	tests := []struct {
		name   string
		params map[string]string
		node   map[string]string
		want   Verdict
	}{
		{name: "zonal type, node in a zone", params: map[string]string{ParamType: CategoryESSD}, node: node("cn-a"), want: Fits},
		{name: "zonal type, node without a zone", params: map[string]string{ParamType: CategoryESSD}, node: node(""), want: NoZone},
		{name: "regional type, node without a zone", params: map[string]string{ParamType: CategoryRegional}, node: node(""), want: Fits},
		{
			name:   "regional first but the node offers only the zonal one",
			params: map[string]string{ParamType: CategoryRegional + "," + CategoryESSD},
			node:   node("", CategoryESSD), want: NoZone,
		},
		{name: "zoneId excludes the zone", params: map[string]string{ParamType: CategoryESSD, ParamZoneID: "cn-b"}, node: node("cn-a"), want: OutsideZoneID},
		{name: "zoneId, node without a zone", params: map[string]string{ParamType: CategoryESSD, ParamZoneID: "cn-b"}, node: node(""), want: NoZone},
		{name: "zoneId does not bind a regional disk", params: map[string]string{ParamType: CategoryRegional, ParamZoneID: "cn-b"}, node: node("cn-a"), want: Fits},
		{name: "no offered type", params: map[string]string{ParamType: CategoryESSD}, node: node("cn-a", CategorySSD), want: NoOfferedType},
		{
			name:   "conflicting zone labels with a zoneId",
			params: map[string]string{ParamType: CategoryESSD, ParamZoneID: "cn-a"},
			node:   map[string]string{LabelDriverZone: "cn-a", v1.LabelTopologyZone: "cn-b"}, want: ZoneLabelsConflict,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParameters(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Parameters: tt.params}
			r := NewClassRule(sc, p, DefaultZoneLabelKeys)
			f := classifier.Describe(tt.node)
			if got := r.Check(&f, NodeView{Name: "n", Zone: f.Zone, Region: f.Region, Labels: tt.node}); got != tt.want {
				t.Errorf("Check = %v (%d), want %v (%d)", got, got, tt.want, tt.want)
			}
		})
	}
}
