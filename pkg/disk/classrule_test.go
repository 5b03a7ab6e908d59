package disk

import (
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
		{name: "zoneId with a trailing comma, node in a listed zone", params: map[string]string{ParamType: CategoryESSD, ParamZoneID: "cn-b,cn-a,"}, node: node("cn-a"), want: Fits},
		{name: "zoneId entry with a space matches no zone", params: map[string]string{ParamType: CategoryESSD, ParamZoneID: "cn-b, cn-a"}, node: node("cn-a"), want: OutsideZoneID},
		{
			name:   "a regional-only class does not read zoneId: conflicting zone labels do not matter",
			params: map[string]string{ParamType: CategoryRegional, ParamZoneID: "cn-a"},
			node:   map[string]string{LabelDriverZone: "cn-a", v1.LabelTopologyZone: "cn-b", v1.LabelTopologyRegion: "cn-r"}, want: Fits,
		},
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

// TestClaimRuleAccess: the driver refuses ReadWriteMany and ReadOnlyMany
// without multi-attach, and ReadWriteMany on a filesystem volume; the rule
// of such a claim is an *AccessError saying so.
func TestClaimRuleAccess(t *testing.T) {
	block, fs := v1.PersistentVolumeBlock, v1.PersistentVolumeFilesystem
	tests := []struct {
		name    string
		multi   *string // the class's multiAttach; nil when absent
		modes   []v1.PersistentVolumeAccessMode
		mode    *v1.PersistentVolumeMode
		wantErr string
	}{
		{name: "ReadWriteMany block, multiAttach true", multi: ptr.To("true"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, mode: &block},
		{name: "ReadWriteMany block, multiAttach ENABLED", multi: ptr.To("ENABLED"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, mode: &block},
		{
			name: "ReadWriteMany block, multiAttach yes", multi: ptr.To("yes"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, mode: &block,
			wantErr: `asks for ReadWriteMany access, which the driver provisions only when storageclass sc sets multiAttach to "true" or "enabled" (it has multiAttach "yes")`,
		},
		{
			name: "ReadOnlyMany filesystem, no multiAttach", modes: []v1.PersistentVolumeAccessMode{v1.ReadOnlyMany}, mode: &fs,
			wantErr: `asks for ReadOnlyMany access, which the driver provisions only when storageclass sc sets multiAttach to "true" or "enabled" (it has no multiAttach)`,
		},
		{name: "ReadOnlyMany filesystem, multiAttach true", multi: ptr.To("true"), modes: []v1.PersistentVolumeAccessMode{v1.ReadOnlyMany}, mode: &fs},
		{name: "ReadWriteMany filesystem", multi: ptr.To("true"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, mode: &fs, wantErr: ErrReasonMultiWriterNeedsBlock},
		{name: "ReadWriteMany, no volume mode (filesystem)", multi: ptr.To("true"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, wantErr: ErrReasonMultiWriterNeedsBlock},
		{name: "ReadWriteOnce, multiAttach with a space: a single-attach disk", multi: ptr.To(" true"), modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, mode: &fs},
		{name: "ReadWriteOncePod", modes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOncePod}, mode: &fs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{ParamType: CategoryESSD}
			if tt.multi != nil {
				params[ParamMultiAttach] = *tt.multi
			}
			p, err := ParseParameters(params)
			if err != nil {
				t.Fatal(err)
			}
			c := Claim{
				Key:    "default/data",
				Class:  &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Parameters: params},
				Params: p,
				PVC: &v1.PersistentVolumeClaim{Spec: v1.PersistentVolumeClaimSpec{
					AccessModes: tt.modes, VolumeMode: tt.mode,
					Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
				}},
			}
			_, err = ClaimRule(&c, DefaultZoneLabelKeys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ae *AccessError
			if !errors.As(err, &ae) || err.Error() != tt.wantErr {
				t.Fatalf("error = %v (%T), want *AccessError %q", err, err, tt.wantErr)
			}
		})
	}
}
