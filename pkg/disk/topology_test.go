package disk

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pvWithAffinity(terms ...v1.NodeSelectorTerm) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv"},
		Spec:       v1.PersistentVolumeSpec{NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: terms}}},
	}
}

func zoneTerm(key string, zones ...string) v1.NodeSelectorTerm {
	return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: key, Operator: v1.NodeSelectorOpIn, Values: zones}}}
}

func TestPVTopologyAdmits(t *testing.T) {
	tests := []struct {
		name  string
		pv    *v1.PersistentVolume
		node  NodeView
		admit bool
		zones []string
	}{
		{
			name:  "driver key affinity, node zone from legacy label",
			pv:    pvWithAffinity(zoneTerm(LabelDriverZone, "cn-a")),
			node:  NodeView{Name: "n", Zone: "cn-a", Labels: map[string]string{v1.LabelFailureDomainBetaZone: "cn-a"}},
			admit: true, zones: []string{"cn-a"},
		},
		{
			name: "driver key affinity, other zone",
			pv:   pvWithAffinity(zoneTerm(LabelDriverZone, "cn-a")),
			node: NodeView{Name: "n", Zone: "cn-b"}, admit: false, zones: []string{"cn-a"},
		},
		{
			name: "legacy zone label on a static PV, several zones",
			pv:   &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", Labels: map[string]string{v1.LabelFailureDomainBetaZone: "cn-a__cn-b"}}},
			node: NodeView{Name: "n", Zone: "cn-b"}, admit: true, zones: []string{"cn-a", "cn-b"},
		},
		{
			name: "region-only affinity of a regional disk",
			pv:   pvWithAffinity(zoneTerm(v1.LabelTopologyRegion, "cn-r")),
			node: NodeView{Name: "n", Zone: "cn-b", Region: "cn-r"}, admit: true,
		},
		{
			name: "hostname affinity of a local PV",
			pv:   pvWithAffinity(zoneTerm(v1.LabelHostname, "node-1")),
			node: NodeView{Name: "node-2", Labels: map[string]string{v1.LabelHostname: "node-2"}}, admit: false,
		},
		{
			name: "node without zone fails a zone term",
			pv:   pvWithAffinity(zoneTerm(v1.LabelTopologyZone, "cn-a")),
			node: NodeView{Name: "n"}, admit: false, zones: []string{"cn-a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, err := PVTopology(tt.pv, DefaultZoneLabelKeys)
			if err != nil {
				t.Fatal(err)
			}
			if got := top.Admits(tt.node); got != tt.admit {
				t.Errorf("Admits = %v, want %v", got, tt.admit)
			}
			zones, _ := top.ZoneSet()
			if diff := cmp.Diff(tt.zones, zones); diff != "" {
				t.Errorf("ZoneSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPVTopologyErrors(t *testing.T) {
	tests := []struct {
		name string
		pv   *v1.PersistentVolume
		want string
	}{
		{name: "no terms", pv: pvWithAffinity(), want: "unusable node affinity: it has no node selector term, so it matches no node"},
		{name: "only empty terms", pv: pvWithAffinity(v1.NodeSelectorTerm{}), want: "unusable node affinity: it has no node selector term, so it matches no node"},
		{name: "bad field key", pv: pvWithAffinity(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{{Key: "spec.x", Operator: v1.NodeSelectorOpIn, Values: []string{"a"}}}}), want: `unusable node affinity: unsupported field selector key "spec.x"`},
		{name: "empty zone label", pv: &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1.LabelTopologyZone: "__"}}}, want: "empty zone label " + v1.LabelTopologyZone},
		{name: "zone labels disagree", pv: &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1.LabelTopologyZone: "cn-a", v1.LabelFailureDomainBetaZone: "cn-b"}}}, want: "its zone labels allow no zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PVTopology(tt.pv, DefaultZoneLabelKeys)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestClassTopologyAliases(t *testing.T) {
	sc := &storagev1.StorageClass{AllowedTopologies: []v1.TopologySelectorTerm{{
		MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: v1.LabelTopologyZone, Values: []string{"cn-a"}}},
	}}}
	allowed, zoneIDs := ClassTopology(sc, Parameters{Zones: []string{"cn-a", "cn-b"}}, DefaultZoneLabelKeys)
	// The node carries only the driver's key; the standard key in the class is an alias.
	node := NodeView{Name: "n", Zone: "cn-a", Labels: map[string]string{LabelDriverZone: "cn-a"}}
	if !allowed.Admits(node) {
		t.Error("allowedTopologies on topology.kubernetes.io/zone must match a node labelled only with the driver's key")
	}
	if allowed.Admits(NodeView{Name: "n", Zone: "cn-b"}) {
		t.Error("cn-b is not allowed")
	}
	if diff := cmp.Diff([]string{"cn-a", "cn-b"}, zoneIDs); diff != "" {
		t.Errorf("zoneIDs (-want +got):\n%s", diff)
	}
}
