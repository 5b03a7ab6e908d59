//go:build kube1.35 || kube1.36

package simcloud

import "testing"

// Kubernetes 1.35's and 1.36's attach-detach controller words (pkg/
// controller/volume/attachdetach/reconciler).
func TestMultiAttachWords(t *testing.T) {
	want := `Multi-Attach error for volume "pv-1" Volume is already exclusively attached to one node and can't be attached to another`
	if got := MultiAttachMessage("pv-1", "default", nil); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
