package soak

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

func TestClassifyMultiAttach(t *testing.T) {
	readyNode := func(name, zone string) *v1.Node {
		return &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{disk.LabelDriverZone: zone}},
			Status:     v1.NodeStatus{Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}},
		}
	}
	cordoned := readyNode("x", ZoneA)
	cordoned.Spec.Unschedulable = true
	notReady := readyNode("x", ZoneA)
	notReady.Status.Conditions[0].Status = v1.ConditionFalse
	tainted := readyNode("x", ZoneA)
	tainted.Spec.Taints = []v1.Taint{{Key: "node.kubernetes.io/out-of-service", Effect: v1.TaintEffectNoExecute}}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec: v1.PersistentVolumeSpec{NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{ZoneA}}},
		}}}}},
	}
	other := func(o simcloud.OtherAttachment) simcloud.MultiAttachError {
		return simcloud.MultiAttachError{Pod: "ns/p-1", Node: "y", Disk: "d-1", Volume: "pv-1", Others: []simcloud.OtherAttachment{o}}
	}
	args := volumetopology.DefaultArgs()
	for _, tc := range []struct {
		name       string
		e          simcloud.MultiAttachError
		pv         *v1.PersistentVolume
		kind, want string
	}{
		{"in use", other(simcloud.OtherAttachment{Node: "x", UsedBy: []string{"ns/p-0"}, NodeObject: readyNode("x", ZoneA)}), pv,
			MultiAttachInUse, "pod ns/p-1 placed on y while ns/p-0 use(s) disk d-1 on x"},
		{"attached, fits", other(simcloud.OtherAttachment{Node: "x", NodeObject: readyNode("x", ZoneA)}), pv,
			MultiAttachAttachedFits, "pod ns/p-1 placed on y while disk d-1 stayed attached to x, which still fits"},
		{"attached, terminating user", other(simcloud.OtherAttachment{Node: "x", Terminating: []string{"ns/p-0"}, NodeObject: readyNode("x", ZoneA)}), pv,
			MultiAttachAttachedFits, "pod ns/p-1 placed on y while disk d-1 stayed attached to x, which still fits"},
		{"attached, node gone", other(simcloud.OtherAttachment{Node: "x"}), pv,
			MultiAttachAttachedNoFit, "pod ns/p-1 placed on y while disk d-1 is attached to x (no Node object)"},
		{"attached, cordoned", other(simcloud.OtherAttachment{Node: "x", NodeObject: cordoned}), pv,
			MultiAttachAttachedNoFit, "pod ns/p-1 placed on y while disk d-1 is attached to x (cordoned)"},
		{"attached, not ready", other(simcloud.OtherAttachment{Node: "x", NodeObject: notReady}), pv,
			MultiAttachAttachedNoFit, "pod ns/p-1 placed on y while disk d-1 is attached to x (not Ready)"},
		{"attached, tainted", other(simcloud.OtherAttachment{Node: "x", NodeObject: tainted}), pv,
			MultiAttachAttachedNoFit, "pod ns/p-1 placed on y while disk d-1 is attached to x (taint node.kubernetes.io/out-of-service)"},
		{"attached, relabelled out of the disk's zone", other(simcloud.OtherAttachment{Node: "x", NodeObject: readyNode("x", ZoneB)}), pv,
			MultiAttachAttachedNoFit, "pod ns/p-1 placed on y while disk d-1 is attached to x (outside the topology of persistentvolume pv-1)"},
		{"attached, volume unknown", other(simcloud.OtherAttachment{Node: "x", NodeObject: readyNode("x", ZoneB)}), nil,
			MultiAttachAttachedFits, "pod ns/p-1 placed on y while disk d-1 stayed attached to x, which still fits"},
		{"detaching", other(simcloud.OtherAttachment{Node: "x", Detaching: true, NodeObject: readyNode("x", ZoneA)}), pv,
			MultiAttachDetaching, "pod ns/p-1 placed on y while disk d-1 detaches from x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, detail := classifyMultiAttach(tc.e, tc.pv, args)
			if kind != tc.kind || detail != tc.want {
				t.Errorf("got %q: %q\nwant %q: %q", kind, detail, tc.kind, tc.want)
			}
		})
	}
}

// Failures name the kinds that must not happen, and only those.
func TestMultiAttachFailures(t *testing.T) {
	r := &Result{
		MultiAttach: map[string]int{MultiAttachDetaching: 3, MultiAttachAttachedNoFit: 1},
		MultiAttachDetails: map[string][]string{
			MultiAttachDetaching: {"a"}, MultiAttachAttachedNoFit: {"b"},
		},
	}
	if f := r.Failures(); len(f) != 0 {
		t.Errorf("failures %q, want none", f)
	}
	r.MultiAttach[MultiAttachAttachedFits] = 2
	r.MultiAttachDetails[MultiAttachAttachedFits] = []string{"at 5s: x"}
	want := "2 Multi-Attach error(s) with the disk " + MultiAttachAttachedFits + ", e.g. at 5s: x"
	if f := r.Failures(); len(f) != 1 || f[0] != want {
		t.Errorf("failures %q, want [%q]", f, want)
	}
}
