package simcloud

import (
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestMultiAttach: the exported reading gives the driver's multi-attach
// outcome for every spelling of the conformance table.
func TestMultiAttach(t *testing.T) {
	for _, tt := range conformanceTable {
		if tt.driver.err != "" {
			continue
		}
		if got := MultiAttach(tt.params); got != tt.driver.multi {
			t.Errorf("%s: MultiAttach = %v, want %v", tt.name, got, tt.driver.multi)
		}
	}
}

// TestProvisionFor: the volume saved for a claim on a node in the class's
// zones, the ConflictingZone message for a node outside them, and the
// driver's and the provisioner's refusals.
func TestProvisionFor(t *testing.T) {
	params := map[string]string{disk.ParamType: disk.CategoryESSD, disk.ParamZoneIDLower: "cn-a,", disk.ParamMultiAttach: "Enabled"}
	pvc := auditClaim("data", []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}, v1.PersistentVolumeBlock)
	node := auditNode("n", "cn-a")

	pv, conflict, err := ProvisionFor(&pvc, classOf(params), &node, "d-1")
	if err != nil || conflict != "" {
		t.Fatalf("ProvisionFor = %v, %q", err, conflict)
	}
	if pv.Name != "d-1" || pv.Spec.CSI.VolumeHandle != "d-1" || pv.Spec.ClaimRef.Name != "data" || pv.Spec.CSI.VolumeAttributes[disk.ParamMultiAttach] != "true" {
		t.Errorf("volume %s, handle %s, claim %s, attributes %v", pv.Name, pv.Spec.CSI.VolumeHandle, pv.Spec.ClaimRef.Name, pv.Spec.CSI.VolumeAttributes)
	}
	if got := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]; got.Key != disk.LabelDriverZone || len(got.Values) != 1 || got.Values[0] != "cn-a" {
		t.Errorf("node affinity %v, want %s in [cn-a]", got, disk.LabelDriverZone)
	}

	outside := auditNode("m", "cn-b")
	if _, conflict, err = ProvisionFor(&pvc, classOf(params), &outside, "d-2"); err != nil || conflict != "conflicting zone, parameters specified: cn-a,, accessibility requires: [cn-b]" {
		t.Errorf("outside the class's zones: %v, conflict %q", err, conflict)
	}

	params[disk.ParamMultiAttach] = " true" // off: ReadWriteMany is refused
	if _, _, err = ProvisionFor(&pvc, classOf(params), &node, "d-3"); err == nil || err.Error() != "multiAttach is required for this access mode" {
		t.Errorf("ReadWriteMany without multi-attach: %v", err)
	}

	other := classOf(nil)
	other.Provisioner = "example.com/other"
	if _, _, err = ProvisionFor(&pvc, other, &node, "d-4"); err == nil || err.Error() != "storageclass sc is provisioned by example.com/other, not the simulated driver" {
		t.Errorf("another driver's class: %v", err)
	}
}
