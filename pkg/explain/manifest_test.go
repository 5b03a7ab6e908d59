package explain

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestParseWorkloadSkipsOtherKinds: a manifest with a Service, a ConfigMap
// and a custom resource around the lease example places the example's pods
// and names each skipped document in a note.
func TestParseWorkloadSkipsOtherKinds(t *testing.T) {
	data := []byte(`# a comment-only first document
---
apiVersion: v1
kind: Service
metadata:
  name: lease-test
spec:
  clusterIP: None
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: lease-test
spec:
  endpoints: [{port: metrics}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {a: b}
---
`)
	data = append(data, leaseManifest(t)...)
	w, err := ParseWorkload(data, "lease", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Pods) != 3 || w.Pods[2].Name != "lease-test-2" || w.Pods[2].Namespace != "lease" {
		t.Errorf("pods = %d, last %s/%s; want 3, the last lease/lease-test-2", len(w.Pods), w.Pods[len(w.Pods)-1].Namespace, w.Pods[len(w.Pods)-1].Name)
	}
	want := []string{
		fmt.Sprintf(NoteSkipped, 2, "Service", "lease-test"),
		fmt.Sprintf(NoteSkipped, 3, "ServiceMonitor", "lease-test"),
		fmt.Sprintf(NoteSkipped, 4, "ConfigMap", "settings"),
	}
	if !slices.Equal(w.Notes, want) {
		t.Errorf("notes:\n  %q\nwant\n  %q", w.Notes, want)
	}
	if got := w.SchedulerName(); got != "volume-topology-scheduler" {
		t.Errorf("SchedulerName() = %q, want the template's volume-topology-scheduler", got)
	}
}

func TestParseWorkloadErrors(t *testing.T) {
	for name, tt := range map[string]struct {
		data, want string
		is         error
	}{
		"no kind": {
			data: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nmetadata: {name: b}\n",
			want: "document 2: not a Kubernetes object: it has no apiVersion or no kind",
		},
		"not YAML": {
			data: "apiVersion: v1\nkind: [Pod\n",
			want: "document 1: error converting YAML to JSON: yaml: line 2: did not find expected ',' or ']'",
		},
		"unknown field of a kind explain reads": {
			data: "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: i}]\n  nodeSelectr: {}\n",
			want: `document 1 (Pod a): strict decoding error: unknown field "spec.nodeSelectr"`,
		},
		"nothing to place": {
			data: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
			is:   ErrNoPods,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseWorkload([]byte(tt.data), "default", -1)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("error %q, want %q", err, tt.is)
			case tt.is == nil && err.Error() != tt.want:
				t.Errorf("error\n  %q\nwant\n  %q", err, tt.want)
			}
		})
	}
}
