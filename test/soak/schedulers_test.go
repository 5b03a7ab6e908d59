package soak

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReplicaLeads: a replica leads once client-go's leader election logged
// that it acquired the lease, in the words of the client-go the scheduler is
// built with (1.35 and newer: "Successfully acquired lease").
func TestReplicaLeads(t *testing.T) {
	for _, tc := range []struct {
		log  string
		want bool
	}{
		{log: `I1125 16:11:04.580127 2430 leaderelection.go:272] "Successfully acquired lease" lock="kube-system/volume-topology-scheduler"`, want: true},
		{log: `I1123 10:00:00.000000 1 leaderelection.go:268] successfully acquired lease kube-system/volume-topology-scheduler`, want: true},
		{log: `I1125 16:11:05.282839 2439 leaderelection.go:258] "Attempting to acquire leader lease..." lock="kube-system/volume-topology-scheduler"`},
	} {
		path := filepath.Join(t.TempDir(), "replica.log")
		if err := os.WriteFile(path, []byte(tc.log+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := (&replica{log: path}).leads(); got != tc.want {
			t.Errorf("leads() = %v for log %q, want %v", got, tc.log, tc.want)
		}
	}
}
