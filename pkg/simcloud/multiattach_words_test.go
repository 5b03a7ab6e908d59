//go:build !kube1.35 && !kube1.36

package simcloud

import "testing"

// Kubernetes 1.37's attach-detach controller words (pkg/controller/volume/
// attachdetach/reconciler).
func TestMultiAttachWords(t *testing.T) {
	want := `Waiting for detach for volume "pv-1" Volume is already exclusively attached to one node, waiting on detach before it can be attached to another node`
	if got := MultiAttachMessage("pv-1", "default", nil); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
