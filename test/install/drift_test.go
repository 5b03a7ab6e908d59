package install

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// The kustomize install and the Helm chart are two sources of the same
// objects. TestHelmMatchesKustomize renders both for every minor, the chart
// with its default values as release volume-topology-scheduler in the
// namespace volume-topology-system, and fails on any difference except these,
// which the README's Helm section lists:
var (
	// helmLabels are the labels the chart adds to every object, and to the
	// selectors (app.kubernetes.io/instance), so that two releases never
	// select each other's pods. They are removed wherever they appear.
	helmLabels = []string{"app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"}
	// checksumAnnotation on the chart's pod template rolls the pods when
	// helm upgrade changes the configuration.
	checksumAnnotation = "checksum/config"
	// The chart installs into the release namespace (helm install
	// --namespace volume-topology-system --create-namespace), so it has no
	// Namespace object; kustomize installs the Namespace with its Pod
	// Security label.
	onlyKustomize = []string{"Namespace//" + namespace}
	// The scheduler configuration (the ConfigMap key config.yaml) is
	// compared as YAML data: comments and the order of keys may differ.
	configKey = "config.yaml"
)

func TestHelmMatchesKustomize(t *testing.T) {
	for _, minor := range kubeMinors(t) {
		t.Run(minor, func(t *testing.T) {
			fromHelm := normalize(t, helmTemplate(t, minor), true)
			fromKustomize := normalize(t, decodeObjects(t, "kustomize build", kustomizeBuild(t, overlayDir(minor))), false)
			for _, id := range onlyKustomize {
				if _, ok := fromKustomize[id]; !ok {
					t.Errorf("kustomize does not install %s: update onlyKustomize", id)
				}
				delete(fromKustomize, id)
			}
			if diff := cmp.Diff(fromKustomize, fromHelm); diff != "" {
				t.Errorf("the Helm chart and the kustomize overlay k8s%s install different objects (-kustomize +helm):\n%s", minor, diff)
			}
			// Both name the build of this minor.
			d := fromHelm["Deployment/"+namespace+"/"+releaseName]
			if d == nil {
				t.Fatalf("no Deployment %s/%s; objects: %v", namespace, releaseName, slices.Sorted(maps.Keys(fromHelm)))
			}
			if got := containerImage(t, d); got != imageFor(t, minor) {
				t.Errorf("image %s, want %s", got, imageFor(t, minor))
			}
		})
	}
}

// normalize keys the objects by kind/namespace/name, parses the scheduler
// configuration, and for the chart's objects removes the differences listed
// above, checking that they are there (so the list stays true).
func normalize(t *testing.T, objs []object, helm bool) map[string]object {
	t.Helper()
	out := map[string]object{}
	for _, o := range objs {
		if _, dup := out[o.id()]; dup {
			t.Fatalf("%s rendered twice", o.id())
		}
		out[o.id()] = o
		if o.kind() == "ConfigMap" {
			data, _ := get(o, "data").(map[string]any)
			if s, ok := data[configKey].(string); ok {
				var parsed any
				if err := yaml.Unmarshal([]byte(s), &parsed); err != nil {
					t.Fatalf("%s %s: %v", o.id(), configKey, err)
				}
				data[configKey] = parsed
			}
		}
		if !helm {
			continue
		}
		labels, _ := get(o, "metadata", "labels").(map[string]any)
		for _, l := range helmLabels {
			if _, ok := labels[l]; !ok {
				t.Errorf("the chart's %s has no label %s: update helmLabels", o.id(), l)
			}
		}
		removeKeys(o, helmLabels)
		if o.kind() == "Deployment" {
			annotations, _ := get(o, "spec", "template", "metadata", "annotations").(map[string]any)
			if _, ok := annotations[checksumAnnotation]; !ok {
				t.Errorf("the chart's %s has no pod annotation %s: update checksumAnnotation", o.id(), checksumAnnotation)
			}
			delete(annotations, checksumAnnotation)
			if len(annotations) == 0 {
				delete(get(o, "spec", "template", "metadata").(map[string]any), "annotations")
			}
		}
	}
	return out
}

// removeKeys deletes the map keys named keys anywhere in v.
func removeKeys(v any, keys []string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(v, k)
		}
		for _, e := range v {
			removeKeys(e, keys)
		}
	case object:
		removeKeys(map[string]any(v), keys)
	case []any:
		for _, e := range v {
			removeKeys(e, keys)
		}
	}
}
